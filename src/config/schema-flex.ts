/**
 * The configuration of flexibility prequalification (`flexibility`, src/flex/, docs/flexibility.md): EVSEs registered
 * as Energy Web assets (a key and a did:ethr each), prequalification requests and issued claims over NATS JetStream,
 * the claim published in the asset's DID document on an ERC-1056 registry.
 */
import { bool, int, object, type SchemaNode } from './schema-nodes.js';

export const FLEX_ISSUER_DELIVERY = ['nats', 'http'] as const;

const SUBJECT = '^[A-Za-z0-9_*>-]+(\\.[A-Za-z0-9_*>-]+)*$';
const NAME = '^[A-Za-z0-9_-]{1,64}$';
const subject = (def: string, description: string): SchemaNode => ({ type: 'string', pattern: SUBJECT, maxLength: 256, default: def, description });
const name = (def: string, description: string): SchemaNode => ({ type: 'string', pattern: NAME, default: def, description });
const subjects = (def: string[], description: string): SchemaNode => ({ type: 'array', items: { type: 'string', pattern: SUBJECT, maxLength: 256 }, uniqueItems: true, default: def, description });
const DID = '^did:ethr:([A-Za-z0-9]+:)?0x[0-9a-fA-F]{40}$';

export const flexSchema: SchemaNode = object('Flexibility prequalification: charge points as Energy Web assets over NATS (docs/flexibility.md).', {
  enable: bool(false, 'Run the prequalification service on the control plane (needs the store, a NATS server with JetStream, a chain RPC and `keyEncryptionKey`).'),
  keyEncryptionKey: {
    type: ['string', 'null'],
    minLength: 16,
    maxLength: 4096,
    default: null,
    description: 'Secret the asset private keys are sealed with at rest (scrypt → AES-256-GCM); required when `enable`. Prefer the env `FLEX_KEK` (or `OCPP_ROUTER_FLEX_KEK`) to a file. Losing it loses every asset key (keep an export: `ocpp-router flex export-keys`).',
  },
  chain: object('The chain holding the ERC-1056 DID registry (Energy Web Chain / Volta in production; a local ganache in the tests).', {
    rpcUrl: { type: ['string', 'null'], pattern: '^https?://', maxLength: 2048, default: null, description: 'JSON-RPC endpoint (env `FLEX_RPC_URL`); required when `enable`.' },
    chainId: int(1, 2 ** 31 - 1, 73799, 'Chain id (73799: Volta, 246: Energy Web Chain).'),
    network: { type: 'string', pattern: '^([A-Za-z0-9]{1,32}|0x[0-9a-fA-F]{1,16})?$', default: 'volta', description: 'Network name in the DIDs (`did:ethr:<network>:0x…`); \'\' for mainnet (`did:ethr:0x…`).' },
    registryAddress: { type: ['string', 'null'], pattern: '^0x[0-9a-fA-F]{40}$', default: null, description: 'Address of the ERC-1056 EthereumDIDRegistry; required when `enable`.' },
    operatorKeyFile: { type: ['string', 'null'], minLength: 1, maxLength: 4096, default: null, description: 'File holding the operator\'s private key (0x hex): it relays `setAttributeSigned` and pays the gas, so assets need no funds.' },
    operatorPrivateKey: { type: ['string', 'null'], pattern: '^(0x)?[0-9a-fA-F]{64}$', default: null, description: 'The operator\'s private key itself (env `FLEX_OPERATOR_KEY`); one of this and `operatorKeyFile` is required when `enable`.' },
    timeoutMs: int(100, 600_000, 30_000, 'Longest wait for a chain call (a transaction included in a block).', 'ms'),
    validityS: int(60, 100 * 365 * 86_400, 365 * 86_400, 'Validity of the service entry written to the DID document.', 's'),
  }),
  nats: object('NATS for the prequalification messages: the cluster\'s connection (`cluster.nats`) when `cluster.enable`, else these servers (with the cluster\'s credentials and TLS settings).', {
    servers: { type: 'array', items: { type: 'string', pattern: '^(nats|tls|ws|wss)://', maxLength: 1024 }, minItems: 1, default: ['nats://127.0.0.1:4222'], description: 'NATS servers used when the cluster is off.' },
  }),
  subjects: object('Subjects consumed and published. The reference (@energyweb/ev-asset-operator-server) used `*.prequalification.exchange` and `*.claim.exchange`; the modern scheme is `flex.v1.…`. Both are consumed by default.', {
    prequalification: subjects(['*.prequalification.exchange', 'flex.v1.prequalification.request'], 'Where prequalification requests `{"did": "did:ethr:…", "requestId"?, "period"?}` arrive.'),
    claim: subjects(['*.claim.exchange', 'flex.v1.claim.issued'], 'Where issued claims `{"did"?, "issuedToken": "…"}` arrive.'),
    events: subject('flex.v1.claim.published', 'Where the service announces a claim it published (`{did, claimId, cid, txHash}`); core NATS, for dashboards.'),
  }),
  stream: name('FLEX_PREQUALIFICATION', 'JetStream stream over the request and claim subjects (created when missing).'),
  maxAgeS: int(0, 10 * 365 * 86_400, 30 * 86_400, 'Messages older than this leave the stream; 0 keeps them.', 's'),
  consumers: object('Durable pull consumers (one per kind of message), so nothing is lost while the service is down.', {
    requests: name('flex_requests', 'Durable name of the request consumer.'),
    claims: name('flex_claims', 'Durable name of the claim consumer.'),
  }),
  maxDeliver: int(1, 1000, 8, 'Deliveries of one message before it goes to the dead-letter subject.'),
  ackWaitMs: int(1000, 3_600_000, 60_000, 'Time the service has to handle a message before JetStream delivers it again.', 'ms'),
  backoffMs: { type: 'array', items: { type: 'integer', minimum: 100, maximum: 3_600_000 }, minItems: 1, maxItems: 16, default: [1000, 5000, 30_000, 120_000], description: 'Waits before redelivering a message after a transient failure (chain or store down), one per attempt; the last repeats.' },
  deadLetterSubject: subject('flex.v1.deadletter', 'Where a message that cannot be handled (malformed, unknown asset, forged token, untrusted issuer, too many deliveries) is published, with the reason in the `Flex-Reason` header.'),
  claim: object('The claim requested for each asset.', {
    type: { type: 'string', minLength: 1, maxLength: 256, default: 'ev.prequalification.role.tso.ewc', description: 'Claim type (the role namespace of the TSO\'s prequalification role).' },
    version: int(1, 1_000_000, 1, 'Claim type version.'),
    evidencePeriodDays: int(1, 3660, 30, 'Days of metering summarized in the request\'s evidence.', 'days'),
  }),
  issuer: object('Where claim requests go (the TSO\'s issuer).', {
    deliver: { type: 'string', enum: FLEX_ISSUER_DELIVERY, default: 'nats', description: '`nats`: publish on `issuer.subject`; `http`: POST to `issuer.url` (JSON `{did, claimId, token}`), retried.' },
    subject: subject('flex.v1.claim.request', 'Subject of the claim requests (with `deliver: "nats"`).'),
    url: { type: ['string', 'null'], pattern: '^https?://', maxLength: 2048, default: null, description: 'Issuer endpoint (with `deliver: "http"`).' },
    did: { type: ['string', 'null'], pattern: DID, default: null, description: 'The issuer\'s DID, written as `sub`-side audience of the requests; null: none.' },
  }),
  trustedIssuers: { type: 'array', items: { type: 'string', pattern: DID }, uniqueItems: true, default: [], description: 'DIDs whose issued claims are accepted; a claim signed by any other key is refused (dead letter). Required (non-empty) when `enable`.' },
  contentDir: { type: ['string', 'null'], minLength: 1, maxLength: 4096, default: null, description: 'Content-addressed store of issued tokens (IPFS blocks); null: `<dataDir>/ipfs`.' },
});

/** Problems the schema cannot express: what `enable` needs. */
export function flexProblems(flex: Record<string, unknown>, storeEngine: unknown): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  if (flex['enable'] !== true) return out;
  if (storeEngine === 'off') out.push({ path: 'flexibility.enable', message: 'needs the store (store.engine is "off"): assets and claims are kept there' });
  const chain = (flex['chain'] ?? {}) as Record<string, unknown>;
  const issuer = (flex['issuer'] ?? {}) as Record<string, unknown>;
  if (flex['keyEncryptionKey'] === null || flex['keyEncryptionKey'] === undefined) out.push({ path: 'flexibility.keyEncryptionKey', message: 'is required when flexibility.enable is true (set env FLEX_KEK): asset keys are sealed with it' });
  if (chain['rpcUrl'] === null || chain['rpcUrl'] === undefined) out.push({ path: 'flexibility.chain.rpcUrl', message: 'is required when flexibility.enable is true' });
  if (chain['registryAddress'] === null || chain['registryAddress'] === undefined) out.push({ path: 'flexibility.chain.registryAddress', message: 'is required when flexibility.enable is true' });
  const keyFile = chain['operatorKeyFile'] ?? null;
  const key = chain['operatorPrivateKey'] ?? null;
  if (keyFile === null && key === null) out.push({ path: 'flexibility.chain.operatorPrivateKey', message: 'is required (or flexibility.chain.operatorKeyFile) when flexibility.enable is true: the operator relays the DID registry writes' });
  if (keyFile !== null && key !== null) out.push({ path: 'flexibility.chain.operatorKeyFile', message: 'cannot be set together with flexibility.chain.operatorPrivateKey: give one' });
  if (issuer['deliver'] === 'http' && (issuer['url'] === null || issuer['url'] === undefined)) out.push({ path: 'flexibility.issuer.url', message: 'is required when flexibility.issuer.deliver is "http"' });
  if (!Array.isArray(flex['trustedIssuers']) || flex['trustedIssuers'].length === 0) out.push({ path: 'flexibility.trustedIssuers', message: 'needs at least one issuer DID when flexibility.enable is true (no claim could ever be accepted)' });
  return out;
}
