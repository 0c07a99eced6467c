// The console's shell: errors recorded, sign-in, and the pages by the URL's fragment
// (#/overview, #/orders, #/orders/<id>, #/plugins, #/plugins/<name>, #/workflows, #/stock,
// #/stock/<product>).

import { api, session } from '/console/api.js';
import { leave } from '/console/live.js';
import { h, field, generalProblem, showProblems } from '/console/ui.js';

// Every script error, rejected promise, console.error and blocked resource (CSP) is kept
// where the browser tests read it, besides the browser's own console.
window.consoleErrors = [];
const record = (what) => window.consoleErrors.push(String(what));
window.addEventListener('error', (e) => record(e.message || `failed to load ${e.target && (e.target.src || e.target.href)}`), true);
window.addEventListener('unhandledrejection', (e) => record(e.reason && e.reason.stack ? e.reason.stack : e.reason));
window.addEventListener('securitypolicyviolation', (e) => record(`blocked by the content security policy: ${e.blockedURI} (${e.violatedDirective})`));
const consoleError = console.error.bind(console);
console.error = (...args) => {
  record(args.join(' '));
  consoleError(...args);
};

const pages = [
  [/^#\/overview$/, () => import('/console/overview.js'), 'Overview'],
  [/^#\/orders\/([\w-]+)$/, () => import('/console/order.js'), 'Order'],
  [/^#\/orders$/, () => import('/console/orders.js'), 'Orders'],
  [/^#\/plugins\/([\w.-]+)$/, () => import('/console/plugins.js').then((m) => ({ render: m.renderPlugin })), 'Plugin'],
  [/^#\/plugins$/, () => import('/console/plugins.js'), 'Plugins'],
  [/^#\/workflows$/, () => import('/console/workflows.js'), 'Workflows'],
  [/^#\/stock\/([^/?]+)$/, () => import('/console/stock.js').then((m) => ({ render: m.renderProduct })), 'Product'],
  [/^#\/stock$/, () => import('/console/stock.js'), 'Stock'],
];

const main = document.getElementById('main');

/// The route and its query: `#/orders?status=pending` → ['#/orders', URLSearchParams].
export function location() {
  const [path, query] = window.location.hash.split('?');
  return [path || '#/overview', new URLSearchParams(query || '')];
}

let rendering = 0;
/// Whether a page has been shown since the console loaded.
let shownOnce = false;

/// Shows the page the address names. `quietly`: the page shown stays until the new one is
/// ready (a live update), rather than giving way to "Loading…".
async function route({ quietly = false } = {}) {
  // The page left stops following its streams; the next one starts its own.
  leave();
  if (!session.token()) return signIn();
  const shown = window.location.hash;
  const [path, query] = location();
  const page = pages.find(([pattern]) => pattern.test(path));
  if (!page) {
    window.location.hash = '#/overview';
    return;
  }
  const [pattern, load, title] = page;
  const ticket = ++rendering;
  document.title = `${title} · orderflow console`;
  for (const link of document.querySelectorAll('#nav a')) {
    link.toggleAttribute('aria-current', path.startsWith(link.getAttribute('href')));
  }
  const { render } = await load();
  const content = h('div', { class: 'page' });
  if (!quietly) main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  try {
    await render(content, query, ...pattern.exec(path).slice(1));
  } catch (e) {
    content.replaceChildren(h('p', { class: 'failure', role: 'alert' }, `This page could not be shown: ${e.message}`));
  }
  // A newer navigation wins over a slow one, and so does the sign-in form (a 401 while the
  // page loaded: the token expired).
  if (ticket !== rendering || !session.token()) return;
  main.replaceChildren(content);
  main.dataset.page = title.toLowerCase();
  // Which address the page shows: a link to the same page with other filters is told apart.
  main.dataset.shown = shown;
  // What had the focus went with the old page: a keyboard or screen reader user goes on
  // from the top of the new one. Not on the first page shown: its first Tab is the skip
  // link's.
  // A live update keeps the person where they were.
  if (!quietly && shownOnce && (!document.activeElement || document.activeElement === document.body)) main.focus({ preventScroll: true });
  shownOnce = true;
  document.body.dataset.ready = 'true';
}

/// Re-renders the current page (after an action changed what it shows).
export function refresh(how) {
  return route(how);
}

function signedIn(yes) {
  document.getElementById('nav').hidden = !yes;
  document.getElementById('sign-out').hidden = !yes;
}

function signIn(reason) {
  // Whatever page was loading is dropped; the address stays, so that signing in again
  // goes back to it.
  rendering++;
  signedIn(false);
  document.title = 'Sign in · orderflow console';
  const back = pages.find(([pattern]) => pattern.test(location()[0]));
  const form = h('form', { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in'),
    h('p', {}, 'Paste an admin token (a JWT whose role is admin). It is kept by this tab only, until you sign out or close it.'),
    field('token', 'Admin token', { type: 'password', autocomplete: 'off', required: true }),
    generalProblem(),
    reason && back ? h('p', { class: 'hint', 'data-back': back[2] }, `Signing in takes you back to this ${back[2].toLowerCase()} page.`) : null,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
    h('p', { class: 'hint' }, 'On a service using the development secret (no JWT_SECRET set), open the sign-in link it logs at start, or paste the output of ',
      h('code', {}, 'orderflow token --user you --admin'), '.'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = form.elements.token.value.trim();
    await tryToken(token, form);
  });
  main.replaceChildren(form);
  main.dataset.page = 'sign-in';
  document.body.dataset.ready = 'true';
  if (reason) showProblems(form, { message: reason, problems: [] });
  form.elements.token.focus();
}

/// While a token is tried, its 401 is the try's answer, not a signing out.
let trying = false;

/// Keeps `token` if the API takes it as an admin's; otherwise says why, on `form`.
async function tryToken(token, form) {
  session.keep(token);
  trying = true;
  try {
    await api('/api/v1/workflows');
  } catch (e) {
    session.forget();
    const why = e.status === 403 ? 'this token is valid but not an admin’s' : e.message;
    if (form) showProblems(form, { message: why, problems: [{ field: 'token', message: why }] });
    else signIn(`The sign-in link did not work: ${why}`);
    return;
  } finally {
    trying = false;
  }
  signedIn(true);
  if (!location()[0].startsWith('#/')) window.location.hash = '#/overview';
  else route();
}

// A 401 from any call: the token expired or is no longer taken. Back to the sign-in form,
// once however many calls were under way.
window.addEventListener('console:signed-out', (e) => {
  if (trying || !session.token()) return;
  session.forget();
  signIn(`Signed out: ${e.detail}. Sign in again to go on.`);
});
// The skip link moves the focus to the page's content; followed as a link, it would change
// the address, which names the page shown.
document.querySelector('a.skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
document.getElementById('sign-out').addEventListener('click', () => {
  session.forget();
  signIn();
});
/// The sign-in link, `#token=…`: the token is taken from the fragment (which is never sent
/// to the server) and removed from the address bar and the history. Whether there was one.
function takeLink() {
  const link = /^#token=(.+)$/.exec(window.location.hash);
  if (!link) return false;
  history.replaceState(null, '', window.location.pathname + '#/overview');
  tryToken(decodeURIComponent(link[1]));
  return true;
}

window.addEventListener('hashchange', () => takeLink() || route());
if (!takeLink()) {
  signedIn(Boolean(session.token()));
  route();
}
