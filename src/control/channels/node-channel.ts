/**
 * A station held by another node of the cluster: the CALL goes there as one NATS request (`<prefix>.node.<node>.call`)
 * and that node's session sends it, with the per-station discipline (one in flight, the bounded queue, the timeout)
 * where the station's socket is. The answer and the errors come back as they would on the holding node
 * (CALL_TIMEOUT, CALL_ERROR …); a node that does not answer is NODE_UNAVAILABLE, NATS away CLUSTER_UNAVAILABLE.
 */
import type { StationVersion } from '../../protocol/versions.js';
import type { CallOptions, Payload, StationChannel } from './station-channel.js';

export interface NodeCallBody {
  identity: string;
  action: string;
  payload: Payload;
  timeoutMs?: number;
  validated?: boolean;
}

export type NodeCall = (body: NodeCallBody) => Promise<Payload>;

export class NodeChannel implements StationChannel {
  readonly kind = 'node';
  readonly identity: string;
  readonly version: StationVersion;
  /** The node that holds the station. */
  readonly node: string;
  #send: NodeCall;

  constructor(send: NodeCall, identity: string, version: StationVersion, node: string) {
    this.#send = send;
    this.identity = identity;
    this.version = version;
    this.node = node;
  }

  call(action: string, payload: Payload, options: CallOptions = {}): Promise<Payload> {
    return this.#send({ identity: this.identity, action, payload, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}), ...(options.validated === true ? { validated: true } : {}) });
  }
}
