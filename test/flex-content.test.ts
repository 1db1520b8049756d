/**
 * The content store of issued tokens (src/flex/content-store.ts): the CIDs are those of `ipfs add --cid-version 1`
 * (a known vector, an independent hash, and the UnixFS importer run with Kubo's settings for multi-chunk files),
 * content survives close and reopen, and absent, malformed or damaged content is an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FsBlockstore } from 'blockstore-fs';
import { unixfs } from '@helia/unixfs';
import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { ContentStore, ContentStoreError } from '../src/flex/content-store.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-content-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Random bytes: no two chunks alike, so equal chunks cannot hide a layout difference. */
function randomContent(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

test('single-block content: the CID of ipfs add --cid-version 1 (known vectors and an independent hash)', async (t) => {
  const store = await ContentStore.open(join(tempDir(t), 'blocks'));
  t.after(() => store.close());
  // `echo "hello world" | ipfs add --cid-version 1` (with the newline), and the same text without it.
  assert.equal(await store.add('hello world\n'), 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4');
  assert.equal(await store.add('hello world'), 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e');
  // The empty file, as `ipfs add --cid-version 1 /dev/null` prints it.
  assert.equal(await store.add(new Uint8Array(0)), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
  const token = 'eyJhbGciOiJFUzI1NksiLCJ0eXAiOiJKV1QifQ.' + 'x'.repeat(60_000);
  const expected = CID.create(1, raw.code, await sha256.digest(new TextEncoder().encode(token))).toString();
  assert.equal(await store.add(token), expected);
  assert.equal(new TextDecoder().decode(await store.cat(expected)), token);
  assert.equal(await store.add(token), expected, 'adding again gives the same CID');
});

test('multi-chunk content: same CID as the UnixFS importer with Kubo settings, not the Helia defaults', async (t) => {
  const dir = tempDir(t);
  const store = await ContentStore.open(join(dir, 'blocks'));
  t.after(() => store.close());
  const reference = new FsBlockstore(join(dir, 'reference'));
  await reference.open();
  t.after(() => reference.close());
  const kubo = async (bytes: Uint8Array): Promise<string> => {
    let last = '';
    const options = { cidVersion: 1 as const, rawLeaves: true, chunker: fixedSize({ chunkSize: 262_144 }), layout: balanced({ maxChildrenPerNode: 174 }) };
    for await (const entry of importer([{ content: bytes }], reference, options)) last = entry.cid.toString();
    return last;
  };
  // 2.3 chunks (one level of links), then 176 chunks: more than 174 leaves, so a second level of the DAG.
  for (const length of [600_000, 176 * 262_144 - 1000]) {
    const bytes = randomContent(length);
    const cid = await store.add(bytes);
    assert.match(cid, /^bafybei/, 'a dag-pb root');
    assert.equal(cid, await kubo(bytes), `length ${length}`);
    if (length === 600_000) {
      const heliaDefault = (await unixfs({ blockstore: reference }).addBytes(bytes)).toString();
      assert.notEqual(cid, heliaDefault, 'the Helia defaults (1 MiB chunks) would give another CID');
    }
    const back = await store.cat(cid, 64 * 1024 * 1024);
    assert.equal(Buffer.compare(Buffer.from(back), Buffer.from(bytes)), 0);
    await assert.rejects(store.cat(cid, 100_000), (e: unknown) => e instanceof ContentStoreError && /larger than 100000 bytes/.test(e.message));
  }
});

test('content survives close and reopen; absent, malformed, damaged content and a closed store are errors', async (t) => {
  const dir = join(tempDir(t), 'blocks');
  const first = await ContentStore.open(dir);
  const cid = await first.add('a claim token');
  await first.close();
  await first.close();
  await assert.rejects(first.add('x'), /closed/);

  const store = await ContentStore.open(dir);
  t.after(() => store.close());
  assert.equal(new TextDecoder().decode(await store.cat(cid)), 'a claim token');
  assert.ok(await store.has(cid));
  const absent = CID.create(1, raw.code, await sha256.digest(new TextEncoder().encode('never added'))).toString();
  assert.ok(!(await store.has(absent)));
  assert.ok(!(await store.has('garbage')));
  await assert.rejects(store.cat(absent), (e: unknown) => e instanceof ContentStoreError && /is not in the store/.test(e.message));
  await assert.rejects(store.cat('not-a-cid'), (e: unknown) => e instanceof ContentStoreError && /not a CID/.test(e.message));

  // A block file edited on disk is detected, not served.
  const blockFiles = files(dir).filter((f) => f.endsWith('.data'));
  assert.equal(blockFiles.length, 1);
  writeFileSync(blockFiles[0] as string, 'a claim tokeN');
  await assert.rejects(store.cat(cid), (e: unknown) => e instanceof ContentStoreError && /damaged/.test(e.message));
});
