// Overview: orders and revenue per day over a chosen range (admin/stats), counts by status
// and payment status, the event backlog and relay (/health), plugin refusals and faults per
// hour (/api/v1/plugins).

import { api } from '/console/api.js';
import { chart } from '/console/charts.js';
import { counters, hourlyCharts } from '/console/hours.js';
import { digits, h, money, table } from '/console/ui.js';

const DAY = 86_400_000;
/// Revenue per day is one stats call a day: longer ranges are refused rather than sent as
/// hundreds of calls.
const MAX_DAYS = 92;

const iso = (t) => new Date(t).toISOString().slice(0, 10);
/// What a day's axis tick says: `12-07` (the table under the chart has the whole date).
const monthDay = (day) => day.slice(5);

export async function render(page, query) {
  const to = query.get('to') || iso(Date.now());
  const from = query.get('from') || iso(Date.parse(to) - 29 * DAY);
  const range = h('form', { class: 'filters', 'aria-label': 'Range' },
    h('div', { class: 'field' }, h('label', { for: 'from' }, 'From (UTC day)'), h('input', { id: 'from', name: 'from', type: 'date', value: from, required: true })),
    h('div', { class: 'field' }, h('label', { for: 'to' }, 'To (UTC day, included)'), h('input', { id: 'to', name: 'to', type: 'date', value: to, required: true })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Show')));
  range.addEventListener('submit', (e) => {
    e.preventDefault();
    window.location.hash = `#/overview?from=${range.elements.from.value}&to=${range.elements.to.value}`;
  });
  page.append(h('h1', {}, 'Overview'), range);
  const days = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY) days.push(iso(t));
  if (!days.length || days.length > MAX_DAYS) {
    page.append(h('p', { class: 'failure', role: 'alert' }, `Choose a range of 1 to ${MAX_DAYS} days, from before to.`));
    return;
  }
  const [stats, perDay, health, plugins] = await Promise.all([
    api(`/api/v1/orders/admin/stats?from=${from}&to=${to}`),
    revenuePerDay(days),
    api('/health').catch((e) => ({ unavailable: e.message })),
    api('/api/v1/plugins'),
  ]);
  const counts = Object.fromEntries(stats.per_day.map((d) => [d.day, d.orders]));
  const currencies = [...new Set(perDay.flatMap((s) => s.revenue.map((m) => m.currency)))].sort();
  page.append(
    h('section', { class: 'tiles', 'aria-label': 'Totals' },
      tile('Orders', String(stats.orders), { total: stats.orders }),
      stats.revenue.map((m) => tile(`Revenue (paid, ${m.currency})`, money(m), { revenue: m.minor, currency: m.currency })),
      stats.average_order_value.map((m) => tile(`Average paid order (${m.currency})`, money(m), {}))),
    h('div', { class: 'charts' },
      chart({
        id: 'orders-per-day', title: 'Orders per day', x: days, bars: true, counts: true, tick: monthDay,
        xTitle: 'day (UTC)', yTitle: 'orders', legend: true,
        series: [{ label: 'orders placed', key: 'orders', values: days.map((d) => counts[d] || 0) }],
      }),
      chart({
        id: 'revenue-per-day', title: 'Revenue per day (paid orders)', x: days, legend: true, tick: monthDay,
        xTitle: 'day (UTC)',
        yTitle: currencies.length === 1 ? `revenue (${currencies[0]})` : 'revenue (in each currency)',
        empty: stats.orders ? 'No paid orders in this range.' : 'No orders in this range.',
        series: currencies.map((currency) => ({
          label: currency,
          values: perDay.map((s) => (s.revenue.find((m) => m.currency === currency) || { minor: 0 }).minor),
          format: (minor) => money({ minor, currency }),
          scale: (minor) => minor / 10 ** digits(currency),
        })),
      })),
    h('div', { class: 'columns' },
      countTable('By status', 'status', stats.by_status),
      countTable('By payment status', 'payment', stats.by_payment_status)),
    events(health),
    pluginCalls(plugins, health));
}

function tile(label, value, data) {
  return h('div', { class: 'tile', data }, h('span', { class: 'label' }, label), h('strong', {}, value));
}

/// Each day's revenue per currency: admin/stats for that one day.
async function revenuePerDay(days) {
  const out = new Array(days.length);
  let next = 0;
  // A few at a time: the browser queues the rest anyway, and the service serves others.
  const worker = async () => {
    while (next < days.length) {
      const i = next++;
      out[i] = await api(`/api/v1/orders/admin/stats?from=${days[i]}&to=${days[i]}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return out;
}

function countTable(title, kind, counts) {
  const rows = Object.entries(counts).map(([name, n]) =>
    h('tr', {}, h('th', { scope: 'row' }, h('a', { href: `#/orders?${kind === 'status' ? 'status' : 'payment_status'}=${encodeURIComponent(name)}` }, name)),
      h('td', { 'data-count': kind, 'data-name': name, 'data-value': String(n) }, String(n))));
  return h('section', {}, h('h2', {}, title), rows.length ? table([kind === 'status' ? 'status' : 'payment status', 'orders'], rows) : h('p', { class: 'empty' }, 'No orders in this range.'));
}

function events(health) {
  if (health.unavailable) {
    return h('section', {}, h('h2', {}, 'Events'), h('p', { class: 'failure' }, `/health did not answer: ${health.unavailable}`));
  }
  const relay = health.events.relay || {};
  const details = Object.entries(relay).filter(([k]) => k !== 'state').map(([k, v]) =>
    h('div', {}, h('dt', {}, k.replaceAll('_', ' ')), h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))));
  return h('section', {}, h('h2', {}, 'Events'),
    h('dl', { class: 'facts' },
      h('div', {}, h('dt', {}, 'Waiting in the outbox'), h('dd', { 'data-backlog': String(health.events.backlog) }, String(health.events.backlog))),
      h('div', {}, h('dt', {}, 'Oldest waiting'), h('dd', {}, health.events.oldest_age_seconds == null ? '—' : `${Math.round(health.events.oldest_age_seconds)} s`)),
      h('div', {}, h('dt', {}, 'Relay'), h('dd', { 'data-relay': relay.state || 'unknown' }, relay.state === 'disabled' ? 'off (Kafka is not enabled): events are not published' : relay.state || 'unknown')),
      details));
}

/// Plugin refusals and faults per hour over the last 48 hours of the live replicas, summed
/// over plugins, and each plugin's over those hours.
function pluginCalls(plugins, health) {
  const { who, started, since } = counters(health);
  const sum = (p, k) => p.hourly.reduce((n, hour) => n + hour[k], 0);
  const rows = plugins.filter((p) => p.hourly.length).map((p) =>
    h('tr', { 'data-plugin': p.name },
      h('th', { scope: 'row' }, h('a', { href: `#/plugins/${p.name}` }, p.name)),
      ['refused', 'faults', 'decided'].map((k) => h('td', { class: 'number', [`data-${k}`]: String(sum(p, k)) }, String(sum(p, k))))));
  return h('section', { 'aria-labelledby': 'plugin-calls' }, h('h2', { id: 'plugin-calls' }, 'Plugin refusals and faults'),
    h('p', { class: 'hint' }, `Counted by ${who}, ${since}.`),
    hourlyCharts('plugins', plugins.flatMap((p) => p.hourly), started),
    rows.length ? table(['plugin', 'refused', 'faults', 'decided'], rows) : h('p', { class: 'empty' }, `No plugin has been called ${since}.`));
}
