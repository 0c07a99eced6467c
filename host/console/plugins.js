// Plugins: what serves, each plugin's versions, upload, activate, roll back, the change
// history; replays, shadow and staged rollout come from rollout.js where the API has them.

import { api, metrics, pluginStats } from '/console/api.js';
import { refresh } from '/console/app.js';
import { counters, hourlyCharts } from '/console/hours.js';
import { rollout } from '/console/rollout.js';
import { attempt, confirmed, field, generalProblem, h, notify, short, showProblems, table, when } from '/console/ui.js';

const fuel = (n) => (n === null ? '—' : n === Infinity ? 'over the largest bucket' : `≤ ${n.toLocaleString('en')}`);
const NONE = { decided: 0, refused: 0, fault: 0, fuel: { p50: null, p99: null } };

/// Calls, refusals, faults and fuel p50 and p99 of `s` (a plugin's or a version's tally) as
/// table cells, each with its number in a data attribute (`data-fuel-p50` empty when there
/// is none).
const tallyCells = (s) => [
  h('td', { class: 'number', 'data-calls': String(s.decided + s.refused + s.fault) }, String(s.decided + s.refused + s.fault)),
  h('td', { class: 'number', 'data-refused': String(s.refused) }, String(s.refused)),
  h('td', { class: 'number', 'data-faults': String(s.fault) }, String(s.fault)),
  h('td', { 'data-fuel-p50': String(s.fuel.p50 ?? '') }, fuel(s.fuel.p50)),
  h('td', { 'data-fuel-p99': String(s.fuel.p99 ?? '') }, fuel(s.fuel.p99)),
];

export async function render(page) {
  const [plugins, samples] = await Promise.all([api('/api/v1/plugins'), metrics()]);
  const stats = pluginStats(samples);
  page.append(h('h1', {}, 'Plugins'),
    table(['plugin', 'kind', 'contract', 'serving', 'used by', 'calls', 'refusals', 'faults', 'fuel p50', 'fuel p99', 'last change'],
      plugins.map((p) => {
        const s = stats[p.name] || NONE;
        return h('tr', { 'data-plugin': p.name },
          h('th', { scope: 'row' }, h('a', { href: `#/plugins/${p.name}` }, p.name)),
          h('td', {}, p.kind), h('td', {}, p.wit_version), h('td', {}, short(p.digest)),
          h('td', { class: 'wrap' }, p.used_by.join(', ')),
          tallyCells(s),
          h('td', { class: 'wrap' }, p.last_change ? [`${p.last_change.action.replace('_', ' ')} by ${p.last_change.by}`, h('div', { class: 'hint' }, when(p.last_change.at))] : '—'));
      }), { class: 'plugins cards' }),
    h('p', { class: 'hint' }, 'Calls, refusals, faults and fuel are counted by this replica since it started, over all of a plugin’s versions.'));
}

export async function renderPlugin(page, _query, name) {
  const base = `/api/v1/plugins/${name}`;
  const [plugin, history, samples, health] = await Promise.all([
    api(base), api(`${base}/history`), metrics(), api('/health').catch(() => ({})),
  ]);
  const stats = pluginStats(samples)[name] || { ...NONE, versions: null };
  // Per version where the metrics say which version made each call (not an older service's).
  const perVersion = stats.versions;
  const active = plugin.digest;
  const share = (entry, digest) => (entry && entry.digest === digest ? `${entry.percent} %` : null);
  const activate = async (digest) => {
    const ok = await confirmed(`Activate ${name}?`,
      `${name} will serve ${digest} instead of ${active} from its next decision, in ${plugin.used_by.join(', ') || 'no workflow'}.`, 'Activate');
    if (ok && await attempt(() => api(`${base}/activate`, { method: 'POST', json: { digest } }), `Activating ${name}`)) {
      notify(`${name} now serves ${digest.slice(0, 19)}…`, 'ok');
      refresh();
    }
  };
  // What a rollback would serve again: none when the history has no earlier activation.
  const previous = undoTarget(history);
  const rollback = async () => {
    const ok = await confirmed(`Roll back ${name}?`,
      `${name} stops serving ${active}; ${previous}, the version active before it, serves again from the next decision, in ${plugin.used_by.join(', ') || 'no workflow'}.`, 'Roll back');
    if (ok && await attempt(() => api(`${base}/rollback`, { method: 'POST' }), `Rolling back ${name}`)) {
      notify(`${name} rolled back.`, 'ok');
      refresh();
    }
  };
  page.append(
    h('h1', {}, `Plugin ${name}`),
    h('dl', { class: 'facts' },
      h('div', {}, h('dt', {}, 'Kind'), h('dd', {}, `${plugin.kind}, contract ${plugin.wit_version}`)),
      h('div', {}, h('dt', {}, 'Serving'), h('dd', { 'data-active': active }, short(active))),
      h('div', {}, h('dt', {}, 'Used by'), h('dd', {}, plugin.used_by.join(', ') || 'no workflow')),
      h('div', {}, h('dt', {}, 'Replicas'), h('dd', {}, plugin.converged ? 'all serve it' : 'not all serve it yet')),
      plugin.last_error ? h('div', {}, h('dt', {}, 'Last load error'), h('dd', { class: 'failure' }, plugin.last_error)) : null),
    h('section', { 'aria-labelledby': 'versions' }, h('h2', { id: 'versions' }, 'Versions'),
      // What each version does and did first: the rest scrolls sideways on a phone.
      table(['version', 'serving', ...(perVersion ? TALLY : []), 'size', 'stored', 'action'], plugin.versions.map((v) =>
        h('tr', { 'data-version': v.digest },
          h('th', { scope: 'row' }, short(v.digest)),
          h('td', { 'data-serving': '' }, v.active ? 'active' : share(plugin.rollout, v.digest) ? `rollout ${share(plugin.rollout, v.digest)}` : share(plugin.shadow, v.digest) ? `shadow ${share(plugin.shadow, v.digest)}` : '—'),
          perVersion ? tallyCells(perVersion[v.digest] || NONE) : null,
          h('td', { class: 'number' }, `${(v.size / 1024).toFixed(0)} KiB`),
          h('td', {}, when(v.stored_at)),
          h('td', {}, v.active ? null : h('button', { type: 'button', 'data-activate': v.digest, onclick: () => activate(v.digest) }, 'Activate'))))),
      h('p', { class: 'hint' }, perVersion
        ? 'Calls, refusals, faults and fuel: each version’s on this replica since it started, for orders, replays and shadows alike.'
        : 'This service’s metrics do not say which version made a call: its calls are counted for all versions together, under Calls.'),
      previous
        ? h('div', { class: 'actions' }, h('button', { type: 'button', id: 'rollback', 'data-to': previous, onclick: rollback }, 'Roll back to ', short(previous)))
        : h('p', { class: 'hint', 'data-no-rollback': '' }, 'Nothing to roll back to: no version served before this one (activate another to have one).')),
    calls(plugin, stats, health),
    upload(name, base),
    await rollout(name, base, plugin),
    h('section', { 'aria-labelledby': 'history' }, h('h2', { id: 'history' }, 'History'),
      h('ol', { class: 'timeline', reversed: true, 'data-entries': String(history.length) },
        [...history].reverse().map((c) => h('li', { 'data-action': c.action },
          h('strong', {}, c.action.replace('_', ' ')),
          h('div', {}, c.from ? [short(c.from), ' → ', short(c.to)] : short(c.to)),
          h('div', { class: 'hint' }, `${when(c.at)} by ${c.by}${c.replica ? ` on ${c.replica}` : ''}`))))));
}

const TALLY = ['calls', 'refusals', 'faults', 'fuel p50', 'fuel p99'];

/// The version a rollback would make serve again, as the service works it out from the
/// history (oldest first): each activation or file dropped stacks its version, a rollback
/// takes the top one off; the one under the top is the answer, or null.
export function undoTarget(history) {
  let stack = [];
  for (const change of history) {
    if (change.action === 'activated' || change.action === 'file_dropped') stack.push(change.to);
    if (change.action === 'rolled_back') {
      stack.pop();
      // A log begun mid-history: start again from where it went back to.
      if (stack[stack.length - 1] !== change.to) stack = [change.to];
    }
  }
  return stack.length >= 2 ? stack[stack.length - 2] : null;
}

/// The plugin's calls, all versions together: on this replica since it started (from
/// /metrics), and per hour over the last 48 hours on the live replicas (from the plugin's
/// `hourly`).
function calls(plugin, stats, health) {
  const { who, started, since } = counters(health);
  const own = health.replica ? `, which started ${when(health.replica.started_at)}` : '';
  return h('section', { 'aria-labelledby': 'calls', 'data-calls-of': plugin.name }, h('h2', { id: 'calls' }, 'Calls'),
    h('p', { class: 'hint' }, `Counted by the replica that answered${own}; all versions together.`),
    table(['counted', ...TALLY], [h('tr', { 'data-tally': 'all' }, h('th', { scope: 'row' }, 'since it started'), tallyCells(stats))]),
    h('p', { class: 'hint' }, `Per hour: counted by ${who}, ${since}.`),
    hourlyCharts('plugin', plugin.hourly, started));
}

function upload(name, base) {
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload');
  const form = h('form', { class: 'upload', 'aria-labelledby': 'upload' },
    h('h2', { id: 'upload' }, 'Upload a version'),
    h('p', { class: 'hint' }, 'The component is compiled and tried on every workflow that uses the plugin before it is kept; it serves only once activated.'),
    field('body', 'Component (.wasm)', { type: 'file', accept: '.wasm,application/wasm', required: true }),
    generalProblem(),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = form.elements.body.files[0];
    if (!file) return showProblems(form, { message: 'choose a .wasm file', problems: [{ field: 'body', message: 'choose a .wasm file' }] });
    submit.disabled = true;
    submit.textContent = 'Checking…';
    try {
      const kept = await api(`${base}/versions`, { method: 'POST', bytes: await file.arrayBuffer(), type: 'application/wasm' });
      notify(`${name}: ${kept.digest.slice(0, 19)}… uploaded and checked; activate it to serve it.`, 'ok');
      refresh();
    } catch (failure) {
      showProblems(form, failure);
      submit.disabled = false;
      submit.textContent = 'Upload';
    }
  });
  return form;
}
