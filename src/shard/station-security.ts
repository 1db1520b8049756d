/**
 * OCPP security profiles per station (OCPP 1.6 Security Whitepaper §2, OCPP 2.0.1 Part 2 A00.FR.2xx–4xx):
 *   1  HTTP Basic auth, plain ws:// allowed (what `security.basicAuth` did alone before)
 *   2  TLS and HTTP Basic auth: refused on the plain listener, Basic auth required even if basicAuth.enable is off
 *   3  TLS with a client certificate whose subject (tls.subjectField, CN by default) is the identity; no Basic auth
 * "TLS" is the router's TLS listener, the built-in mTLS front (a secret header only it knows), or a trusted
 * TLS-terminating proxy (tls.trustedProxies) that sends `X-Forwarded-Proto: https` (or `wss`). The certificate of profile 3 comes from the front or the proxy
 * (see client-certificate.ts: this uWS build cannot read it on its own TLS listener).
 */
import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/types.js';
import type { UpgradeInfo } from '../transport/types.js';
import { addressKey } from '../http/ip-address.js';
import { ClientCertificates } from './client-certificate.js';

export type SecurityProfile = 1 | 2 | 3;

/** X-Forwarded-Proto values of a client that reached the proxy over TLS. */
const SECURE_PROTOS: ReadonlySet<string> = new Set(['https', 'wss']);

/** How the connection reached the shard. */
export type Arrival = 'plain' | 'tls' | 'front' | 'proxy';

export type SecurityDecision =
  | { ok: true; profile: SecurityProfile; arrival: Arrival; basicAuth: 'asConfigured' | 'required' | 'none'; remoteAddress: string }
  | { ok: false; profile: SecurityProfile; arrival: Arrival; status: 403; reason: 'profile' | 'certificate'; message: string; remoteAddress: string };

export class StationSecurity {
  #profiles = new Map<string, SecurityProfile>();
  #default: SecurityProfile = 1;
  /** tls.trustedProxies as addressKey()s: uWS reports `::1` as `0000:…:0001` on an IPv6 listener. */
  #proxies = new Set<string>();
  #certs: ClientCertificates;
  #frontSecret: Buffer | null;
  #tlsPort = 0;

  /** `frontSecret`: the per-process secret of the built-in mTLS front (null: no front). */
  constructor(config: Config, frontSecret: string | null, onProblem: (message: string) => void) {
    this.#frontSecret = frontSecret === null ? null : Buffer.from(frontSecret);
    this.#certs = new ClientCertificates(config.tls.clientCaFile, config.tls.subjectField, onProblem);
    this.configure(config, onProblem);
  }

  configure(config: Config, onProblem: (message: string) => void): void {
    this.#default = config.security.defaultProfile as SecurityProfile;
    this.#profiles = new Map(Object.entries(config.security.profiles) as Array<[string, SecurityProfile]>);
    this.#proxies = new Set(config.tls.trustedProxies.map(addressKey));
    this.#certs.configure(config.tls.clientCaFile, config.tls.subjectField, onProblem);
  }

  set tlsPort(port: number) {
    this.#tlsPort = port;
  }

  profileOf(identity: string): SecurityProfile {
    return this.#profiles.get(identity) ?? this.#default;
  }

  #fromFront(info: UpgradeInfo): boolean {
    if (this.#frontSecret === null || info.front === '') return false;
    const given = Buffer.from(info.front);
    return given.length === this.#frontSecret.length && timingSafeEqual(given, this.#frontSecret);
  }

  decide(identity: string, info: UpgradeInfo): SecurityDecision {
    const profile = this.profileOf(identity);
    const front = this.#fromFront(info);
    // A trusted proxy's connection counts as TLS only when the proxy says its client came over TLS (a proxy may also
    // forward plain ws:// from another port of its own).
    const viaProxy = this.#proxies.size > 0 && this.#proxies.has(addressKey(info.remoteAddress)) && SECURE_PROTOS.has(info.forwardedProto.toLowerCase());
    const arrival: Arrival = info.secure ? 'tls' : front ? 'front' : viaProxy ? 'proxy' : 'plain';
    const remoteAddress = front && info.frontAddress !== '' ? info.frontAddress : info.remoteAddress;
    if (profile === 1) return { ok: true, profile, arrival, basicAuth: 'asConfigured', remoteAddress };
    if (arrival === 'plain') {
      const where = this.#tlsPort > 0 ? ` (TLS port ${this.#tlsPort})` : '';
      return { ok: false, profile, arrival, status: 403, reason: 'profile', message: `station ${identity} uses security profile ${profile}: connect with wss://${where}, not plain ws://`, remoteAddress };
    }
    if (profile === 2) return { ok: true, profile, arrival, basicAuth: 'required', remoteAddress };
    if (arrival === 'tls') {
      return { ok: false, profile, arrival, status: 403, reason: 'certificate', message: `station ${identity} uses security profile 3: its client certificate must be verified by the mTLS front or a trusted TLS proxy (this TLS listener cannot read client certificates)`, remoteAddress };
    }
    const check = this.#certs.check(front ? info.frontCert : info.clientCert, identity);
    if (!check.ok) return { ok: false, profile, arrival, status: 403, reason: 'certificate', message: `station ${identity}: ${check.message}`, remoteAddress };
    return { ok: true, profile, arrival, basicAuth: 'none', remoteAddress };
  }
}
