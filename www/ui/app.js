// Entry: hash routing (#/, #/station/<identity>, #/log, #/transactions, #/transactions/<id>), the
// disconnected-server banner and sign-out.
// Pages are functions (main, …) → cleanup; plain ES modules, no build step, nothing from a CDN.
import { connection, credentials, signOut, onAuthChange } from './api.js';
import { dashboardPage } from './dashboard.js';
import { stationPage } from './station.js';
import { logPage } from './log.js';
import { transactionsPage } from './transactions.js';
import { transactionPage } from './transaction.js';

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const connState = document.getElementById('conn-state');
const logout = document.getElementById('logout');
let cleanup = null;

function route() {
  if (cleanup) cleanup();
  cleanup = null;
  main.replaceChildren();
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  let nav = 'dashboard';
  const m = /^\/station\/(.+)$/.exec(path);
  const tx = /^\/transactions\/([^/]+)$/.exec(path);
  if (m) {
    let identity;
    try {
      identity = decodeURIComponent(m[1]);
    } catch {
      identity = m[1];
    }
    document.title = `${identity} · ocpp-router`;
    nav = null;
    cleanup = stationPage(main, identity);
  } else if (tx) {
    document.title = `Transaction ${tx[1]} · ocpp-router`;
    nav = 'transactions';
    cleanup = transactionPage(main, tx[1]);
  } else if (path === '/transactions') {
    document.title = 'Transactions · ocpp-router';
    nav = 'transactions';
    cleanup = transactionsPage(main, params);
  } else if (path === '/log') {
    document.title = 'Live log · ocpp-router';
    nav = 'log';
    cleanup = logPage(main, params);
  } else {
    document.title = 'Fleet · ocpp-router';
    cleanup = dashboardPage(main);
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // Move focus to the new content (screen readers announce the page), without scrolling.
  if (document.activeElement && document.activeElement !== document.body && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

function showConnection(online) {
  connState.textContent = online ? 'server connected' : 'server unreachable';
  connState.classList.toggle('down', !online);
  if (online) {
    banner.hidden = true;
    banner.replaceChildren();
  } else {
    banner.replaceChildren('The router cannot be reached. Retrying automatically; the data shown may be out of date.');
    banner.hidden = false;
  }
}

function showAuth() {
  logout.hidden = credentials() === null;
}

connection.subscribe(showConnection);
showConnection(true);
onAuthChange(showAuth);
showAuth();
logout.addEventListener('click', () => {
  signOut();
  location.reload();
});
window.addEventListener('hashchange', route);
route();
