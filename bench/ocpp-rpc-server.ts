/**
 * The peer baseline: an OCPP 1.6 central system built on `ocpp-rpc` (a popular Node OCPP-J library), as its
 * README shows it: RPCServer with `strictMode: true` (every call and response validated against its copy of
 * the OCA schemas), answering BootNotification, Heartbeat, StatusNotification and MeterValues with valid
 * responses; every other action gets NotImplemented. One thread, no logging, no persistence.
 *
 *   PORT=9300 LISTEN=127.0.0.1 node dist/bench/ocpp-rpc-server.js
 *
 * Prints `ocpp-rpc listening <host>:<port>` once listening; SIGTERM/SIGINT close and exit 0.
 */
import { RPCServer, createRPCError } from 'ocpp-rpc';

const port = Number(process.env.PORT ?? '9300');
const host = process.env.LISTEN ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`ocpp-rpc-server: PORT must be 0..65535, got ${process.env.PORT}\n`);
  process.exit(2);
}

const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });

server.auth((accept) => {
  accept();
});

server.on('client', (client) => {
  client.handle('BootNotification', () => ({ status: 'Accepted', interval: 300, currentTime: new Date().toISOString() }));
  client.handle('Heartbeat', () => ({ currentTime: new Date().toISOString() }));
  client.handle('StatusNotification', () => ({}));
  client.handle('MeterValues', () => ({}));
  client.handle(() => {
    throw createRPCError('NotImplemented');
  });
});

const http = await server.listen(port, host);
const address = http.address();
process.stdout.write(`ocpp-rpc listening ${host}:${typeof address === 'object' && address !== null ? address.port : port}\n`);

function stop(): void {
  void server.close({ code: 1001, awaitPending: false, force: true }).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
