/**
 * The asset's DID document on an ERC-1056 registry (EthereumDIDRegistry) through a JSON-RPC provider. Writes are
 * meta-transactions: the asset key signs `setAttribute` (the contract's own hash: 0x19 0x00, registry, the
 * owner's nonce, identity, "setAttribute", name, value, validity) and the operator wallet sends it and pays gas,
 * so assets never hold funds. A service is the attribute `did/svc/<type>`; its value is the UTF-8 of the endpoint
 * (a JSON object is written as its JSON text, which ethr-did-resolver parses back into an object in
 * `serviceEndpoint`). Reads go through did-resolver + ethr-did-resolver on the same provider.
 *
 * Ordering: sends from the operator are serialized (one nonce at a time, so a send refused at estimation leaves
 * no gap), and writes for one identity are serialized up to their receipt (the contract's nonce moves only when
 * mined). Every RPC has a timeout; failures become RegistryError with what went wrong, never key material.
 */
import { Contract, FetchRequest, JsonRpcProvider, Network, SigningKey, Wallet, encodeBytes32String, getAddress, keccak256, solidityPacked, toUtf8Bytes } from 'ethers';
import { Resolver } from 'did-resolver';
import { getResolver } from 'ethr-did-resolver';
import { assetKeyFromPrivate } from './keys.js';
import { didFor, parseDid } from './did.js';

export interface RegistryOptions {
  rpcUrl: string;
  registryAddress: string;
  operatorPrivateKey: string;
  network: string;
  chainId: number;
  timeoutMs?: number;
}

export interface ServiceEntry {
  type: string;
  endpoint: string | Record<string, unknown>;
}

export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** The registry functions used here (the published artifact has more). */
const REGISTRY_ABI = [
  'function identityOwner(address identity) view returns (address)',
  'function nonce(address) view returns (uint256)',
  'function changed(address) view returns (uint256)',
  'function setAttributeSigned(address identity, uint8 sigV, bytes32 sigR, bytes32 sigS, bytes32 name, bytes value, uint256 validity)',
  'event DIDAttributeChanged(address indexed identity, bytes32 name, bytes value, uint256 validTo, uint256 previousChange)',
];

/** ethr-did-resolver reads `did/svc/<type>` with `\w+` for the type; the name must fit in bytes32. */
const SERVICE_TYPE_RE = /^\w{1,24}$/;
const MAX_ENDPOINT_BYTES = 4096;
const MAX_VALIDITY_S = 100 * 365 * 24 * 3600;

/** A short, key-free description of an ethers or network failure. */
export function describeRpcError(err: unknown): string {
  const e = err as {
    code?: string;
    reason?: string | null;
    shortMessage?: string;
    message?: string;
    error?: { message?: string };
    info?: { error?: { message?: string; data?: { reason?: string } } };
  } | null;
  if (e === null || typeof e !== 'object') return String(err);
  if (e.code === 'CALL_EXCEPTION') {
    // Ganache and some nodes put the revert reason in the JSON-RPC error object, where ethers does not look.
    const nodeError = e.info?.error;
    const reason = e.reason ?? nodeError?.data?.reason ?? /revert (\w+)/.exec(nodeError?.message ?? '')?.[1] ?? e.shortMessage ?? 'reverted';
    return `the registry contract refused the call: ${reason}`;
  }
  if (e.code === 'TIMEOUT') return 'the JSON-RPC endpoint did not answer in time';
  const text = `${e.shortMessage ?? e.message ?? ''} ${e.error?.message ?? ''}`;
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|fetch failed|socket hang up/i.test(text) || e.code === 'NETWORK_ERROR') return `the JSON-RPC endpoint is unreachable (${(e.shortMessage ?? e.message ?? '').slice(0, 160)})`;
  if (/timeout/i.test(text)) return 'the JSON-RPC endpoint did not answer in time';
  const nodeMessage = e.info?.error?.message ?? e.error?.message;
  return `${e.shortMessage ?? e.message ?? 'unknown error'}${nodeMessage !== undefined ? ` (node: ${nodeMessage})` : ''}`.slice(0, 400);
}

export class DidRegistryClient {
  readonly operatorAddress: string;
  readonly registryAddress: string;
  private readonly provider: JsonRpcProvider;
  private readonly operator: Wallet;
  private readonly registry: Contract;
  private readonly resolver: Resolver;
  private readonly timeoutMs: number;
  private readonly network: string;
  private sendChain: Promise<unknown> = Promise.resolve();
  private readonly identityChains = new Map<string, Promise<unknown>>();
  private closed = false;
  /** The operator's next transaction nonce, counted here between sends (null: ask the node). */
  private operatorNonce: number | null = null;

  constructor(options: RegistryOptions) {
    if (!/^(https?|wss?):\/\//.test(options.rpcUrl)) throw new RegistryError('rpcUrl must be an http(s):// or ws(s):// URL');
    if (!Number.isSafeInteger(options.chainId) || options.chainId <= 0) throw new RegistryError('chainId must be a positive integer');
    try {
      this.registryAddress = getAddress(options.registryAddress);
    } catch {
      throw new RegistryError('registryAddress is not an address');
    }
    this.network = options.network;
    didFor(this.registryAddress, options.network); // validates the network name (throws DidError)
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const request = new FetchRequest(options.rpcUrl);
    request.timeout = this.timeoutMs;
    const network = Network.from(options.chainId);
    // staticNetwork: no eth_chainId probe loop that retries forever when the endpoint is down. cacheTimeout -1:
    // ethers otherwise answers an identical call made within 250 ms from cache, so the operator's pending nonce,
    // the identity's registry nonce and `changed` read right after a write would be the values from before it.
    this.provider = new JsonRpcProvider(request, network, { staticNetwork: network, batchMaxCount: 1, pollingInterval: 250, cacheTimeout: -1 });
    this.operator = new Wallet(assetKeyFromPrivate(options.operatorPrivateKey).privateKey, this.provider);
    this.operatorAddress = this.operator.address;
    this.registry = new Contract(this.registryAddress, REGISTRY_ABI, this.operator);
    // ethr-did-resolver types ethers through its CommonJS build; the object is the same provider.
    const name = options.network === '' ? 'mainnet' : options.network;
    this.resolver = new Resolver(getResolver({ networks: [{ name, chainId: options.chainId, provider: this.provider as never, registry: this.registryAddress }] }));
  }

  /** The DID of an address on this client's network. */
  didOf(address: string): string {
    return didFor(address, this.network);
  }

  async setServiceSigned(identityPrivateKey: string, service: ServiceEntry, validityS: number): Promise<{ txHash: string; blockNumber: number }> {
    this.checkOpen();
    const identity = assetKeyFromPrivate(identityPrivateKey);
    if (typeof service?.type !== 'string' || !SERVICE_TYPE_RE.test(service.type)) throw new RegistryError('service type must be 1 to 24 letters, digits or _');
    const endpointText = typeof service.endpoint === 'string' ? service.endpoint : JSON.stringify(service.endpoint);
    const value = toUtf8Bytes(endpointText ?? '');
    if (value.length === 0 || value.length > MAX_ENDPOINT_BYTES) throw new RegistryError(`service endpoint must be 1 to ${MAX_ENDPOINT_BYTES} bytes`);
    if (!Number.isSafeInteger(validityS) || validityS <= 0 || validityS > MAX_VALIDITY_S) throw new RegistryError('validity must be a positive number of seconds (at most 100 years)');
    const name = encodeBytes32String(`did/svc/${service.type}`);
    return this.serialize(this.identityChains, identity.address, async () => {
      const owner = await this.ownerOf(identity.address);
      if (owner !== identity.address) throw new RegistryError(`the DID of ${identity.address} is now owned by ${owner}: the asset key can no longer change it`);
      return this.relaySetAttribute(identity.address, owner, identity.privateKey, name, value, validityS);
    });
  }

  /**
   * The same write for `identity` signed by `signerPrivateKey` as it is, without checking that the signer owns
   * the identity: the contract decides (and refuses a wrong key with `bad_signature`). For a rotated owner key.
   */
  async setServiceSignedAs(identity: string, signerPrivateKey: string, service: ServiceEntry, validityS: number): Promise<{ txHash: string; blockNumber: number }> {
    this.checkOpen();
    const signer = assetKeyFromPrivate(signerPrivateKey);
    const address = getAddress(identity);
    const value = toUtf8Bytes(typeof service.endpoint === 'string' ? service.endpoint : JSON.stringify(service.endpoint));
    if (!SERVICE_TYPE_RE.test(service.type) || value.length === 0 || value.length > MAX_ENDPOINT_BYTES) throw new RegistryError('bad service type or endpoint');
    if (!Number.isSafeInteger(validityS) || validityS <= 0 || validityS > MAX_VALIDITY_S) throw new RegistryError('validity must be a positive number of seconds (at most 100 years)');
    const name = encodeBytes32String(`did/svc/${service.type}`);
    return this.serialize(this.identityChains, address, async () => this.relaySetAttribute(address, await this.ownerOf(address), signer.privateKey, name, value, validityS));
  }

  private async ownerOf(identity: string): Promise<string> {
    return getAddress((await this.rpc('identityOwner', () => this.registry.getFunction('identityOwner')(identity))) as string);
  }

  private async relaySetAttribute(identity: string, owner: string, privateKey: string, name: string, value: Uint8Array, validityS: number): Promise<{ txHash: string; blockNumber: number }> {
    const nonce = (await this.rpc('nonce', () => this.registry.getFunction('nonce')(owner))) as bigint;
    const hash = keccak256(
      solidityPacked(
        ['bytes1', 'bytes1', 'address', 'uint256', 'address', 'string', 'bytes32', 'bytes', 'uint256'],
        ['0x19', '0x00', this.registryAddress, nonce, identity, 'setAttribute', name, value, validityS],
      ),
    );
    const sig = new SigningKey(privateKey).sign(hash);
    const method = this.registry.getFunction('setAttributeSigned');
    const args = [identity, sig.v, sig.r, sig.s, name, value, validityS] as const;
    const fees = await this.rpc('feeData', () => this.provider.getFeeData());
    const feeOverrides: Record<string, bigint> =
      fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null
        ? { maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
        : fees.gasPrice !== null
          ? { gasPrice: fees.gasPrice }
          : {};
    // Estimation is the dry run: a wrong key or a stale nonce is refused there, before any gas is spent. It runs
    // in the operator's queue: ganache 7 (eager instamine) can leave an eth_estimateGas unanswered for good when
    // it arrives while another transaction is being mined (seen here with 8 relays in flight).
    const sent = await this.serialize(null, '', async () => {
      const gas = await this.rpc('setAttributeSigned', () => method.estimateGas(...args));
      for (let attempt = 1; ; attempt++) {
        this.operatorNonce ??= await this.rpc('operator nonce', () => this.provider.getTransactionCount(this.operatorAddress, 'pending'));
        try {
          const tx = await this.rpc('setAttributeSigned', () => method(...args, { ...feeOverrides, gasLimit: (gas * 12n) / 10n, nonce: this.operatorNonce as number }));
          (this.operatorNonce as number)++;
          return tx as { hash: string };
        } catch (err) {
          // Whether the node took the nonce is unknown: ask again next time. A nonce the node calls stale means
          // the operator key sent something else meanwhile (another process, a wallet): once more, fresh.
          this.operatorNonce = null;
          if (attempt >= 2 || !/nonce/i.test((err as Error).message)) throw err;
        }
      }
    });
    const receipt = await this.waitReceipt(sent.hash);
    if (receipt.status !== 1) throw new RegistryError(`transaction ${sent.hash} failed on chain`);
    return { txHash: sent.hash, blockNumber: receipt.blockNumber };
  }

  /**
   * Polls for the receipt from 20 ms up to 1 s apart: ethers' tx.wait() waits for its block poller (every
   * pollingInterval), which on an instant-mining chain costs more than the transaction itself.
   */
  private async waitReceipt(hash: string): Promise<{ status: number | null; blockNumber: number }> {
    const deadline = Date.now() + this.timeoutMs;
    let delay = 20;
    for (;;) {
      const receipt = await this.rpc('receipt', () => this.provider.getTransactionReceipt(hash));
      if (receipt !== null) return receipt;
      if (Date.now() + delay > deadline) throw new RegistryError(`transaction ${hash} not mined within ${this.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(1000, delay * 2);
    }
  }

  async resolve(did: string): Promise<{ didDocument: Record<string, unknown> | null; error?: string }> {
    this.checkOpen();
    parseDid(did);
    const result = await this.withTimeout(this.resolver.resolve(did), 'resolve');
    const meta = result.didResolutionMetadata as { error?: string; message?: string };
    if (meta.error !== undefined) return { didDocument: null, error: `${meta.error}: ${meta.message ?? ''}`.trim() };
    return { didDocument: result.didDocument as unknown as Record<string, unknown> | null };
  }

  /** Whether the resolved document has a service that `match` accepts; a resolution failure throws (it is not "absent"). */
  async hasService(did: string, match: (service: Record<string, unknown>) => boolean): Promise<boolean> {
    const { didDocument, error } = await this.resolve(did);
    if (error !== undefined || didDocument === null) throw new RegistryError(`cannot resolve ${did}: ${error ?? 'no document'}`);
    const services = (didDocument.service ?? []) as Array<Record<string, unknown>>;
    return services.some((s) => match(s));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.provider.destroy();
  }

  private checkOpen(): void {
    if (this.closed) throw new RegistryError('registry client is closed');
  }

  /** Runs `fn` after the previous task of the same key (or of the operator's send queue when map is null). */
  private serialize<T>(map: Map<string, Promise<unknown>> | null, key: string, fn: () => Promise<T>): Promise<T> {
    const previous = map === null ? this.sendChain : (map.get(key) ?? Promise.resolve());
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    if (map === null) this.sendChain = settled;
    else {
      map.set(key, settled);
      void settled.then(() => {
        if (map.get(key) === settled) map.delete(key);
      });
    }
    return run;
  }

  private async rpc<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.withTimeout(fn(), what);
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      throw new RegistryError(`${what}: ${describeRpcError(err)}`);
    }
  }

  /** ethers' fetch timeout covers one request; this covers a call made of several (resolve, wait). */
  private withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RegistryError(`${what}: the JSON-RPC endpoint did not answer within ${this.timeoutMs} ms`)), this.timeoutMs + 500);
    });
    return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
  }
}
