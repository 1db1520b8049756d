/**
 * HTTP requests and responses as plain data: the API, metrics and static routes never see uWS, and a
 * request can cross from a shard to the control plane with postMessage.
 */
export interface WebRequest {
  /** Upper-case method. */
  method: string;
  /** Path without the query string, not decoded. */
  path: string;
  /** Raw query string without '?'. */
  query: string;
  /** Header names lower-case. */
  headers: Record<string, string>;
  /** Request body as text (UTF-8); '' when none. */
  body: string;
  remoteAddress: string;
  /**
   * Set only by a shard for the live log's WebSocket upgrade (`/ws/log`), asking the control plane whether the
   * client may connect; never from anything a client sends.
   */
  upgrade?: true;
}

export interface WebResponse {
  status: number;
  headers?: Record<string, string>;
  /** Text or bytes; absent for an empty body. */
  body?: string | Uint8Array;
}

export type WebHandler = (request: WebRequest) => WebResponse | Promise<WebResponse>;

/**
 * What the transport serves HTTP with: the handler, and how to word a refusal the transport itself makes before
 * or around the handler (a body over the limit, a handler that threw), so each endpoint answers in its own
 * format (JSON errors for the API, SOAP Faults for OCPP-S).
 */
export interface HttpService {
  handle: WebHandler;
  refuse(request: WebRequest, status: number, message: string): WebResponse;
}

export const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  202: '202 Accepted',
  204: '204 No Content',
  301: '301 Moved Permanently',
  304: '304 Not Modified',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  422: '422 Unprocessable Entity',
  426: '426 Upgrade Required',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
  504: '504 Gateway Timeout',
};

/** `{"error":{"code":N,"message":"…"}}`, the `ocpp-cs` error shape, with optional details. */
export function errorResponse(status: number, message: string, details?: unknown, headers?: Record<string, string>): WebResponse {
  const error: Record<string, unknown> = { code: status, message };
  if (details !== undefined) error.details = details;
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ error }) };
}

export function jsonResponse(status: number, body: unknown, headers?: Record<string, string>): WebResponse {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}
