// Replays, shadow and staged rollout of a plugin's versions. Their API is young: every
// call to it and every assumption about its shapes is in this module. Each part shows only
// where the service has it: replays where their route answers (not 404 or 405), shadow and
// rollout where the plugin's description carries a `shadow` or `rollout` field.

import { api } from '/console/api.js';
import { refresh } from '/console/app.js';
import { chart } from '/console/charts.js';
import { attempt, confirmed, field, generalProblem, h, money, notify, short, showProblems, table, when } from '/console/ui.js';

const POLL_MS = 1000;
const DAY = 86_400_000;

/// The section for plugin `name` (API at `base`), or nothing where the service has none of it.
export async function rollout(name, base, plugin) {
  let replays = null;
  try {
    replays = await api(`${base}/replays`);
  } catch (e) {
    if (e.status !== 404 && e.status !== 405) throw e;
  }
  const stages = ['shadow', 'rollout'].filter((kind) => kind in plugin);
  if (!replays && !stages.length) return null;
  const others = plugin.versions.filter((v) => !v.active).map((v) => [v.digest, v.digest.slice(7, 19)]);
  const report = h('div', { class: 'replay-report', 'aria-live': 'polite' });
  if (!others.length) {
    return h('section', { 'aria-labelledby': 'trying', 'data-rollout': 'true' },
      h('h2', { id: 'trying' }, 'Trying a version'),
      h('p', { class: 'empty' }, 'Upload a version to try it here.'));
  }
  return h('section', { 'aria-labelledby': 'trying', 'data-rollout': 'true' },
    h('h2', { id: 'trying' }, 'Trying a version'),
    replays ? [replayForm(base, plugin, others, report), report] : null,
    replays && replays.length ? [h('h3', {}, 'Replays'), table(['replay', 'version', 'state', 'done', 'started'], replays.map((r) =>
      h('tr', { 'data-replay-id': r.id },
        h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => watch(base, r.id, report) }, r.id.slice(0, 8))),
        h('td', {}, short(r.digest)), h('td', {}, r.state), h('td', {}, `${r.progress.done} / ${r.progress.selected}`), h('td', {}, when(r.started_at)))))] : null,
    stages.map((kind) => stage(name, base, plugin, kind, others)));
}

function replayForm(base, plugin, versions, report) {
  const form = h('form', { class: 'replay', 'aria-label': 'Replay' },
    h('h3', {}, 'Replay past orders'),
    field('digest', 'Version', { options: versions }),
    field('workflow', 'Workflow (optional)', { suggestions: plugin.used_by }),
    field('from', 'Placed from (date)', { type: 'date' }),
    field('to', 'Placed to (date, included)', { type: 'date' }),
    field('limit', 'At most', { type: 'number', min: '1', step: '1' }),
    generalProblem(),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Start replay')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const el of form.elements) if (el.name && el.value) body[el.name] = el.value;
    // The API takes instants: a day's start, and the start of the day after the last one.
    if (body.from) body.from = new Date(Date.parse(body.from)).toISOString();
    if (body.to) body.to = new Date(Date.parse(body.to) + DAY).toISOString();
    if (body.limit) body.limit = Number(body.limit);
    try {
      const replay = await api(`${base}/replays`, { method: 'POST', json: body });
      watch(base, replay.id, report);
    } catch (failure) {
      showProblems(form, failure);
    }
  });
  return form;
}

/// Shows replay `id`'s report, asking again every second while it runs.
async function watch(base, id, report) {
  const replay = await attempt(() => api(`${base}/replays/${id}`), 'Reading the replay');
  if (!replay || !report.isConnected) return;
  const r = replay.report;
  const cancel = h('button', { type: 'button', onclick: () => attempt(() => api(`${base}/replays/${id}/cancel`, { method: 'POST' }), 'Cancelling the replay') }, 'Cancel');
  const movers = r.movers.filter((m) => m.difference);
  const fuel = (f) => (f ? `p50 ${f.p50.toLocaleString('en')}, p99 ${f.p99.toLocaleString('en')}` : '—');
  report.replaceChildren(h('div', {},
    h('h3', { 'data-replay-state': replay.state }, `Replay of ${replay.digest.slice(7, 19)}: ${replay.state}, ${replay.progress.done} of ${replay.progress.selected} orders`),
    replay.error ? h('p', { class: 'failure' }, replay.error) : null,
    replay.state === 'running' ? cancel : null,
    h('dl', { class: 'facts' },
      ['compared', 'identical', 'changed', 'refused_now', 'accepted_now', 'faults'].map((k) =>
        h('div', {}, h('dt', {}, k.replace('_', ' ')), h('dd', { 'data-replay': k }, String(r[k])))),
      h('div', {}, h('dt', {}, 'skipped'), h('dd', {}, String(replay.progress.skipped))),
      h('div', {}, h('dt', {}, 'fuel, this version'), h('dd', {}, fuel(r.fuel.candidate))),
      h('div', {}, h('dt', {}, 'fuel, the active one'), h('dd', {}, fuel(r.fuel.active)))),
    r.totals.length ? [h('h4', {}, 'Total differences (this version − the active one)'),
      table(['currency', 'orders', 'sum', 'min', 'p50', 'p95', 'max'], r.totals.map((t) =>
        h('tr', {}, h('th', { scope: 'row' }, t.currency), h('td', { class: 'number' }, String(t.orders)),
          ['sum', 'min', 'p50', 'p95', 'max'].map((k) => h('td', { class: 'number' }, money({ minor: t[k], currency: t.currency }))))))] : null,
    movers.length ? chart({
      id: `replay-${id}`, title: 'The orders that move most: total difference', bars: true,
      // Order numbers end in what tells them apart.
      tick: (number) => `…${number.slice(-5)}`,
      x: movers.map((m) => m.order_number || '?'),
      series: [{ label: 'difference', values: movers.map((m) => m.difference.minor), format: (minor) => money({ minor, currency: movers[0].difference.currency }) }],
    }) : null,
    movers.length ? table(['order', 'before', 'after', 'difference'], movers.map((m) =>
      h('tr', {}, h('th', { scope: 'row' }, m.order_id ? h('a', { href: `#/orders/${m.order_id}` }, m.order_number) : m.order_number || '—'),
        h('td', { class: 'number' }, money(m.before)), h('td', { class: 'number' }, money(m.after)), h('td', { class: 'number' }, money(m.difference))))) : null));
  if (replay.state === 'running') setTimeout(() => watch(base, id, report), POLL_MS);
}

/// Shadow (the version decides beside the active one, unseen) or rollout (it serves a share).
function stage(name, base, plugin, kind, versions) {
  const current = plugin[kind];
  const what = kind === 'shadow' ? 'decides beside the active version, its answers only compared' : 'serves';
  const form = h('form', { class: kind, 'aria-label': kind },
    h('h3', {}, kind === 'shadow' ? 'Shadow' : 'Staged rollout'),
    h('p', { 'data-stage': kind }, current ? `${current.digest.slice(7, 19)} ${what} for ${current.percent} % of decisions.` : 'None.'),
    field('digest', 'Version', { options: versions }),
    field('percent', 'Share of decisions (%)', { type: 'number', min: '1', max: '100', step: '1', required: true }),
    generalProblem(),
    h('div', { class: 'actions' },
      current ? h('button', { type: 'button', onclick: () => stop() }, `Stop the ${kind}`) : null,
      h('button', { type: 'submit', class: 'primary' }, current ? 'Change' : 'Start')));
  const stop = async () => {
    if (await confirmed(`Stop the ${kind} of ${name}?`, `${current.digest} no longer ${what}; ${plugin.digest} alone serves.`, 'Stop')
      && await attempt(() => api(`${base}/${kind}`, { method: 'DELETE' }), `Stopping the ${kind}`)) refresh();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { digest: form.elements.digest.value, percent: Number(form.elements.percent.value) };
    if (!await confirmed(`${kind === 'shadow' ? 'Shadow' : 'Roll out'} ${name}?`, `${body.digest} ${what} for ${body.percent} % of decisions; ${plugin.digest} stays active.`)) return;
    try {
      await api(`${base}/${kind}`, { method: 'POST', json: body });
      notify(`${name}: ${kind} set.`, 'ok');
      refresh();
    } catch (failure) {
      showProblems(form, failure);
    }
  });
  return form;
}
