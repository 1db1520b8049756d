/**
 * `ocpp-router flex …`: asset keys from the command line, on the configured store (docs/flexibility.md).
 *
 *   flex create-asset IDENTITY EVSE_ID CONNECTOR_ID   registers an EVSE (the station must be in the store), prints its did
 *   flex list                                         prints every asset (did, EVSE), no key material
 *   flex export-keys --out FILE                       a backup: keys re-encrypted under a passphrase (file mode 0600)
 *   flex import-keys FILE                             restores a backup (keys sealed again under this KEK)
 *
 * The passphrase comes from the env `FLEX_EXPORT_PASSPHRASE`, else from the first line of stdin. The
 * key-encryption key is `flexibility.keyEncryptionKey` (env `FLEX_KEK`), required here even with the service off.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Config } from '../config/types.js';
import { StoreHost } from '../store/host.js';
import type { StationRow } from '../store/records.js';
import { AssetBook } from './assets.js';
import { AssetInputError, checkAssetInput } from './asset-input.js';

export const FLEX_USAGE = `Usage: ocpp-router flex <command> [-c FILE]

  create-asset IDENTITY EVSE_ID CONNECTOR_ID   register an EVSE as an asset (key + did:ethr); prints the did
  list                                         every asset: did, station, EVSE, connector
  export-keys --out FILE                       backup of every asset key, encrypted under a passphrase
  import-keys FILE                             restore a backup (keys sealed again under this router's KEK)

The passphrase is read from FLEX_EXPORT_PASSPHRASE or from the first line of stdin; the key-encryption key from
flexibility.keyEncryptionKey (FLEX_KEK).`;

const MIN_PASSPHRASE = 12;

export interface FlexCliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  readLine(): Promise<string>;
}

async function passphrase(io: FlexCliIo): Promise<string | null> {
  const value = io.env.FLEX_EXPORT_PASSPHRASE ?? (await io.readLine());
  if (value.length < MIN_PASSPHRASE) {
    io.err(`flex: the passphrase must have at least ${MIN_PASSPHRASE} characters (FLEX_EXPORT_PASSPHRASE or stdin)\n`);
    return null;
  }
  return value;
}

/** Runs one `flex` subcommand; resolves with the exit code. */
export async function flexCommand(args: readonly string[], config: Config, io: FlexCliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.out(`${FLEX_USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (!['create-asset', 'list', 'export-keys', 'import-keys'].includes(command)) {
    io.err(`flex: unknown command ${command}\n\n${FLEX_USAGE}\n`);
    return 2;
  }
  const kek = config.flexibility.keyEncryptionKey;
  if (kek === null) {
    io.err('flex: flexibility.keyEncryptionKey is not set (env FLEX_KEK): asset keys cannot be sealed or opened\n');
    return 1;
  }
  let outFile: string | null = null;
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--out') outFile = rest[++i] ?? null;
    else if (rest[i]!.startsWith('--out=')) outFile = rest[i]!.slice('--out='.length);
    else positional.push(rest[i]!);
  }
  const host = await StoreHost.start(config);
  if (host === null) {
    io.err('flex: the store is off (store.engine: "off"): assets are kept in the store\n');
    return 1;
  }
  try {
    const book = new AssetBook(host.client, kek, config.flexibility.chain.network);
    switch (command) {
      case 'create-asset': {
        const [identity, evse, connector] = positional;
        let input;
        try {
          input = checkAssetInput({ identity, evseId: Number(evse), connectorId: Number(connector) });
        } catch (error) {
          if (!(error instanceof AssetInputError)) throw error;
          io.err(`flex create-asset: ${error.message}\n`);
          return 2;
        }
        const stations = JSON.parse(await host.client.query('stations', null)) as StationRow[];
        const station = stations.find((s) => s.identity === input.identity);
        if (station === undefined) {
          io.err(`flex create-asset: unknown station ${input.identity} (it must have connected once)\n`);
          return 1;
        }
        const record = { account: station.account, version: station.version, connected: false, boot: station.boot as { payload: Record<string, unknown> } | null, connectors: {} };
        const { created, asset } = await book.create(input, record);
        io.out(`${asset.did}\n`);
        if (!created) io.err(`flex create-asset: ${input.identity} EVSE ${input.evseId} connector ${input.connectorId} already was an asset\n`);
        return 0;
      }
      case 'list': {
        for (const a of await host.client.flex('assets', {})) io.out(`${a.did}\t${a.identity}\t${a.evseId}\t${a.connectorId}\n`);
        return 0;
      }
      case 'export-keys': {
        if (outFile === null) {
          io.err('flex export-keys: --out FILE is required\n');
          return 2;
        }
        const secret = await passphrase(io);
        if (secret === null) return 2;
        const { text, count } = await book.exportKeys(secret);
        writeFileSync(outFile, text, { mode: 0o600 });
        io.out(`${count} asset key${count === 1 ? '' : 's'} exported to ${outFile}\n`);
        return 0;
      }
      default: {
        const file = positional[0];
        if (file === undefined) {
          io.err('flex import-keys: FILE is required\n');
          return 2;
        }
        const secret = await passphrase(io);
        if (secret === null) return 2;
        const { imported, skipped } = await book.importKeys(readFileSync(file, 'utf8'), secret);
        io.out(`${imported} asset key${imported === 1 ? '' : 's'} imported, ${skipped} already present\n`);
        return 0;
      }
    }
  } catch (error) {
    // KeyError and store errors carry no key material (keys.ts promises it).
    io.err(`flex ${command}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await host.stop();
  }
}
