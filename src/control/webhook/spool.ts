/**
 * The webhook's durable spool, one per process in the control plane under `<dataDir>/spool/`: the store's
 * DurableLog (src/store/durable-log.ts: segment files, group commit with fdatasync, bodies kept on disk, acks)
 * holding requests the fallback responder answered and events, until they are delivered.
 */
export { DurableLog as WebhookSpool, type DurableLogOptions as SpoolOptions, type LogEntry as SpoolEntry } from '../../store/durable-log.js';
