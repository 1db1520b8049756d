/**
 * did:ethr identifiers: `did:ethr:0x<address>` (mainnet) or `did:ethr:<network>:0x<address>`, network being a
 * name (`volta`, `ewc`, `development`) or a 0x-hex chain id, as ethr-did-resolver reads them. Only address
 * identifiers are taken here: an asset's DID is always made from its address. Addresses come out EIP-55.
 */
import { getAddress } from 'ethers';

export class DidError extends Error {
  override name = 'DidError';
}

const NETWORK_RE = /^(?:[a-z][a-z0-9_-]{0,31}|0x[0-9a-f]{1,16})$/;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const MAX_DID = 128;

function checkedAddress(address: string, where: string): string {
  if (typeof address !== 'string' || !ADDRESS_RE.test(address)) throw new DidError(`${where}: address must be 0x followed by 40 hex digits`);
  try {
    return getAddress(address);
  } catch {
    // Mixed case that is not the EIP-55 checksum: a typo, not an address.
    throw new DidError(`${where}: address has a bad EIP-55 checksum`);
  }
}

function checkedNetwork(network: string, where: string): string {
  if (network === '' || network === 'mainnet' || network === '0x1') return '';
  if (!NETWORK_RE.test(network)) throw new DidError(`${where}: network must be a lower-case name or a 0x-hex chain id, got ${JSON.stringify(network.slice(0, 40))}`);
  return network;
}

export function didFor(address: string, network: string): string {
  const a = checkedAddress(address, 'didFor');
  const n = checkedNetwork(network, 'didFor');
  return n === '' ? `did:ethr:${a}` : `did:ethr:${n}:${a}`;
}

export function parseDid(did: string): { network: string; address: string } {
  if (typeof did !== 'string') throw new DidError('DID must be a string');
  if (did.length > MAX_DID) throw new DidError(`DID longer than ${MAX_DID} characters`);
  const parts = did.split(':');
  if (parts.length < 3 || parts[0] !== 'did') throw new DidError(`not a DID: ${JSON.stringify(did.slice(0, 60))}`);
  if (parts[1] !== 'ethr') throw new DidError(`unsupported DID method ${JSON.stringify(parts[1])}: only did:ethr`);
  if (parts.length > 4) throw new DidError('did:ethr has at most one network segment (did:ethr:<network>:0x<address>)');
  const id = parts[parts.length - 1] as string;
  if (/^0x[0-9a-fA-F]{66}$/.test(id)) throw new DidError('public-key did:ethr identifiers are not supported: use the address form');
  const address = checkedAddress(id, 'DID');
  const network = parts.length === 4 ? checkedNetwork(parts[2] as string, 'DID') : '';
  return { network, address };
}

/** One spelling per identity (EIP-55 address, mainnet without a segment): compare DIDs after this. */
export function normalizeDid(did: string): string {
  const { network, address } = parseDid(did);
  return didFor(address, network);
}
