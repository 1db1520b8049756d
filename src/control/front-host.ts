/**
 * The control plane's side of the built-in mTLS front (src/transport/mtls-front.ts, docs/security.md): the secret
 * only the front and the shards know (made once per process), the front's start with the plain listener as target,
 * its certificate reload on HUP and its stop.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/types.js';
import { tlsListenerOptions } from '../config/tls-files.js';
import { MtlsFront, plainTarget, type FrontLog } from '../transport/mtls-front.js';

export class FrontHost {
  readonly #secret = randomBytes(32).toString('base64url');
  #front: MtlsFront | null = null;

  /** The port the front listens on (0 when it is off). */
  get port(): number {
    return this.#front?.port ?? 0;
  }

  /** What the shards get to recognise the front's connections (null: no front in this configuration). */
  secretFor(config: Config): string | null {
    return config.tls.front.enable ? this.#secret : null;
  }

  /** Starts the front when tls.front.enable; `plain()` says where the shards' plain listener is now. */
  async start(config: Config, plain: () => { config: Config; port: number }, log: FrontLog): Promise<void> {
    if (!config.tls.front.enable) return;
    const target = (): { host: string; port: number; stationPath: string } => {
      const now = plain();
      return { host: plainTarget(now.config.server.listen, now.config.server.plain), port: now.port, stationPath: now.config.ocpp.path };
    };
    this.#front = await MtlsFront.start({ host: config.server.listen, port: config.tls.front.port, tls: tlsListenerOptions(config), secret: this.#secret, target, log });
  }

  reload(config: Config): void {
    if (config.tls.enable) this.#front?.reload(tlsListenerOptions(config));
  }

  stopAccepting(): void {
    void this.#front?.stopAccepting();
  }

  async close(): Promise<void> {
    await this.#front?.close();
  }
}
