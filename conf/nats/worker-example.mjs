#!/usr/bin/env node
// An example worker for the NATS backend of ocpp-router (`backend: "nats"`, docs/cluster.md, "The NATS backend"):
// it answers station CALLs like a permissive central system (every boot accepted, every id tag accepted,
// transactions numbered by this process). Run as many as you like: they share the work in a queue group.
//
//   NATS_URL=nats://127.0.0.1:4222 node conf/nats/worker-example.mjs
//
// Environment: NATS_URL (comma-separated servers), SUBJECT_PREFIX (default `ocpp`, the router's
// cluster.subjectPrefix), QUEUE_GROUP (default `ocpp-workers`), WORKER_NAME (default host:pid), LOG_REQUESTS=1 to
// print one JSON line per request (the tests count them).
//
// Each request on `<prefix>.in.<version>.<action>` (version `ocpp1_6`, `ocpp2_0_1`, `ocpp2_1`, `ocpp1_5`) carries
// the envelope {identity, uniqueId, action, payload, account, ocppVersion, transport, idempotencyKey}; the reply
// is {identity, uniqueId, action, payload} (a CallResult), or with `messageTypeId: "CallError"`, `errorCode`,
// `errorDescription`, `errorDetails`. The router validates the payload against the OCPP response schema.
import { hostname } from 'node:os';
import { connect } from '@nats-io/transport-node';

const servers = (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(',');
const prefix = process.env.SUBJECT_PREFIX ?? 'ocpp';
const queue = process.env.QUEUE_GROUP ?? 'ocpp-workers';
const name = process.env.WORKER_NAME ?? `${hostname()}:${process.pid}`;
const logRequests = process.env.LOG_REQUESTS === '1';

const now = () => new Date().toISOString();
let transactionId = Math.floor(Date.now() / 1000) % 1_000_000;
const accepted16 = { idTagInfo: { status: 'Accepted' } };
const accepted2 = { idTokenInfo: { status: 'Accepted' } };

/** Answers per OCPP 1.6 / 1.5 action (response shapes of the 1.6 schemas). */
const V16 = {
  BootNotification: () => ({ status: 'Accepted', currentTime: now(), interval: 300 }),
  Heartbeat: () => ({ currentTime: now() }),
  StatusNotification: () => ({}),
  MeterValues: () => ({}),
  Authorize: () => accepted16,
  StartTransaction: () => ({ transactionId: ++transactionId, ...accepted16 }),
  StopTransaction: () => accepted16,
  DataTransfer: () => ({ status: 'Accepted' }),
  DiagnosticsStatusNotification: () => ({}),
  FirmwareStatusNotification: () => ({}),
};

/** Answers per OCPP 2.0.1 / 2.1 action. */
const V2 = {
  BootNotification: () => ({ status: 'Accepted', currentTime: now(), interval: 300 }),
  Heartbeat: () => ({ currentTime: now() }),
  StatusNotification: () => ({}),
  MeterValues: () => ({}),
  Authorize: () => accepted2,
  TransactionEvent: (p) => (p.idToken === undefined ? {} : accepted2),
  NotifyReport: () => ({}),
  NotifyEvent: () => ({}),
  SecurityEventNotification: () => ({}),
  FirmwareStatusNotification: () => ({}),
  LogStatusNotification: () => ({}),
  DataTransfer: () => ({ status: 'Accepted' }),
};

function answer(request) {
  const table = request.ocppVersion === 'ocpp1.6' || request.ocppVersion === 'ocpp1.5' ? V16 : V2;
  const head = { identity: request.identity, uniqueId: request.uniqueId, action: request.action };
  const handler = table[request.action];
  if (handler === undefined) return { ...head, messageTypeId: 'CallError', errorCode: 'NotImplemented', errorDescription: `this worker does not handle ${request.action}`, errorDetails: {} };
  return { ...head, payload: handler(request.payload ?? {}) };
}

const nc = await connect({ servers, name: `ocpp worker ${name}`, maxReconnectAttempts: -1 });
const subject = `${prefix}.in.>`;
const sub = nc.subscribe(subject, { queue });
console.error(`worker ${name}: answering ${subject} in queue group ${queue} on ${nc.getServer()}`);
const stop = async () => {
  await nc.drain();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

for await (const msg of sub) {
  let request;
  try {
    request = msg.json();
  } catch {
    msg.respond(JSON.stringify({ messageTypeId: 'CallError', errorCode: 'FormatViolation', errorDescription: 'the request is not JSON', errorDetails: {} }));
    continue;
  }
  const reply = answer(request);
  if (logRequests) console.log(JSON.stringify({ worker: name, subject: msg.subject, identity: request.identity, action: request.action, ocppVersion: request.ocppVersion, idempotencyKey: request.idempotencyKey }));
  msg.respond(JSON.stringify(reply));
}
