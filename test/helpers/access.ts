/** HTTP and live-log clients that choose where they connect from (API access tests). */
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: { code: number; message: string; details?: Record<string, unknown> } } & Record<string, unknown>;
  text: string;
}

/** HTTP from a chosen local address (127.0.0.2 is loopback too, but another client for the limiter). */
export function httpFrom(port: number, method: string, path: string, options: { host?: string; localAddress?: string; headers?: Record<string, string>; json?: unknown } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = options.json === undefined ? undefined : JSON.stringify(options.json);
    const req = httpRequest(
      {
        host: options.host ?? '127.0.0.1',
        port,
        method,
        path,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }), ...options.headers },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: Reply['body'] = {};
          try {
            parsed = text === '' ? {} : (JSON.parse(text) as Reply['body']);
          } catch {
            // not JSON (metrics)
          }
          resolve({ status: res.statusCode!, headers: res.headers, body: parsed, text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function logConnect(url: string, options: { headers?: Record<string, string>; protocols?: string[]; localAddress?: string } = {}): Promise<{ ws: WebSocket } | { status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {}, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    ws.once('error', reject);
  });
}
