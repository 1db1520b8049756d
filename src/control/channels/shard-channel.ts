/**
 * A station on a WebSocket held by one of this process's shards: the CALL crosses to that shard through its
 * request port and is sent by the station's RpcSession there (one in flight, queue, timeout: src/protocol/
 * ocpp-j/rpc-session.ts). The shard is looked up when the call is made, so a reconnect to another shard between
 * two calls is followed.
 */
import type { StationVersion } from '../../protocol/versions.js';
import type { CallOptions, Payload, StationChannel } from './station-channel.js';

export interface ShardCaller {
  /** Asks shard `shard` to send the CALL; rejects with SHARD_UNAVAILABLE when it is not running. */
  callOnShard(shard: number, request: { identity: string; action: string; payload: Payload; timeoutMs?: number; validated?: boolean }): Promise<Payload>;
}

export class ShardChannel implements StationChannel {
  readonly kind = 'ws' as const;
  readonly identity: string;
  readonly version: StationVersion;
  #shard: number;
  #caller: ShardCaller;

  constructor(caller: ShardCaller, identity: string, version: StationVersion, shard: number) {
    this.#caller = caller;
    this.identity = identity;
    this.version = version;
    this.#shard = shard;
  }

  get shard(): number {
    return this.#shard;
  }

  call(action: string, payload: Payload, options: CallOptions = {}): Promise<Payload> {
    const request: { identity: string; action: string; payload: Payload; timeoutMs?: number; validated?: boolean } = { identity: this.identity, action, payload };
    if (options.timeoutMs !== undefined) request.timeoutMs = options.timeoutMs;
    if (options.validated === true) request.validated = true;
    return this.#caller.callOnShard(this.#shard, request);
  }
}

