/**
 * The floor: a raw uWebSockets.js echo server on one thread. Route `/ocpp/*`, accepts the `ocpp1.6`
 * subprotocol (the first offered one otherwise), sends every text frame back unchanged. No parsing, no
 * validation, no per-station state beyond what uWS itself keeps: whatever the router costs above this is
 * the price of being an OCPP server.
 *
 *   PORT=9300 LISTEN=127.0.0.1 node dist/bench/floor-echo-server.js
 *
 * Prints `floor listening <host>:<port>` on stdout once listening; SIGTERM/SIGINT close every socket and
 * exit 0.
 */
import uWS from 'uWebSockets.js';
import type { us_listen_socket, WebSocket } from 'uWebSockets.js';

const port = Number(process.env.PORT ?? '9300');
const host = process.env.LISTEN ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`floor-echo-server: PORT must be 0..65535, got ${process.env.PORT}\n`);
  process.exit(2);
}

type Data = Record<string, never>;
const sockets = new Set<WebSocket<Data>>();
let listenSocket: us_listen_socket | null = null;

const app = uWS.App();
app.ws<Data>('/ocpp/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 64 * 1024,
  idleTimeout: 0,
  maxBackpressure: 1024 * 1024,
  upgrade: (res, req, context) => {
    const offered = req.getHeader('sec-websocket-protocol');
    const list = offered.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const chosen = list.includes('ocpp1.6') ? 'ocpp1.6' : (list[0] ?? '');
    const key = req.getHeader('sec-websocket-key');
    const extensions = req.getHeader('sec-websocket-extensions');
    res.cork(() => res.upgrade({}, key, chosen, extensions, context));
  },
  open: (ws) => {
    sockets.add(ws);
  },
  message: (ws, message, isBinary) => {
    ws.send(message, isBinary);
  },
  close: (ws) => {
    sockets.delete(ws);
  },
});
app.any('/*', (res) => {
  res.writeStatus('404 Not Found').end('not found');
});

app.listen(host, port, (socket) => {
  if (socket === false) {
    process.stderr.write(`floor-echo-server: cannot listen on ${host}:${port}\n`);
    process.exit(1);
  }
  listenSocket = socket;
  process.stdout.write(`floor listening ${host}:${uWS.us_socket_local_port(socket)}\n`);
});

function stop(): void {
  if (listenSocket !== null) uWS.us_listen_socket_close(listenSocket);
  listenSocket = null;
  for (const ws of [...sockets]) ws.close();
  sockets.clear();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
