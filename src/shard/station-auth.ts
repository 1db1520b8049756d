import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/types.js';
import { verifyPassword, parsePasswordFile } from '../config/password-hash.js';
import { parseBasicAuth } from '../protocol/ocpp-j/handshake.js';

export type AuthOutcome = { ok: true } | { ok: false; message: string };

/**
 * HTTP Basic auth for stations (OCPP security profile 1): the user is the station identity, the password
 * is checked against a stored scrypt hash. scrypt runs on libuv's pool, off the shard's loop; a verified
 * (identity, password digest) pair is remembered so reconnect storms cost one scrypt per station.
 */
export class StationAuth {
  #enabled = false;
  #hashes = new Map<string, string>();
  /** identity → sha256(password) that verified against the current hash. */
  #verified = new Map<string, string>();

  constructor(config: Config['security']['basicAuth'], onProblem: (message: string) => void) {
    this.configure(config, onProblem);
  }

  configure(config: Config['security']['basicAuth'], onProblem: (message: string) => void): void {
    this.#enabled = config.enable;
    const hashes = new Map(Object.entries(config.passwords));
    if (config.file !== null) {
      try {
        const parsed = parsePasswordFile(readFileSync(config.file, 'utf8'));
        for (const problem of parsed.problems) onProblem(`${config.file}: ${problem}`);
        for (const [identity, hash] of Object.entries(parsed.entries)) hashes.set(identity, hash);
      } catch (error) {
        onProblem(`cannot read password file ${config.file}: ${(error as Error).message}`);
      }
    }
    this.#hashes = hashes;
    this.#verified.clear();
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * `mode`: `asConfigured` checks only with basicAuth.enable (profile 1); `required` always (profile 2: TLS and Basic
   * auth, OCPP 1.6 Security Whitepaper §2.2); `none` never (profile 3 authenticates with the client certificate).
   */
  check(identity: string, authorization: string, mode: 'asConfigured' | 'required' | 'none' = 'asConfigured'): AuthOutcome | Promise<AuthOutcome> {
    if (mode === 'none' || (mode === 'asConfigured' && !this.#enabled)) return { ok: true };
    const credentials = parseBasicAuth(authorization);
    if (credentials === null) return { ok: false, message: 'HTTP Basic authorization is required' };
    if (credentials.user !== identity) return { ok: false, message: 'the Basic auth user must be the station identity' };
    const stored = this.#hashes.get(identity);
    if (stored === undefined) return { ok: false, message: 'unknown station or wrong password' };
    const digest = createHash('sha256').update(credentials.password).digest('base64');
    if (this.#verified.get(identity) === digest) return { ok: true };
    return verifyPassword(credentials.password, stored).then((ok): AuthOutcome => {
      if (!ok) return { ok: false, message: 'unknown station or wrong password' };
      // Only remember if the hash did not change while scrypt ran (HUP reload).
      if (this.#hashes.get(identity) === stored) this.#verified.set(identity, digest);
      return { ok: true };
    });
  }
}
