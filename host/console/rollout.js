// Replays, shadow and staged rollout of a plugin's versions. Their API is young: every
// call to it and every assumption about its shapes is in this module. Each part shows only
// where the service has it: replays where their route answers (not 404 or 405), shadow and
// rollout where the plugin's description carries a `shadow` or `rollout` field.

import { api } from '/console/api.js';
import { refresh } from '/console/app.js';
import { chart } from '/console/charts.js';
import { attempt, confirmed, digits, field, generalProblem, h, money, notify, short, showProblems, table, when } from '/console/ui.js';

const POLL_MS = 1000;
const DAY = 86_400_000;

/// What each stage does with its version, for its texts.
const STAGES = {
  shadow: { title: 'Shadow', verb: 'Shadow', does: 'decides again, changing nothing,', of: 'new orders', active: 'still decides every order' },
  rollout: { title: 'Staged rollout', verb: 'Roll out', does: 'decides', of: 'customers’ new orders', active: 'decides the rest' },
};

/// The section for plugin `name` (API at `base`), or nothing where the service has none of it.
export async function rollout(name, base, plugin) {
  let replays = null;
  try {
    replays = await api(`${base}/replays`);
  } catch (e) {
    if (e.status !== 404 && e.status !== 405) throw e;
  }
  const stages = Object.keys(STAGES).filter((kind) => kind in plugin);
  if (!replays && !stages.length) return null;
  const others = plugin.versions.filter((v) => !v.active).map((v) => [v.digest, v.digest.slice(7, 19)]);
  const section = h('section', { 'aria-labelledby': 'trying', 'data-rollout': 'true' }, h('h2', { id: 'trying' }, 'Trying a version'));
  if (!others.length && !plugin.shadow && !plugin.rollout) {
    section.append(h('p', { class: 'empty' }, 'Upload a version to try it here.'));
    return section;
  }
  // Replays beside the stages on a wide screen, above them on a narrow one.
  const replaying = h('div', {});
  const staging = h('div', {});
  section.append(h('div', { class: 'columns' }, replaying, staging));
  const report = h('div', { class: 'replay-report', 'aria-live': 'polite' });
  if (replays && others.length) replaying.append(replayForm(base, plugin, others, report), report);
  if (replays && replays.length) {
    replaying.append(h('h3', {}, 'Replays'), table(['replay', 'version', 'state', 'done', 'started'], replays.map((r) =>
      h('tr', { 'data-replay-id': r.id },
        h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => watch(base, r.id, report) }, r.id.slice(0, 8))),
        h('td', {}, short(r.digest)), h('td', {}, r.state), h('td', {}, `${r.progress.done} / ${r.progress.selected}`), h('td', {}, when(r.started_at))))));
  }
  for (const kind of stages) staging.append(await stage(name, base, plugin, kind, others));
  return section;
}

function replayForm(base, plugin, versions, report) {
  const form = h('form', { class: 'replay', 'aria-label': 'Replay' },
    h('h3', {}, 'Replay past orders'),
    field('digest', 'Version', { options: versions }),
    field('workflow', 'Workflow (optional)', { suggestions: plugin.used_by }),
    field('from', 'Placed from (UTC day)', { type: 'date' }),
    field('to', 'Placed to (UTC day, included)', { type: 'date' }),
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
  const cancel = h('button', { type: 'button', onclick: () => attempt(() => api(`${base}/replays/${id}/cancel`, { method: 'POST' }), 'Cancelling the replay') }, 'Cancel');
  report.replaceChildren(h('div', {},
    h('h3', { 'data-replay-state': replay.state }, `Replay of ${replay.digest.slice(7, 19)}: ${replay.state}, ${replay.progress.done} of ${replay.progress.selected} orders`),
    replay.error ? h('p', { class: 'failure' }, replay.error) : null,
    replay.state === 'running' ? cancel : null,
    findings(replay.report, `replay-${id}`, { skipped: replay.progress.skipped })));
  if (replay.state === 'running') setTimeout(() => watch(base, id, report), POLL_MS);
}

/// What a candidate version did differently (a replay's or a shadow's report): the counts,
/// fuel, total differences per currency, and the orders that move most.
function findings(r, id, extra) {
  const movers = r.movers.filter((m) => m.difference);
  const fuel = (f) => (f ? `p50 ${f.p50.toLocaleString('en')}, p99 ${f.p99.toLocaleString('en')}` : '—');
  return h('div', { 'data-findings': id },
    h('dl', { class: 'facts' },
      ['compared', 'identical', 'changed', 'refused_now', 'accepted_now', 'faults'].map((k) =>
        h('div', {}, h('dt', {}, k.replace('_', ' ')), h('dd', { 'data-replay': k }, String(r[k])))),
      Object.entries(extra).map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, String(v)))),
      h('div', {}, h('dt', {}, 'fuel, this version'), h('dd', {}, fuel(r.fuel.candidate))),
      h('div', {}, h('dt', {}, 'fuel, the active one'), h('dd', {}, fuel(r.fuel.active)))),
    r.totals.length ? [h('h4', {}, 'Total differences (this version − the active one)'),
      table(['currency', 'orders', 'sum', 'min', 'p50', 'p95', 'max'], r.totals.map((t) =>
        h('tr', {}, h('th', { scope: 'row' }, t.currency), h('td', { class: 'number' }, String(t.orders)),
          ['sum', 'min', 'p50', 'p95', 'max'].map((k) => h('td', { class: 'number' }, money({ minor: t[k], currency: t.currency }))))))] : null,
    movers.length ? chart({
      id: `${id}-movers`, title: 'The orders that move most: total difference', bars: true,
      xTitle: 'order', yTitle: `difference (${movers[0].difference.currency})`,
      // Order numbers end in what tells them apart.
      tick: (number) => `…${number.slice(-5)}`,
      x: movers.map((m) => m.order_number || '?'),
      series: [{ label: 'difference', values: movers.map((m) => m.difference.minor), format: (minor) => money({ minor, currency: movers[0].difference.currency }), scale: (minor) => minor / 10 ** digits(movers[0].difference.currency) }],
    }) : null,
    movers.length ? table(['order', 'before', 'after', 'difference'], movers.map((m) =>
      h('tr', {}, h('th', { scope: 'row' }, m.order_id ? h('a', { href: `#/orders/${m.order_id}` }, m.order_number) : m.order_number || '—'),
        h('td', { class: 'number' }, money(m.before)), h('td', { class: 'number' }, money(m.after)), h('td', { class: 'number' }, money(m.difference))))) : null);
}

/// A stage (shadow or rollout): what is staged, what a shadow found so far, and the form
/// to stage a version or change its share, or to end it.
async function stage(name, base, plugin, kind, versions) {
  const { title, verb, does, of, active } = STAGES[kind];
  const current = plugin[kind];
  // A shadow's findings so far, over every replica's orders.
  const seen = kind === 'shadow' && current ? await api(`${base}/shadow`) : null;
  const form = h('form', { class: kind, 'aria-label': title },
    h('h3', {}, title),
    h('p', { 'data-stage': kind }, current ? `${current.digest.slice(7, 19)} ${does} ${current.percent} % of ${of}.` : 'None.'),
    seen && seen.observed ? [h('p', { class: 'hint' }, `Since ${when(seen.observed.since)}, on ${seen.observed.replicas.join(', ')}; ${seen.observed.dropped} orders not kept up with.`), findings(seen.observed.report, 'shadow', {})] : null,
    versions.length ? [
      field('digest', 'Version', { options: versions }),
      field('percent', 'Share (%)', { type: 'number', min: '1', max: '100', step: '1', required: true, value: current ? String(current.percent) : null }),
    ] : null,
    generalProblem(),
    h('div', { class: 'actions' },
      current ? h('button', { type: 'button', 'data-end': kind, onclick: () => end() }, `End the ${kind}`) : null,
      versions.length ? h('button', { type: 'submit', class: 'primary' }, current ? 'Change' : 'Start') : null));
  const end = async () => {
    if (await confirmed(`End the ${kind} of ${name}?`, `${current.digest} no longer ${does} any of ${of}; ${plugin.digest} alone decides them.`, 'End')
      && await attempt(() => api(`${base}/${kind}`, { method: 'DELETE' }), `Ending the ${kind}`)) refresh();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { digest: form.elements.digest.value, percent: Number(form.elements.percent.value) };
    if (!await confirmed(`${verb} ${name}?`, `${body.digest} ${does} ${body.percent} % of ${of}; ${plugin.digest} ${active}.`, verb)) return;
    try {
      await api(`${base}/${kind}`, { method: 'POST', json: body });
      notify(`${name}: ${kind} at ${body.percent} %.`, 'ok');
      refresh();
    } catch (failure) {
      showProblems(form, failure);
    }
  });
  return form;
}
