/**
 * Test certificates made with the openssl CLI into a temporary folder: a CA, a server certificate for 127.0.0.1 and
 * localhost, and station client certificates (good, expired, from another CA, with another CN). Removed by `remove()`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** The client certificate and key of `name` (made by `client()`). */
  client(name: string): { cert: string; key: string };
  remove(): Promise<void>;
}

const OPENSSL = '/usr/bin/openssl';

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA in `dir` (`<name>.pem`, `<name>.key`) with the index files `openssl ca` needs. */
async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', `/CN=${cn}`], dir);
}

async function sign(dir: string, ca: string, name: string, subject: string, options: { server?: boolean; start?: string; end?: string } = {}): Promise<void> {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  const db = `${name}.db`;
  await writeFile(join(dir, db), '');
  const ext = options.server === true ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n';
  await writeFile(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\n${ext}`);
  await writeFile(
    join(dir, `${name}.cnf`),
    `[ca]\ndefault_ca=c\n[c]\ndatabase=${db}\nnew_certs_dir=.\nserial=${name}.srl\ndefault_md=sha256\npolicy=p\nunique_subject=no\ncopy_extensions=none\n[p]\ncommonName=supplied\n`,
  );
  await writeFile(join(dir, `${name}.srl`), `${Date.now().toString(16).padStart(16, '0')}\n`);
  openssl(
    ['ca', '-batch', '-config', `${name}.cnf`, '-cert', `${ca}.pem`, '-keyfile', `${ca}.key`, '-in', `${name}.csr`, '-out', `${name}.pem`, '-extfile', `${name}.ext`, '-notext',
      '-startdate', options.start ?? '20200101000000Z', '-enddate', options.end ?? '20991231000000Z'],
    dir,
  );
}

/** Makes the CA, the server certificate and client certificates `good` (CN CP-GOOD), `expired`, `otherCa`, `wrongCn`. */
export async function makeCerts(): Promise<CertFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-certs-'));
  await makeCa(dir, 'ca', 'ocpp-router test CA');
  await makeCa(dir, 'other-ca', 'another CA');
  await sign(dir, 'ca', 'server', '/CN=localhost', { server: true });
  await sign(dir, 'ca', 'good', '/CN=CP-GOOD');
  await sign(dir, 'ca', 'expired', '/CN=CP-EXPIRED', { start: '20200101000000Z', end: '20200102000000Z' });
  await sign(dir, 'other-ca', 'otherCa', '/CN=CP-OTHER');
  await sign(dir, 'ca', 'wrongCn', '/CN=SOMEONE-ELSE');
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    client: (name) => ({ cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) }),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A second server certificate (another serial and CN) for the reload test. */
export async function makeServerCert(files: CertFiles, name: string, cn: string): Promise<{ cert: string; key: string }> {
  await sign(files.dir, 'ca', name, `/CN=${cn}`, { server: true });
  return { cert: join(files.dir, `${name}.pem`), key: join(files.dir, `${name}.key`) };
}

export function readPem(file: string): Promise<string> {
  return readFile(file, 'utf8');
}

/** A client certificate with CN `identity`, written as `<identity>.pem` / `<identity>.key` (CA `ca`). */
export async function makeClientCert(files: CertFiles, identity: string): Promise<{ cert: string; key: string }> {
  await sign(files.dir, 'ca', identity, `/CN=${identity}`);
  return files.client(identity);
}
