/**
 * Checks the TLS files of a configuration with tls.enable the way OpenSSL will load them in the shards (node:tls
 * createSecureContext: readable PEM, key matching the certificate, the passphrase, the client CA), so a wrong file
 * is one clear configuration problem at start, in `check-config` and on HUP, instead of a shard that cannot listen.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Config } from './types.js';

/** The TLS listener's files and settings of a configuration with tls.enable (the load checks make the files non-null). */
export function tlsListenerOptions(config: Config): { certFile: string; keyFile: string; passphrase: string | null; ciphers: string | null; dhParamsFile: string | null; clientCaFile: string | null } {
  const t = config.tls;
  return { certFile: t.certFile ?? '', keyFile: t.keyFile ?? '', passphrase: t.passphrase, ciphers: t.ciphers, dhParamsFile: t.dhParamsFile, clientCaFile: t.clientCaFile };
}

export function tlsFileProblems(tls: Config['tls']): Array<{ path: string; message: string }> {
  if (!tls.enable || tls.certFile === null || tls.keyFile === null) return [];
  const out: Array<{ path: string; message: string }> = [];
  const read = (key: 'certFile' | 'keyFile' | 'clientCaFile' | 'dhParamsFile'): Buffer | null => {
    const file = tls[key];
    if (file === null) return null;
    try {
      return readFileSync(file);
    } catch (error) {
      out.push({ path: `tls.${key}`, message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
      return null;
    }
  };
  const cert = read('certFile');
  const key = read('keyFile');
  const ca = read('clientCaFile');
  read('dhParamsFile');
  if (cert === null || key === null) return out;
  try {
    createSecureContext({ cert, key, ...(tls.passphrase === null ? {} : { passphrase: tls.passphrase }), ...(ca === null ? {} : { ca }) });
  } catch (error) {
    out.push({ path: 'tls.certFile', message: `the certificate, key${tls.passphrase === null ? '' : ', passphrase'}${ca === null ? '' : ' or client CA'} cannot be used: ${(error as Error).message}` });
  }
  if (tls.ciphers !== null) {
    try {
      createSecureContext({ ciphers: tls.ciphers });
    } catch (error) {
      out.push({ path: 'tls.ciphers', message: `not a usable OpenSSL cipher list: ${(error as Error).message}` });
    }
  }
  return out;
}
