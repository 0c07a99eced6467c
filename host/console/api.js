// The API as the console calls it: same origin, the admin token from sessionStorage (this
// tab only, gone when it closes), every failure as an ApiFailure carrying the API's error.

const KEY = 'orderflow.console.token';

export const session = {
  token: () => sessionStorage.getItem(KEY),
  keep: (token) => sessionStorage.setItem(KEY, token),
  forget: () => sessionStorage.removeItem(KEY),
};

export class ApiFailure extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `the service answered ${status}`);
    this.status = status;
    this.code = error.code || 'http_' + status;
    this.field = error.field || null;
    this.problems = error.problems || [];
  }
}

/// `json` is sent as JSON; `bytes` with its `type`; `headers` besides. A 401 signs the
/// person out (the token expired or was never valid): the app listens for
/// `console:signed-out`.
export async function api(path, { method = 'GET', json, bytes, type, headers: extra = {} } = {}) {
  const headers = { ...extra };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (bytes !== undefined) {
    headers['Content-Type'] = type;
    body = bytes;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch (e) {
    throw new ApiFailure(0, { error: { code: 'unreachable', message: `the service did not answer (${e.message})` } });
  }
  const text = await response.text();
  const isJson = (response.headers.get('content-type') || '').startsWith('application/json');
  const data = isJson && text ? JSON.parse(text) : text;
  if (!response.ok) {
    const failure = new ApiFailure(response.status, isJson ? data : null);
    if (response.status === 401) {
      window.dispatchEvent(new CustomEvent('console:signed-out', { detail: failure.message }));
    }
    throw failure;
  }
  return data;
}

/// `/metrics` read into samples: `{name, labels, value}`.
export async function metrics() {
  const text = await api('/metrics');
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, k, v] of (match[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

const OUTCOMES = ['decided', 'refused', 'fault'];

/// Per plugin: decided, refused and fault calls, and the fuel histogram's p50 and p99 (the
/// upper bound of the bucket each falls in, as buckets are all the exposition keeps); and
/// the same per version (`versions`, by full digest) where the metrics carry a `version`
/// label, null where they do not (an older service).
export function pluginStats(samples) {
  const stats = {};
  const blank = () => ({ decided: 0, refused: 0, fault: 0, buckets: {} });
  // The plugin's tally, and its version's where the sample names one.
  const of = (labels) => {
    const plugin = (stats[labels.plugin] ||= { ...blank(), versions: null });
    if (labels.version === undefined) return [plugin];
    plugin.versions ||= {};
    return [plugin, (plugin.versions[labels.version] ||= blank())];
  };
  for (const s of samples) {
    if (s.name === 'orderflow_plugin_calls_total' && OUTCOMES.includes(s.labels.outcome)) {
      for (const tally of of(s.labels)) tally[s.labels.outcome] += s.value;
    }
    if (s.name === 'orderflow_plugin_fuel_bucket') {
      for (const { buckets } of of(s.labels)) buckets[s.labels.le] = (buckets[s.labels.le] || 0) + s.value;
    }
  }
  for (const plugin of Object.values(stats)) {
    for (const tally of [plugin, ...Object.values(plugin.versions || {})]) {
      tally.fuel = quantiles(tally.buckets);
      delete tally.buckets;
    }
  }
  return stats;
}

/// p50 and p99 of a histogram's cumulative buckets (`{le: count}`): the upper bound of the
/// first bucket holding that share of the observations; null without any.
function quantiles(buckets) {
  const bound = (le) => (le === '+Inf' ? Infinity : Number(le));
  const bounds = Object.keys(buckets).sort((a, b) => bound(a) - bound(b));
  const total = buckets['+Inf'] || 0;
  const quantile = (q) => {
    if (!total) return null;
    return bound(bounds.find((le) => buckets[le] >= q * total));
  };
  return { p50: quantile(0.5), p99: quantile(0.99) };
}
