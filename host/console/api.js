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

/// `json` is sent as JSON; `bytes` with its `type`. A 401 signs the person out (the token
/// expired or was never valid): the app listens for `console:signed-out`.
export async function api(path, { method = 'GET', json, bytes, type } = {}) {
  const headers = {};
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

/// Per plugin: decided, refused and fault calls, and the fuel histogram's p50 and p99 (the
/// upper bound of the bucket each falls in, as buckets are all the exposition keeps).
export function pluginStats(samples) {
  const stats = {};
  const of = (plugin) => (stats[plugin] ||= { decided: 0, refused: 0, fault: 0, buckets: {} });
  for (const s of samples) {
    if (s.name === 'orderflow_plugin_calls_total') of(s.labels.plugin)[s.labels.outcome] += s.value;
    if (s.name === 'orderflow_plugin_fuel_bucket') {
      const buckets = of(s.labels.plugin).buckets;
      buckets[s.labels.le] = (buckets[s.labels.le] || 0) + s.value;
    }
  }
  for (const plugin of Object.values(stats)) {
    const bounds = Object.keys(plugin.buckets).sort((a, b) => Number(a) - Number(b));
    const total = plugin.buckets['+Inf'] || 0;
    const quantile = (q) => {
      if (!total) return null;
      const bound = bounds.find((le) => plugin.buckets[le] >= q * total);
      return bound === '+Inf' ? Infinity : Number(bound);
    };
    plugin.fuel = { p50: quantile(0.5), p99: quantile(0.99) };
    delete plugin.buckets;
  }
  return stats;
}
