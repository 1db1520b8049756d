/**
 * OCPP-S for the emulated stations of one fleet thread: the client of the central system's
 * CentralSystemService and the server of the stations' ChargePointService. Loaded only by fleets that have
 * SOAP stations (an OCPP-J fleet does not load the SOAP tables, the 1.5 validators or undici).
 *
 * Client (station → central system): each CALL is an HTTP POST (undici, one keep-alive Agent per thread) of
 * a SOAP 1.2 envelope (the binding of the OCPP 1.5 and 1.6 WSDLs) to the station's CentralSystemService URL,
 * with the chargeBoxIdentity header of the service namespace and WS-Addressing MessageID, Action, To and From
 * (From = the station's ChargePointService address: how the central system learns where to send commands).
 * The response's body element is read back to JSON by the WSDL tables (readType), a SOAP Fault becomes a
 * CALLERROR with the OCPP subcode, a failed POST (refused, reset, timeout) takes the station's link down.
 *
 * Server (central system → station): one node:http server per thread; a station's address is
 * `http://<publicHost>:<port><path>/<identity>`. A request is routed by its chargeBoxIdentity header (the
 * WSDL's header part) or, without one, by the last path segment; it is read with the ChargePointService
 * tables of its namespace (urn://Ocpp/Cp/2015/10/ = 1.6, urn://Ocpp/Cp/2012/06/ = 1.5), answered by the
 * station's command handlers (`handleCommand`, as for OCPP-J) and written in WSDL order with RelatesTo = the
 * request's MessageID, the response Action and chargeBoxIdentity; the command's `after` runs once the response
 * is written. Anything else gets a SOAP Fault with the OCPP code, never a crash.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import type { Payload } from '../../protocol/ocpp-j/frames.js';
import type { ActionValidators } from '../../protocol/validation/types.js';
import { CodecError, readType, service, writeBody, type SoapVersion } from '../../protocol/soap/codec.js';
import { OCPP_NAMESPACES, SoapFault, WSA_ANONYMOUS, WSA_NS, contentType, envelope, faultEnvelope, headerText, parseEnvelope, type ParsedEnvelope, type SoapProtocol } from '../../protocol/soap/envelope.js';
import { lookup15 } from '../../protocol/soap/validators.js';
import { actionFromHttp, readOperation } from '../../protocol/soap/operation.js';
import { readLimited } from '../../http/read-limited.js';
import { fromWire15, toWire15 } from './soap-v15.js';
import type { CommandHandler, CommandResult } from '../commands/types.js';
import { V15_HANDLERS } from '../commands/v15.js';
import type { FleetStats } from '../stats.js';
import type { ChargePointServiceOptions, StationSpec, StationState } from '../types.js';

/** Largest request or response body read (the router bounds its own at 64 KiB). */
const MAX_BODY_BYTES = 1024 * 1024;
/** Connections per central system (origin): requests beyond wait in the Agent's queue. */
const CONNECTIONS_PER_ORIGIN = 256;

export const DEFAULT_CP_PATH = '/Ocpp/ChargePointService';

/** What the hub uses of an emulated station (the station class implements it). */
export interface SoapStation {
  readonly identity: string;
  readonly spec: StationSpec;
  readonly state: StationState;
  readonly ctx: { readonly stats: FleetStats };
  /** Runs a command of the central system (as over OCPP-J); the hub writes the answer, then runs `after`. */
  handleCommand(action: string, payload: Payload): CommandResult;
  /** The central system answered CALL `id`: `payload` in the 1.6 shape, `wire` as received. */
  soapResult(id: string, payload: Payload, wire: Payload): void;
  /** The central system answered CALL `id` with a Fault. */
  soapFault(id: string, code: string, description: string): void;
  /** The POST of CALL `id` failed (refused, reset, timeout). */
  soapFailed(id: string): void;
}

export interface SoapHubOptions extends ChargePointServiceOptions {
  /** The station of an identity in this thread. */
  station(identity: string): SoapStation | undefined;
  /** The stations' call timeout: the HTTP timeouts are a little longer (the station's own timeout decides). */
  callTimeoutMs: number;
  warn(message: string): void;
}

export class SoapHub {
  readonly #options: SoapHubOptions;
  readonly #agent: Agent;
  readonly #server: Server;
  readonly #path: string;
  readonly #httpTimeoutMs: number;
  #base: string | null = null;

  constructor(options: SoapHubOptions) {
    this.#options = options;
    const path = options.path ?? DEFAULT_CP_PATH;
    this.#path = path === '/' ? '' : path.replace(/\/+$/, '');
    this.#httpTimeoutMs = options.callTimeoutMs + 1000;
    this.#agent = new Agent({ keepAliveTimeout: 30_000, connections: CONNECTIONS_PER_ORIGIN, connect: { timeout: Math.min(10_000, Math.max(1, options.callTimeoutMs)) } });
    this.#server = createServer((req, res) => this.#onRequest(req, res));
    this.#server.on('clientError', (_error, socket) => socket.destroy());
  }

  /** Listens; resolves with the ChargePointService base address (`http://host:port/path`). */
  listen(): Promise<string> {
    const o = this.#options;
    const host = o.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(o.port ?? 0, host, () => {
        this.#server.off('error', reject);
        const { port } = this.#server.address() as AddressInfo;
        const wildcard = host === '0.0.0.0' || host === '::' || host === '';
        const publicHost = o.publicHost ?? (wildcard ? hostname() : host);
        this.#base = `http://${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${port}${this.#path}`;
        resolve(this.#base);
      });
    });
  }

  /** The ChargePointService base address once listening (a station's address is this + `/` + identity). */
  get url(): string | null {
    return this.#base;
  }

  addressOf(identity: string): string {
    return `${this.#base ?? ''}/${encodeURIComponent(identity)}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.#agent.destroy().catch(() => undefined);
  }

  // --- station → central system ---

  /** The 1.5 validators (derived from the 1.5 WSDL) of `action`. */
  validators15(action: string): ActionValidators | undefined {
    return lookup15(action);
  }

  /** The command handlers of OCPP 1.5 (loaded with the hub: they read the command catalogue, which needs the SOAP tables). */
  handlers15(): ReadonlyMap<string, CommandHandler> {
    return V15_HANDLERS;
  }

  /** The payload as it goes on the wire (1.5: converted from the 1.6 shape), or null for an action the service lacks. */
  wirePayload(version: SoapVersion, action: string, payload: Payload): Payload | null {
    if (!Object.hasOwn(service(version, 'cs').actions, action)) return null;
    return version === 'ocpp1.5' ? toWire15(action, payload) : payload;
  }

  /** POSTs CALL `id` of `st`; the answer goes to st.soapResult / soapFault / soapFailed. */
  post(st: SoapStation, id: string, version: SoapVersion, action: string, payload: Payload): void {
    const svc = service(version, 'cs');
    const op = svc.actions[action]!;
    const url = st.spec.url;
    const messageId = `urn:uuid:${randomUUID()}`;
    const xml = envelope(
      '1.2',
      { wsaNs: WSA_NS, action: op.requestAction, messageId, to: url, from: this.addressOf(st.identity), identity: st.identity, identityNs: svc.ns },
      writeBody(svc, action, 'request', payload),
    );
    const headers: Record<string, string> = { 'content-type': contentType('1.2', op.requestAction) };
    if (st.spec.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${st.identity}:${st.spec.password}`).toString('base64')}`;
    request(url, { method: 'POST', dispatcher: this.#agent, headers, body: xml, headersTimeout: this.#httpTimeoutMs, bodyTimeout: this.#httpTimeoutMs })
      .then(async (res) => ({ status: res.statusCode, text: await readLimited(res.body, MAX_BODY_BYTES) }))
      .then(
        ({ status, text }) => this.#answer(st, id, version, action, messageId, status, text),
        () => st.soapFailed(id),
      )
      .catch((error: unknown) => this.#options.warn(`${st.identity}: ${action} answer: ${(error as Error).stack ?? String(error)}`));
  }

  #answer(st: SoapStation, id: string, version: SoapVersion, action: string, messageId: string, status: number, text: string): void {
    const svc = service(version, 'cs');
    const op = svc.actions[action]!;
    let env: ParsedEnvelope;
    try {
      env = parseEnvelope(text);
    } catch (error) {
      st.soapFault(id, 'FormationViolation', `HTTP ${status} without a SOAP envelope: ${(error as Error).message}`);
      return;
    }
    if (env.fault !== null) {
      st.soapFault(id, env.fault.subcode ?? env.fault.code, env.fault.reason);
      return;
    }
    const body = env.body;
    if (body === null || body.ns !== svc.ns || body.local !== op.response.element) {
      st.soapFault(id, 'ProtocolError', `HTTP ${status}: ${body === null ? 'an empty Body' : `{${body.ns}}${body.local}`}, expected {${svc.ns}}${op.response.element}`);
      return;
    }
    if (env.wsa.relatesTo !== null && env.wsa.relatesTo !== messageId) {
      st.soapFault(id, 'ProtocolError', `RelatesTo ${env.wsa.relatesTo}, expected ${messageId}`);
      return;
    }
    let wire: Payload;
    try {
      wire = readType(svc, op.response.type, body.node, body.scope);
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      st.soapFault(id, 'FormationViolation', `${error.path}: ${error.message}`);
      return;
    }
    st.soapResult(id, version === 'ocpp1.5' ? fromWire15(action, wire) : wire, wire);
  }

  // --- central system → station: the ChargePointService ---

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain; charset=utf-8' });
      res.end('ChargePointService of emulated OCPP-S stations: POST a SOAP envelope\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      const protocol: SoapProtocol = (req.headers['content-type'] ?? '').toLowerCase().startsWith('text/xml') ? '1.1' : '1.2';
      if (size > MAX_BODY_BYTES) {
        this.#fault(res, protocol, new SoapFault('Sender', 'ProtocolError', `request body over ${MAX_BODY_BYTES} bytes`, 'tooLarge', 413), null, null, null);
        return;
      }
      this.#serve(req, res, protocol, Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', () => res.destroy());
  }

  #serve(req: IncomingMessage, res: ServerResponse, guess: SoapProtocol, text: string): void {
    let env: ParsedEnvelope | null = null;
    let version: SoapVersion | null = null;
    let identity: string | null = null;
    try {
      env = parseEnvelope(text);
      const body = env.body;
      if (body === null) throw new SoapFault('Sender', 'FormatViolation', 'the Body is empty', 'body');
      for (const v of ['ocpp1.6', 'ocpp1.5'] as const) if (body.ns === OCPP_NAMESPACES[v].cp) version = v;
      if (version === null) {
        if (body.ns === OCPP_NAMESPACES['ocpp1.6'].cs || body.ns === OCPP_NAMESPACES['ocpp1.5'].cs) {
          throw new SoapFault('Sender', 'ProtocolError', `${body.local} is in the CentralSystemService namespace ${body.ns}; this is the ChargePointService of emulated stations`, 'wrongNamespace');
        }
        if (body.ns === OCPP_NAMESPACES['ocpp1.2'].cp) throw new SoapFault('Sender', 'NotSupported', 'OCPP 1.2 (urn://Ocpp/Cp/2010/08/) is not emulated; use 1.5 or 1.6', 'wrongNamespace');
        throw new SoapFault('Sender', 'ProtocolError', `unknown body namespace '${body.ns}' (expected urn://Ocpp/Cp/2015/10/ or urn://Ocpp/Cp/2012/06/)`, 'wrongNamespace');
      }
      const svc = service(version, 'cp');
      const fromHeader = headerText(env, svc.ns, 'chargeBoxIdentity');
      const fromPath = this.#pathIdentity(req.url ?? '');
      if (fromHeader !== null && fromHeader !== '' && fromPath !== null && fromHeader !== fromPath) {
        throw new SoapFault('Sender', 'ProtocolError', `chargeBoxIdentity ${fromHeader} differs from the identity ${fromPath} in the address`, 'mismatch');
      }
      identity = fromHeader !== null && fromHeader !== '' ? fromHeader : fromPath;
      if (identity === null) throw new SoapFault('Sender', 'ProtocolError', `no chargeBoxIdentity header (in ${svc.ns}) and no identity after ${this.#path}/ in the address`, 'missingHeader');
      const st = this.#options.station(identity);
      if (st === undefined || st.spec.transport !== 'ocpp-s' || st.state === 'stopped') {
        throw new SoapFault('Sender', 'GenericError', `no emulated OCPP-S station ${identity} here`, 'missingHeader', 404);
      }
      if (st.spec.version !== version) {
        throw new SoapFault('Sender', 'ProtocolError', `station ${identity} speaks OCPP ${st.spec.version.slice(4)}, the request is in the ${version.slice(4)} namespace ${svc.ns}`, 'wrongNamespace');
      }
      const { action, op, payload } = readOperation(env, svc, 'ChargePointService', version, actionFromHttp(req.headers['content-type'], req.headers.soapaction));
      const stats = st.ctx.stats;
      stats.framesIn++;
      const result = st.handleCommand(action, payload);
      stats.framesOut++;
      if ('error' in result) {
        const receiver = result.error === 'InternalError' || result.error === 'GenericError';
        this.#fault(res, env.protocol, new SoapFault(receiver ? 'Receiver' : 'Sender', result.error, result.description, 'call'), version, env, identity);
        return;
      }
      const replyTo = env.wsa.replyTo;
      const xml = envelope(
        env.protocol,
        {
          wsaNs: env.wsa.ns,
          action: op.responseAction,
          relatesTo: env.wsa.messageId,
          to: replyTo !== null && replyTo !== WSA_ANONYMOUS && !replyTo.endsWith('/anonymous') ? replyTo : null,
          identity,
          identityNs: svc.ns,
        },
        writeBody(svc, action, 'response', result.reply),
      );
      res.writeHead(200, { 'content-type': contentType(env.protocol, op.responseAction) });
      const after = result.after;
      if (after === undefined) res.end(xml);
      else {
        // The effect (e.g. RemoteStartTransaction → StartTransaction) follows the answer, as over OCPP-J.
        res.end(xml, () => {
          try {
            after();
          } catch (error) {
            this.#options.warn(`${st.identity}: ${action} effect failed: ${(error as Error).message}`);
          }
        });
      }
    } catch (error) {
      if (error instanceof SoapFault) this.#fault(res, env?.protocol ?? guess, error, version, env, identity);
      else {
        this.#options.warn(`ChargePointService: ${(error as Error).stack ?? String(error)}`);
        this.#fault(res, env?.protocol ?? guess, new SoapFault('Receiver', 'InternalError', 'the emulator failed to handle the request', 'call'), version, env, identity);
      }
    }
  }

  /** The identity after `<path>/` in the request URL, or null. */
  #pathIdentity(url: string): string | null {
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const prefix = `${this.#path}/`;
    if (!path.startsWith(prefix)) return null;
    const rest = path.slice(prefix.length);
    if (rest === '' || rest.includes('/')) return null;
    try {
      return decodeURIComponent(rest);
    } catch {
      return null;
    }
  }

  /** A SOAP Fault: Code Sender/Receiver, Subcode = the OCPP code (1.6 spellings, as the router writes them). */
  #fault(res: ServerResponse, protocol: SoapProtocol, fault: SoapFault, version: SoapVersion | null, env: ParsedEnvelope | null, identity: string | null): void {
    res.writeHead(fault.httpStatus, { 'content-type': contentType(protocol) });
    res.end(faultEnvelope(protocol, fault, OCPP_NAMESPACES[version ?? 'ocpp1.6'].cp, env, identity));
  }
}
