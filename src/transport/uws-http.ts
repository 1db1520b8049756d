/** Small uWS HTTP helpers shared by the station endpoint, the live-log endpoint and HTTP routes. */
import type { HttpResponse } from 'uWebSockets.js';
import { STATUS_TEXT, errorResponse, type WebResponse } from '../http/types.js';

export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

export function writeResponse(res: HttpResponse, response: WebResponse): void {
  res.cork(() => {
    res.writeStatus(STATUS_TEXT[response.status] ?? String(response.status));
    if (response.headers !== undefined) for (const name in response.headers) res.writeHeader(name, response.headers[name]!);
    res.end(response.body ?? '');
  });
}

/** An HTTP refusal in the ocpp-cs error shape. */
export function refuse(res: HttpResponse, refusal: Refusal): void {
  writeResponse(res, errorResponse(refusal.status, refusal.message, undefined, refusal.headers));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `finish` with the result of `decide`, which may be a promise (authentication off the loop). Never
 * touches `res` after the client went away: an abandoned result goes to `abandoned` instead (to give back
 * what it reserved). A throw or rejection answers 500.
 */
export function decideUpgrade<D>(res: HttpResponse, decide: () => D | Promise<D>, finish: (decision: D) => void, abandoned: (decision: D) => void = () => {}): void {
  let decision: D | Promise<D>;
  try {
    decision = decide();
  } catch (error) {
    refuse(res, { status: 500, message: message(error) });
    return;
  }
  if (!(decision instanceof Promise)) {
    finish(decision);
    return;
  }
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  decision.then(
    (d) => (aborted ? abandoned(d) : finish(d)),
    (error) => {
      if (!aborted) refuse(res, { status: 500, message: message(error) });
    },
  );
}
