// A live-log WebSocket (/ws/log) that reconnects by itself (1 s … 15 s backoff, reset after a good minute)
// and hands entries over in batches (one call per animation frame, never one DOM update per message).
import { api, logProtocols, logUrl } from './api.js';

export class LiveLog {
  #identity;
  #onEntries;
  #onState;
  #ws = null;
  #batch = [];
  #raf = 0;
  #timer = null;
  #delay = 1000;
  #closed = false;
  #openedAt = 0;
  #signedIn = undefined;
  state = 'connecting';

  /** onEntries(entries[]) with parsed {ts, identity, direction, messageType, uniqueId, action, payload}. */
  constructor({ identity = null, onEntries, onState = () => {} }) {
    this.#identity = identity;
    this.#onEntries = onEntries;
    this.#onState = onState;
    this.#connect();
  }

  #setState(state) {
    this.state = state;
    this.#onState(state);
  }

  #connect() {
    if (this.#closed) return;
    this.#setState('connecting');
    let ws;
    try {
      ws = new WebSocket(logUrl(this.#identity), logProtocols());
    } catch {
      this.#retry();
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      this.#openedAt = Date.now();
      this.#setState('open');
    };
    ws.onmessage = (event) => {
      let entry;
      try {
        entry = JSON.parse(event.data);
      } catch {
        return;
      }
      this.#batch.push(entry);
      this.#raf ||= requestAnimationFrame(() => this.#flush());
    };
    let opened = false;
    ws.addEventListener('open', () => (opened = true));
    ws.onclose = async () => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#flush();
      if (!opened) {
        // Refused before it opened: a browser does not say why. Ask the API with the same credentials;
        // a 401 brings up the login prompt (api.js), after which the log connects again at once.
        this.#setState('closed');
        try {
          const r = await api('/api/v1/stations?limit=1');
          if (r.ok && this.#ws === null && !this.#closed && this.#signedIn !== r.auth) {
            this.#signedIn = r.auth;
            this.#delay = 1000;
          }
        } catch {
          /* the server is away: the banner says so, retry below */
        }
      }
      this.#retry();
    };
  }

  #flush() {
    cancelAnimationFrame(this.#raf);
    this.#raf = 0;
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#onEntries(batch);
  }

  #retry() {
    if (this.#closed) return;
    if (Date.now() - this.#openedAt > 60000) this.#delay = 1000;
    this.#setState('closed');
    this.#timer = setTimeout(() => this.#connect(), this.#delay);
    this.#delay = Math.min(15000, this.#delay * 2);
  }

  /** Reconnect now (after sign-in, or when the server is back). */
  reconnect() {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#delay = 1000;
    const ws = this.#ws;
    this.#ws = null;
    if (ws !== null) ws.close();
    this.#connect();
  }

  close() {
    this.#closed = true;
    clearTimeout(this.#timer);
    cancelAnimationFrame(this.#raf);
    if (this.#ws !== null) {
      const ws = this.#ws;
      this.#ws = null;
      ws.close();
    }
  }
}
