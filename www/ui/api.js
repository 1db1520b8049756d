// The only way the UI talks to the server: fetch() on the documented API, with the credentials of the
// configured scheme (a login prompt on 401), and a connection state with automatic reconnect.
//
// credentials: 'omit' keeps the browser's own Basic-auth dialog away: the UI asks itself and sends the
// Authorization header; credentials live in sessionStorage (this tab only) and are dropped on sign-out.

const KEY = 'ocpp-router.auth';
const listeners = new Set();
let online = true;
let probe = null;
let loginPending = null;

export const connection = {
  get online() {
    return online;
  },
  /** fn(online: boolean) on every change. */
  subscribe(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

function setOnline(value) {
  if (online === value) return;
  online = value;
  for (const fn of listeners) fn(online);
  if (!online) startProbe();
}

/** While offline: GET /api/v1/ping with backoff (1 s … 10 s) until the server answers. */
function startProbe() {
  if (probe !== null) return;
  let delay = 1000;
  const tick = async () => {
    try {
      const res = await fetch('/api/v1/ping', { credentials: 'omit', cache: 'no-store' });
      if (res.ok) {
        probe = null;
        setOnline(true);
        return;
      }
    } catch {
      /* still down */
    }
    delay = Math.min(10000, Math.round(delay * 1.6));
    probe = setTimeout(tick, delay);
  };
  probe = setTimeout(tick, delay);
}

export function credentials() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
  } catch {
    return null;
  }
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  for (const fn of authListeners) fn(null);
}

const authListeners = new Set();
export function onAuthChange(fn) {
  authListeners.add(fn);
}

function authHeader() {
  const c = credentials();
  if (c === null) return null;
  if (c.scheme === 'bearer') return `Bearer ${c.token}`;
  const bytes = new TextEncoder().encode(`${c.user}:${c.password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/** Shows the login dialog for the scheme the server asked for; resolves when the user submitted. */
function login(challenge, why) {
  loginPending ??= new Promise((resolve) => {
    const scheme = /^\s*bearer/i.test(challenge ?? '') ? 'bearer' : 'basic';
    const dialog = document.getElementById('login');
    const form = document.getElementById('login-form');
    for (const f of form.querySelectorAll('[data-scheme]')) f.hidden = f.dataset.scheme !== scheme;
    for (const input of form.querySelectorAll('input')) input.required = !input.closest('[hidden]');
    document.getElementById('login-title').textContent = scheme === 'bearer' ? 'API token required' : 'Sign in';
    document.getElementById('login-why').textContent = why;
    const done = (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const data = new FormData(form);
      const c = scheme === 'bearer' ? { scheme, token: String(data.get('token')).trim() } : { scheme, user: String(data.get('user')), password: String(data.get('password')) };
      sessionStorage.setItem(KEY, JSON.stringify(c));
      form.removeEventListener('submit', done);
      dialog.removeEventListener('cancel', keep);
      form.reset();
      dialog.close();
      loginPending = null;
      for (const fn of authListeners) fn(c);
      resolve();
    };
    // Escape would leave the UI without data: keep the dialog open.
    const keep = (event) => event.preventDefault();
    form.addEventListener('submit', done);
    dialog.addEventListener('cancel', keep);
    if (!dialog.open) dialog.showModal();
    form.querySelector('[data-scheme]:not([hidden]) input')?.focus();
  });
  return loginPending;
}

export class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/**
 * fetch JSON from the API. Resolves with {status, ok, data, headers, ms} for every HTTP answer (the caller
 * decides what a 4xx means), except 401, which prompts for credentials and retries. Rejects with
 * ApiError(0) when the server cannot be reached (and the connection state goes offline).
 */
export async function api(path, { method = 'GET', body, signal, text = false } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { Accept: text ? 'text/plain' : 'application/json' };
    const auth = authHeader();
    if (auth !== null) headers.Authorization = auth;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const started = performance.now();
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store', signal });
    } catch (error) {
      if (error?.name === 'AbortError') throw error;
      setOnline(false);
      throw new ApiError(0, null, 'the server cannot be reached');
    }
    const raw = await res.text().catch(() => '');
    const ms = performance.now() - started;
    // A gateway or proxy error page while the router restarts counts as offline too.
    if (res.status === 502 && raw === '' && !path.startsWith('/api/v1/ChargePoint/')) {
      setOnline(false);
      throw new ApiError(0, null, 'the server cannot be reached');
    }
    setOnline(true);
    if (res.status === 401 && attempt < 5) {
      let why = 'The API needs credentials.';
      try {
        why = JSON.parse(raw).error.message || why;
      } catch {
        /* not JSON */
      }
      if (authHeader() !== null) why = `Not accepted: ${why}`;
      await login(res.headers.get('WWW-Authenticate'), why);
      continue;
    }
    let data = raw;
    if (!text) {
      try {
        data = raw === '' ? null : JSON.parse(raw);
      } catch {
        data = raw;
      }
    }
    return { status: res.status, ok: res.ok, data, headers: res.headers, ms, auth };
  }
}

/** api() that throws ApiError for non-2xx answers (for reads whose failure the page just shows). */
export async function getJson(path, options) {
  const r = await api(path, options);
  if (!r.ok) throw new ApiError(r.status, r.data, r.data?.error?.message ?? `HTTP ${r.status}`);
  return r.data;
}

/**
 * Subprotocols for the live log. Browsers cannot set headers on a WebSocket: a bearer token is offered as the
 * subprotocol `bearer.<base64url(token)>` next to `log` (the server answers `log`).
 */
export function logProtocols() {
  const c = credentials();
  if (c?.scheme !== 'bearer') return ['log'];
  const bytes = new TextEncoder().encode(c.token);
  const b64 = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return ['log', `bearer.${b64}`];
}

/** The live-log URL for this page; Basic credentials go in the URL (browsers cannot set headers on a WebSocket). */
export function logUrl(identity) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const c = credentials();
  const userinfo = c?.scheme === 'basic' ? `${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@` : '';
  const query = identity ? `?identity=${encodeURIComponent(identity)}` : '';
  return `${proto}//${userinfo}${location.host}/ws/log${query}`;
}

/** True for the answer of a store route while the store is off (`store.engine: "off"`: 503 STORE_OFF). */
export function isStoreOff(r) {
  return r.status === 503 && r.data?.error?.details?.reason === 'STORE_OFF';
}

/**
 * Downloads an API file (CSV) with the API's credentials: a plain link cannot send the Authorization header, so
 * when signed in the file is fetched and saved from a Blob. Rejects with ApiError when the answer is not 2xx.
 */
export async function download(path, filename) {
  const r = await api(path, { text: true });
  if (!r.ok) {
    let message = `HTTP ${r.status}`;
    try {
      message = JSON.parse(r.data).error.message || message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(r.status, r.data, message);
  }
  const blob = new Blob([r.data], { type: r.headers.get('Content-Type') ?? 'text/csv;charset=utf-8' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

/**
 * A link to an API file (CSV): without credentials the browser follows it (the file streams straight to disk);
 * signed in, download() fetches it with the Authorization header. `onError(message)` reports a failure.
 */
export function downloadLink(a, filename, onError = () => {}) {
  a.setAttribute('download', filename);
  a.addEventListener('click', (event) => {
    if (credentials() === null) return;
    event.preventDefault();
    download(a.getAttribute('href'), filename).catch((e) => onError(e.message));
  });
  return a;
}
