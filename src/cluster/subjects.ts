/**
 * Station identities in NATS subjects and KV keys. An identity may hold characters NATS treats specially: `.`
 * splits a subject into tokens, `*` and `>` are wildcards a publish accepts, a space or a control character makes
 * the client throw, and KV keys allow only `[-/_=.A-Za-z0-9]`. Every identity is therefore written as one token
 * that keeps `[A-Za-z0-9_-]` and writes every other byte of its UTF-8 as `=XX` (upper-case hex): reversible, valid
 * in both places, and readable for the common identities (`CP-001` stays `CP-001`).
 */

const SAFE = /^[A-Za-z0-9_-]$/;

/** `CP.1 *` → `CP=2E1=20=2A`. */
export function encodeToken(text: string): string {
  let out = '';
  for (const ch of text) {
    if (SAFE.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  // An empty token is not a valid subject token: the empty identity (never accepted by the handshake) is `=`.
  return out === '' ? '=' : out;
}

/** The inverse of encodeToken; null for text that encodeToken cannot have produced. */
export function decodeToken(token: string): string | null {
  if (token === '=') return '';
  const bytes: number[] = [];
  for (let i = 0; i < token.length; ) {
    const ch = token[i]!;
    if (ch === '=') {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else if (SAFE.test(ch)) {
      bytes.push(ch.charCodeAt(0));
      i++;
    } else return null;
  }
  const text = Buffer.from(bytes).toString('utf8');
  return encodeToken(text) === token ? text : null;
}

/** The subjects of one cluster, under its prefix (`cluster.subjectPrefix`, default `ocpp`). */
export class Subjects {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Requests to one node: `call` (a command for a station it holds), `stations` (its list), `replaced` … */
  node(nodeId: string, kind: string): string {
    return `${this.prefix}.node.${nodeId}.${kind}`;
  }

  /** A station's event: `<prefix>.events.<node>.<identity>.<action or kind>`. */
  event(nodeId: string, identity: string, name: string): string {
    return `${this.prefix}.events.${nodeId}.${encodeToken(identity)}.${encodeToken(name)}`;
  }

  /** Everything the events stream holds. */
  get events(): string {
    return `${this.prefix}.events.>`;
  }

  /** The NATS backend's request for a station CALL: `<prefix>.in.<version>.<action>`. */
  inbound(version: string, action: string): string {
    return `${this.prefix}.in.${encodeToken(version)}.${encodeToken(action)}`;
  }

  /** Where the NATS backend's fallback records go (JetStream): `<prefix>.fallback.<version>.<action>`. */
  fallback(version: string, action: string): string {
    return `${this.prefix}.fallback.${encodeToken(version)}.${encodeToken(action)}`;
  }

  /** An operator's command: `<prefix>.cmd.<identity>.<action>`. */
  command(identity: string, action: string): string {
    return `${this.prefix}.cmd.${encodeToken(identity)}.${encodeToken(action)}`;
  }

  /** The subscription to every operator command. */
  get commands(): string {
    return `${this.prefix}.cmd.*.*`;
  }

  /** The identity and action of a command subject, or null when it is not one. */
  parseCommand(subject: string): { identity: string; action: string } | null {
    const head = `${this.prefix}.cmd.`;
    if (!subject.startsWith(head)) return null;
    const rest = subject.slice(head.length).split('.');
    if (rest.length !== 2) return null;
    const identity = decodeToken(rest[0]!);
    const action = decodeToken(rest[1]!);
    return identity === null || action === null ? null : { identity, action };
  }
}

/** A station's key in the directory bucket. */
export const directoryKey = (identity: string): string => encodeToken(identity);
