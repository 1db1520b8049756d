/**
 * A content-addressed store of issued claim tokens: IPFS UnixFS files (@helia/unixfs) in a file blockstore
 * (blockstore-fs, one file per block, written to a temporary name then renamed) under a folder of the data
 * directory. No libp2p node: nothing is announced or fetched from a network; a gateway or a pinning service can
 * be fed the same blocks later. The import settings are those of `ipfs add --cid-version 1` in Kubo (raw
 * leaves, 256 KiB fixed-size chunks, balanced DAG of at most 174 links a node), so the CID given here is the one
 * any IPFS node computes for the same bytes; a token (≤ 64 KiB) is a single raw block.
 */
import { FsBlockstore } from 'blockstore-fs';
import { unixfs, type AddFileOptions, type UnixFS } from '@helia/unixfs';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';

export class ContentStoreError extends Error {
  override name = 'ContentStoreError';
}

/** Kubo's `ipfs add` chunk size and DAG width (the Helia defaults, 1 MiB and 1024, give other CIDs above 256 KiB). */
const CHUNK_SIZE = 262_144;
const MAX_CHILDREN_PER_NODE = 174;
const DEFAULT_MAX_CAT_BYTES = 16 * 1024 * 1024;

type Chunker = NonNullable<AddFileOptions['chunker']>;
type FileLayout = NonNullable<AddFileOptions['layout']>;

/** Fixed-size chunks of exactly CHUNK_SIZE bytes (the last one shorter), whatever the input slices are. */
const fixedSizeChunker: Chunker = async function* (source) {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(CHUNK_SIZE - pendingBytes, piece.length - offset);
      pending.push(piece.subarray(offset, offset + take));
      pendingBytes += take;
      offset += take;
      if (pendingBytes === CHUNK_SIZE) {
        yield concatBytes(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0 || pending.length === 0) yield concatBytes(pending, pendingBytes);
};

function concatBytes(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The balanced layout of ipfs-unixfs-importer: leaves in groups of MAX_CHILDREN_PER_NODE, level by level. */
type LayoutNode = Awaited<ReturnType<FileLayout>>;

async function balancedLayout(source: Parameters<FileLayout>[0], reduce: Parameters<FileLayout>[1]): Promise<LayoutNode> {
  const roots: LayoutNode[] = [];
  let group: LayoutNode[] = [];
  for await (const node of source) {
    group.push(node);
    if (group.length === MAX_CHILDREN_PER_NODE) {
      roots.push(await reduce(group));
      group = [];
    }
  }
  if (group.length > 0) roots.push(await reduce(group));
  return roots.length > 1 ? balancedLayout(roots, reduce) : (roots[0] as LayoutNode);
}

const ADD_OPTIONS: AddFileOptions = { cidVersion: 1, rawLeaves: true, chunker: fixedSizeChunker, layout: balancedLayout, reduceSingleLeafToSelf: true };

export class ContentStore {
  private closed = false;

  private constructor(
    private readonly blockstore: FsBlockstore,
    private readonly fs: UnixFS,
  ) {}

  /** Opens (creating it if missing) the blockstore folder `dir`. */
  static async open(dir: string): Promise<ContentStore> {
    const blockstore = new FsBlockstore(dir, { createIfMissing: true });
    try {
      await blockstore.open();
    } catch (err) {
      throw new ContentStoreError(`cannot open the content store at ${dir}: ${(err as Error).message}`);
    }
    return new ContentStore(blockstore, unixfs({ blockstore }));
  }

  /** Adds the bytes (a string as UTF-8) and returns the CIDv1 text (base32, `bafy…`/`bafk…`). */
  async add(content: Uint8Array | string): Promise<string> {
    this.checkOpen();
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    const cid = await this.fs.addBytes(bytes, ADD_OPTIONS);
    return cid.toString();
  }

  /** The bytes of `cid`; throws ContentStoreError when the CID is malformed, absent, damaged or too large. */
  async cat(cid: string, maxBytes = DEFAULT_MAX_CAT_BYTES): Promise<Uint8Array> {
    this.checkOpen();
    let parsed: CID;
    try {
      parsed = CID.parse(cid);
    } catch {
      throw new ContentStoreError(`not a CID: ${JSON.stringify(String(cid).slice(0, 80))}`);
    }
    if (!(await this.blockstore.has(parsed))) throw new ContentStoreError(`content ${cid} is not in the store`);
    const parts: Uint8Array[] = [];
    let length = 0;
    try {
      // Size first: stopping a cat half-way leaves the exporter's block prefetches running.
      const stats = await this.fs.stat(parsed);
      if (stats.type === 'directory') throw new ContentStoreError(`content ${cid} is a directory, not a file`);
      if (stats.type === 'file' && stats.unixfs.fileSize() > BigInt(maxBytes)) throw new ContentStoreError(`content ${cid} is larger than ${maxBytes} bytes`);
      for await (const piece of this.fs.cat(parsed)) {
        length += piece.length;
        if (length > maxBytes) throw new ContentStoreError(`content ${cid} is larger than ${maxBytes} bytes`);
        parts.push(piece);
      }
    } catch (err) {
      if (err instanceof ContentStoreError) throw err;
      throw new ContentStoreError(`cannot read content ${cid}: ${(err as Error).message}`);
    }
    const bytes = concatBytes(parts, length);
    // A raw block is the content itself: check it still hashes to its CID (a block file edited on disk).
    if (parsed.code === raw.code && parsed.multihash.code === sha256.code) {
      const digest = await sha256.digest(bytes);
      if (!equalBytes(digest.digest, parsed.multihash.digest)) throw new ContentStoreError(`content ${cid} is damaged: its bytes no longer match the CID`);
    }
    return bytes;
  }

  async has(cid: string): Promise<boolean> {
    this.checkOpen();
    try {
      return await this.blockstore.has(CID.parse(cid));
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.blockstore.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new ContentStoreError('content store is closed');
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
