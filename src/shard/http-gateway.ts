/**
 * HTTP in a shard. Any shard may receive any HTTP request (the kernel spreads connections): routes that
 * need nothing but the shard itself are answered here; everything else (registry, commands, metrics)
 * crosses to the control plane, which owns that state.
 */
import { errorResponse, type WebHandler, type WebRequest, type WebResponse } from '../http/types.js';

export interface LocalRoute {
  method: string;
  path: string;
  handle: WebHandler;
}

export interface GatewayOptions {
  local: LocalRoute[];
  /** Sends the request to the control plane and resolves with its answer. */
  forward(request: WebRequest): Promise<WebResponse>;
  /** Time the control plane gets to answer before the client receives 504. */
  forwardTimeoutMs: number;
}

export function createHttpGateway(options: GatewayOptions): WebHandler {
  const local = new Map<string, WebHandler>();
  for (const route of options.local) local.set(`${route.method} ${route.path}`, route.handle);
  return (request) => {
    const handle = local.get(`${request.method} ${request.path}`);
    if (handle !== undefined) return handle(request);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<WebResponse>((resolve) => {
      timer = setTimeout(() => resolve(errorResponse(504, 'the control plane did not answer in time')), options.forwardTimeoutMs);
    });
    return Promise.race([options.forward(request), timeout]).finally(() => clearTimeout(timer));
  };
}
