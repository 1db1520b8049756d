/**
 * Station client certificates for OCPP security profile 3 (OCPP 1.6 Security Whitepaper §2.3 / OCPP 2.0.1 Part 2
 * A00.FR.3xx: TLS with a client-side certificate whose subject names the Charging Station). This uWS build cannot
 * read the peer certificate of its own TLS connections (uWebSockets.js issue #1058), so the certificate arrives in a
 * header from the one that terminated TLS: a trusted proxy (`tls.clientCertHeader` from `tls.trustedProxies`) or the
 * built-in mTLS front (src/transport/mtls-front.ts). It is checked again here: validity dates, issued and signed by
 * one of `tls.clientCaFile`'s certificates (when set), and the subject field (`tls.subjectField`) = identity.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type CertificateCheck =
  | { ok: true; subject: string; fingerprint: string }
  | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'notYetValid' | 'untrusted' | 'subject'; message: string };

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle. */
export function parsePemBundle(text: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) out.push(new X509Certificate(Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

/**
 * The certificate in a header value: nginx `$ssl_client_escaped_cert` (URL-encoded PEM), Envoy XFCC (`Cert="…"`,
 * URL-encoded PEM), a PEM whose line breaks a proxy turned into spaces or tabs, or base64 DER. Null if none.
 */
export function decodeCertificateHeader(value: string): X509Certificate | null {
  let text = value.trim();
  if (text === '') return null;
  const xfcc = /(?:^|[;,])\s*Cert="([^"]*)"/i.exec(text);
  if (xfcc !== null) text = xfcc[1]!;
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return null;
    }
  }
  try {
    const pem = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(text);
    const base64 = (pem === null ? text : pem[1]!).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return null;
    return new X509Certificate(Buffer.from(base64, 'base64'));
  } catch {
    return null;
  }
}

/** The value of `field` in an X509Certificate.subject (`CN=…\nO=…`), or null. */
export function subjectField(subject: string, field: string): string | null {
  for (const line of subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && line.slice(0, eq) === field) return line.slice(eq + 1);
  }
  return null;
}

export class ClientCertificates {
  #cas: X509Certificate[] = [];
  #field = 'CN';

  constructor(caFile: string | null, field: string, onProblem: (message: string) => void) {
    this.configure(caFile, field, onProblem);
  }

  configure(caFile: string | null, field: string, onProblem: (message: string) => void): void {
    this.#field = field;
    if (caFile === null) {
      this.#cas = [];
      this.#required = false;
      return;
    }
    try {
      this.#cas = parsePemBundle(readFileSync(caFile, 'utf8'));
      if (this.#cas.length === 0) onProblem(`tls.clientCaFile ${caFile} holds no certificate: client certificates are refused`);
    } catch (error) {
      onProblem(`cannot read tls.clientCaFile ${caFile}: ${(error as Error).message}; client certificates are refused`);
      this.#cas = [];
    }
    // A configured CA file that could not be read refuses every certificate rather than trusting any.
    this.#required = true;
  }

  #required = false;

  /** Checks the certificate passed in a header against the identity; `now` in ms. */
  check(header: string, identity: string, now = Date.now()): CertificateCheck {
    if (header === '') return { ok: false, reason: 'missing', message: 'security profile 3 needs a TLS client certificate' };
    const cert = decodeCertificateHeader(header);
    if (cert === null) return { ok: false, reason: 'malformed', message: 'the client certificate passed by the TLS front cannot be read' };
    if (now < Date.parse(cert.validFrom)) return { ok: false, reason: 'notYetValid', message: `the client certificate is not valid before ${cert.validFrom}` };
    if (now > Date.parse(cert.validTo)) return { ok: false, reason: 'expired', message: `the client certificate expired ${cert.validTo}` };
    if (this.#required && !this.#cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
      return { ok: false, reason: 'untrusted', message: 'the client certificate is not issued by a CA of tls.clientCaFile' };
    }
    const name = subjectField(cert.subject, this.#field);
    if (name !== identity) {
      return { ok: false, reason: 'subject', message: `the client certificate subject ${this.#field} (${name ?? 'none'}) is not the station identity` };
    }
    return { ok: true, subject: cert.subject.replace(/\n/g, ', '), fingerprint: cert.fingerprint256 };
  }
}
