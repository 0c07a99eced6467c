// Plugin calls per hour, as `GET /api/v1/plugins` gives each plugin's (`hourly`: the live
// replicas' last 48 hours by outcome, the hours without calls left out), charted hour by
// hour with those hours as zero.

import { chart } from '/console/charts.js';
import { h, when } from '/console/ui.js';

const HOUR = 3_600_000;
/// The hours the API keeps.
export const HOURS = 48;

/// An hour's start as the API writes it: `2026-12-06T14:00:00Z`.
export const hourKey = (t) => new Date(t).toISOString().replace('.000Z', 'Z');

/// Who counted the calls per hour, and since when: the live replicas (`/health`'s
/// `replicas`, when the service has several) or the one that answered; `started` is the
/// earliest start among them (milliseconds, NaN if unknown), `since` says it in words.
export function counters(health) {
  const live = health.replicas || [];
  const counting = live.length ? live : health.replica ? [health.replica] : [];
  const started = Math.min(...counting.map((r) => Date.parse(r.started_at)));
  return {
    who: live.length > 1 ? `the ${live.length} live replicas` : 'the replica that answered',
    started,
    since: Number.isFinite(started) && Date.now() - started < HOURS * HOUR
      ? `since ${when(new Date(started).toISOString())}` : `over the last ${HOURS} hours`,
  };
}

/// The hours to chart, as milliseconds: from the later of 47 hours before this one and the
/// hour the replica started in (`started`, milliseconds, if known) to this hour, stretched
/// to hold every hour of `hours` (this browser's clock is not the service's).
function axis(hours, started) {
  const now = Math.floor(Date.now() / HOUR) * HOUR;
  let first = now - (HOURS - 1) * HOUR;
  if (Number.isFinite(started)) first = Math.max(first, Math.floor(started / HOUR) * HOUR);
  let last = now;
  for (const { hour } of hours) {
    const t = Date.parse(hour);
    first = Math.min(first, t);
    last = Math.max(last, t);
  }
  const out = [];
  for (let t = first; t <= last; t += HOUR) out.push(t);
  return out;
}

/// Two charts of `hourly` (one plugin's, or several plugins' concatenated, summed hour by
/// hour): refusals and faults side by side, and the calls that decided. Their tables name
/// each hour by its start as the API does (`data-x`), their series `refused`, `faults` and
/// `decided`.
export function hourlyCharts(id, hourly, started) {
  const hours = axis(hourly, started);
  const sums = new Map(hours.map((t) => [t, { decided: 0, refused: 0, faults: 0 }]));
  for (const hour of hourly) {
    const sum = sums.get(Date.parse(hour.hour));
    for (const k of ['decided', 'refused', 'faults']) sum[k] += hour[k];
  }
  const values = (k) => hours.map((t) => sums.get(t)[k]);
  const shared = {
    // Every hour of the console is a UTC hour, as its days are.
    x: hours.map((t) => `${hourKey(t).slice(0, 10)} ${hourKey(t).slice(11, 16)} UTC`),
    keys: hours.map(hourKey),
    tick: (_, i) => hourKey(hours[i]).slice(11, 16),
    xTitle: 'hour starting (UTC)',
    yTitle: 'calls',
    bars: true,
    counts: true,
  };
  return h('div', { class: 'charts' },
    chart({
      ...shared, id: `${id}-faults-per-hour`, title: 'Refusals and faults per hour', legend: true,
      series: [{ label: 'refusals', key: 'refused', values: values('refused') }, { label: 'faults', values: values('faults') }],
    }),
    chart({
      ...shared, id: `${id}-decided-per-hour`, title: 'Decided calls per hour', legend: true,
      series: [{ label: 'decided calls', key: 'decided', values: values('decided') }],
    }));
}
