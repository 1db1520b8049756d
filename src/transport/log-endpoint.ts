/**
 * The live-log WebSocket route (`/ws/log`) on a shard's uWS App (Node; bun-server.ts has its own): clients only receive. Frames are dropped
 * (and counted by the caller) rather than queued when a client is slow, so the log never slows stations.
 * Whether a client may connect is the handler's decision (the shard asks the control plane, which applies
 * the API's access rules: src/http/api-auth.ts), made with the client's remote address.
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import type { WebResponse } from '../http/types.js';
import { decideUpgrade, writeResponse } from './uws-http.js';
import { GuardedLogClient, logSubprotocol, SLOW_LOG_CLIENT_BYTES, type LogEndpointHandler } from './types.js';

class UwsLogClient extends GuardedLogClient {
  #ws: WebSocket<LogData>;

  constructor(ws: WebSocket<LogData>, identity: string | null) {
    super(identity);
    this.#ws = ws;
  }

  protected bufferedBytes(): number {
    return this.#ws.getBufferedAmount();
  }

  protected sendFrame(text: string): boolean {
    return this.#ws.send(text, false) !== 2;
  }
}

interface LogData {
  identity: string | null;
  client: UwsLogClient | null;
}

/** Adds the route; returns a function that closes every log client (server stopping). */
export function addLogEndpoint(app: TemplatedApp, path: string, handler: LogEndpointHandler): () => void {
  const sockets = new Set<WebSocket<LogData>>();
  app.ws<LogData>(path, {
    maxPayloadLength: 4096,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    maxBackpressure: SLOW_LOG_CLIENT_BYTES * 4,
    upgrade: (res, req, context) => {
      const headers: Record<string, string> = {};
      req.forEach((name, value) => {
        headers[name] = value;
      });
      const query = req.getQuery() ?? '';
      const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
      const finish = (refusal: WebResponse | null): void => {
        if (refusal !== null) {
          writeResponse(res, refusal);
          return;
        }
        const identity = new URLSearchParams(query).get('identity');
        const data: LogData = { identity: identity === null || identity === '' ? null : identity, client: null };
        const protocol = logSubprotocol(headers['sec-websocket-protocol']);
        res.cork(() => res.upgrade(data, headers['sec-websocket-key']!, protocol, headers['sec-websocket-extensions'] ?? '', context));
      };
      decideUpgrade(res, () => handler.authorize(headers, query, remoteAddress), finish);
    },
    open: (ws) => {
      sockets.add(ws);
      const data = ws.getUserData();
      data.client = new UwsLogClient(ws, data.identity);
      handler.open(data.client);
    },
    message: () => {
      // Log clients only listen.
    },
    close: (ws) => {
      sockets.delete(ws);
      const client = ws.getUserData().client;
      if (client !== null) {
        client.markClosed();
        handler.close(client);
      }
    },
  });
  return () => {
    for (const ws of [...sockets]) ws.end(1001, 'server stopping');
  };
}
