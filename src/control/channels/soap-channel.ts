/**
 * The station channel of OCPP-S stations: a SOAP station has no socket in any shard, so a CALL is a SOAP request
 * (undici) to its ChargePointService address (WS-A From/ReplyTo of its requests). As for OCPP-J: the request is
 * validated first (unless the caller did), one call in flight per station with a bounded queue and a timeout
 * (one OutboundQueue per station, src/protocol/outbound-queue.ts), and the answer is validated against the
 * response schema before it is returned as JSON.
 */
import { randomUUID } from 'node:crypto';
// The package by path: under Bun a bare 'undici' is Bun's own partial copy, whose Pool/Agent request() yields no
// statusCode (src/transport/runtime.ts); under Node both are the same module.
import { Agent, request } from 'undici/index.js';
import { readLimited } from '../../http/read-limited.js';
import { RouterError, ErrorCode } from '../../protocol/errors.js';
import type { ValidatorLookup } from '../../protocol/validation/registry.js';
import { canonicalErrorCode } from '../../protocol/rpc-error-codes.js';
import { CodecError, readType, service, writeBody, type Payload, type SoapVersion } from '../../protocol/soap/codec.js';
import { WSA_ANONYMOUS, WSA_NS, contentType, envelope, parseEnvelope, SoapFault } from '../../protocol/soap/envelope.js';
import type { SoapCommandOutcome, SoapControlMetrics } from '../../metrics/soap-metrics.js';
import { OutboundQueue, type OutboundCall } from '../../protocol/outbound-queue.js';
import type { CallOptions, StationChannel } from './station-channel.js';

/** Largest SOAP response read from a station. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface SoapTarget {
  identity: string;
  version: SoapVersion;
  /** ChargePointService address; null when the station gave none. */
  callbackUrl: string | null;
}

export interface SoapCommandClientOptions {
  lookup: ValidatorLookup;
  callTimeoutMs(): number;
  outboundQueueMax(): number;
  metrics: SoapControlMetrics;
  /** Our own address, sent as WS-A From (informational). */
  from?: string;
  /** Each message in and out, for the live log. */
  log?(identity: string, direction: 'in' | 'out', messageType: string, uniqueId: string, action: string, payload: unknown): void;
}

interface SoapCall extends OutboundCall {
  target: SoapTarget;
  action: string;
  payload: Payload;
  resolve(payload: Payload): void;
  reject(error: RouterError): void;
  /** Aborts the HTTP request when the call times out or the client closes. */
  controller: AbortController;
}

export class SoapCommandClient {
  #options: SoapCommandClientOptions;
  #agent = new Agent({ keepAliveTimeout: 30_000, connections: 4, connect: { timeout: 10_000 } });
  /** Per identity while it has calls in flight or waiting. */
  #queues = new Map<string, OutboundQueue<SoapCall>>();
  #closed = false;

  constructor(options: SoapCommandClientOptions) {
    this.#options = options;
  }

  /** The channel of one SOAP station. */
  channel(target: SoapTarget): StationChannel {
    return { kind: 'soap', identity: target.identity, version: target.version, call: (action, payload, options) => this.call(target, action, payload, options) };
  }

  /** Sends `action` to the station; resolves with its answer as JSON. */
  call(target: SoapTarget, action: string, payload: Payload, options: CallOptions = {}): Promise<Payload> {
    if (this.#closed) return Promise.reject(new RouterError(ErrorCode.SHUTTING_DOWN, 'server stopped'));
    const svc = service(target.version, 'cp');
    if (!Object.hasOwn(svc.actions, action)) {
      return Promise.reject(new RouterError(ErrorCode.UNKNOWN_ACTION, `${action} is not a ChargePointService operation of OCPP ${target.version.slice(4)} (SOAP)`));
    }
    const validators = this.#options.lookup(target.version, action);
    if (validators === undefined) return Promise.reject(new RouterError(ErrorCode.UNKNOWN_ACTION, `action ${action} is not known in ${target.version}`));
    if (options.validated !== true) {
      const check = validators.request(payload);
      if (!check.ok) {
        return Promise.reject(new RouterError(ErrorCode.PAYLOAD_INVALID, `${action} payload is invalid: ${check.issues[0]!.message}`, { details: { issues: check.issues } }));
      }
    }
    if (target.callbackUrl === null) {
      return Promise.reject(new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${target.identity} is an OCPP-S station without a ChargePointService address (WS-A From/ReplyTo)`));
    }
    let queue = this.#queues.get(target.identity);
    if (queue === undefined) {
      queue = this.#newQueue(target.identity);
      this.#queues.set(target.identity, queue);
    }
    const timeoutMs = options.timeoutMs ?? this.#options.callTimeoutMs();
    return new Promise<Payload>((resolve, reject) => {
      const call: SoapCall = { id: '', timeoutMs, sentAt: 0, target, action, payload, resolve, reject, controller: new AbortController() };
      if (!queue.submit(call)) reject(new RouterError(ErrorCode.CALL_QUEUE_FULL, `${target.identity} has ${queue.queued} calls queued`));
    });
  }

  #newQueue(identity: string): OutboundQueue<SoapCall> {
    const queue: OutboundQueue<SoapCall> = new OutboundQueue<SoapCall>({
      maxQueued: () => this.#options.outboundQueueMax(),
      nextId: () => `urn:uuid:${randomUUID()}`,
      transmit: (call) => {
        this.#send(call).then(
          (payload) => this.#settle(queue, identity, call, 'result', payload),
          (error: unknown) => {
            const e = error instanceof RouterError ? error : new RouterError(ErrorCode.INTERNAL, error instanceof Error ? error.message : String(error));
            const outcome: SoapCommandOutcome = e.code === ErrorCode.CALL_TIMEOUT ? 'timeout' : e.code === ErrorCode.CALL_ERROR ? 'error' : e.code === ErrorCode.PAYLOAD_INVALID ? 'invalid' : 'aborted';
            this.#settle(queue, identity, call, outcome, e);
          },
        );
      },
      timedOut: (call) => {
        call.controller.abort();
        this.#finish(queue, identity, call, 'timeout', new RouterError(ErrorCode.CALL_TIMEOUT, `${call.target.identity} did not answer ${call.action} within ${call.timeoutMs} ms`));
      },
    });
    return queue;
  }

  /** The HTTP exchange of `call` ended: it counts only while the call is still the one in flight (not timed out). */
  #settle(queue: OutboundQueue<SoapCall>, identity: string, call: SoapCall, outcome: SoapCommandOutcome, value: Payload | RouterError): void {
    if (queue.answer(call.id) !== call) return;
    this.#finish(queue, identity, call, outcome, value);
  }

  #finish(queue: OutboundQueue<SoapCall>, identity: string, call: SoapCall, outcome: SoapCommandOutcome, value: Payload | RouterError): void {
    this.#options.metrics.command(call.action, outcome, performance.now() - call.sentAt);
    if (value instanceof RouterError) call.reject(value);
    else call.resolve(value);
    if (this.#closed) {
      for (const waiting of queue.drain()) waiting.reject(new RouterError(ErrorCode.SHUTTING_DOWN, 'server stopped'));
    } else queue.pump();
    if (queue.pending === 0 && this.#queues.get(identity) === queue) this.#queues.delete(identity);
  }

  async #send(job: SoapCall): Promise<Payload> {
    const { target, action } = job;
    const svc = service(target.version, 'cp');
    const op = svc.actions[action]!;
    const messageId = job.id;
    const xml = envelope(
      '1.2',
      { wsaNs: WSA_NS, action: op.requestAction, messageId, to: target.callbackUrl, from: this.#options.from ?? WSA_ANONYMOUS, identity: target.identity, identityNs: svc.ns },
      writeBody(svc, action, 'request', job.payload),
    );
    this.#options.metrics.message('out', 'CALL', action);
    this.#options.log?.(target.identity, 'out', 'CALL', messageId, action, job.payload);
    const signal = job.controller.signal;
    let text: string;
    let status: number;
    try {
      const res = await request(target.callbackUrl!, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': contentType('1.2', op.requestAction) },
        body: xml,
        signal,
        headersTimeout: job.timeoutMs,
        bodyTimeout: job.timeoutMs,
      });
      status = res.statusCode;
      text = await readLimited(res.body, MAX_RESPONSE_BYTES);
    } catch (error) {
      if (signal.aborted || (error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT' || (error as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT') {
        throw new RouterError(ErrorCode.CALL_TIMEOUT, `${target.identity} did not answer ${action} within ${job.timeoutMs} ms`);
      }
      throw new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${target.identity} is not reachable at ${target.callbackUrl}: ${(error as Error).message}`, { cause: error });
    }
    let env;
    try {
      env = parseEnvelope(text);
    } catch (error) {
      const message = error instanceof SoapFault ? error.message : String(error);
      throw new RouterError(ErrorCode.PAYLOAD_INVALID, `${target.identity} answered ${action} with HTTP ${status} and no SOAP envelope: ${message}`);
    }
    if (env.fault !== null) {
      const code = env.fault.subcode ?? env.fault.code;
      this.#options.metrics.message('in', 'CALLERROR', action);
      this.#options.log?.(target.identity, 'in', 'CALLERROR', messageId, action, { code, description: env.fault.reason });
      throw new RouterError(ErrorCode.CALL_ERROR, `${target.identity} answered ${action} with a SOAP Fault ${code}: ${env.fault.reason}`, {
        details: { errorCode: code, canonicalCode: canonicalErrorCode('ocpp1.6', code) ?? null, errorDescription: env.fault.reason, errorDetails: { soapCode: env.fault.code } },
      });
    }
    const body = env.body;
    if (body === null || body.ns !== svc.ns || body.local !== op.response.element) {
      throw new RouterError(ErrorCode.PAYLOAD_INVALID, `${target.identity} answered ${action} with ${body === null ? 'an empty Body' : `{${body.ns}}${body.local}`}, expected {${svc.ns}}${op.response.element}`);
    }
    if (env.wsa.relatesTo !== null && env.wsa.relatesTo !== messageId) {
      throw new RouterError(ErrorCode.PAYLOAD_INVALID, `${target.identity} answered ${action} with RelatesTo ${env.wsa.relatesTo}, expected ${messageId}`);
    }
    let payload: Payload;
    try {
      payload = readType(svc, op.response.type, body.node, body.scope);
    } catch (error) {
      if (error instanceof CodecError) throw new RouterError(ErrorCode.PAYLOAD_INVALID, `${target.identity} answered ${action}: ${error.path}: ${error.message}`);
      throw error;
    }
    this.#options.metrics.message('in', 'CALLRESULT', action);
    this.#options.log?.(target.identity, 'in', 'CALLRESULT', messageId, action, payload);
    const check = this.#options.lookup(target.version, action)!.response!(payload);
    if (!check.ok) {
      throw new RouterError(ErrorCode.PAYLOAD_INVALID, `${target.identity} answered ${action} with an invalid payload: ${check.issues[0]!.message}`, { details: { issues: check.issues, payload } });
    }
    return payload;
  }

  /** Calls in flight or queued, per the whole client. */
  get pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.pending;
    return n;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const q of this.#queues.values()) {
      for (const call of q.drain()) {
        call.controller.abort();
        call.reject(new RouterError(ErrorCode.SHUTTING_DOWN, 'server stopped'));
      }
    }
    this.#queues.clear();
    await this.#agent.destroy().catch(() => undefined);
  }
}
