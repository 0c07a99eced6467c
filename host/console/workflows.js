// Workflows: each one's plugins and its order and payment state machines, as its
// lifecycle plugin describes them (status/options), laid out by dagre and drawn as SVG.

import dagre from '/console/vendor/dagre-3.1.4/dagre.esm.js';
import { api } from '/console/api.js';
import { h, scrolling, short, table } from '/console/ui.js';

const SVG = 'http://www.w3.org/2000/svg';
/// The moves' labels' size (style.css: `svg.machine .move-label`), the smallest text of a
/// graph, and the least it may be shrunk to on a narrow screen: a wider graph scrolls.
const LABEL_PX = 12;
const LEAST_PX = 11;

export async function render(page) {
  const workflows = await api('/api/v1/workflows');
  page.append(h('h1', {}, 'Workflows'));
  for (const w of workflows) {
    // The default workflow has no channel: options without one describe it.
    const channel = w.channels[0];
    const options = await api(`/api/v1/orders/status/options${channel ? `?sales_channel=${encodeURIComponent(channel)}` : ''}`);
    const machine = options.workflow === w.name ? options : null;
    page.append(h('section', { class: 'workflow', 'data-workflow': w.name, 'aria-labelledby': `workflow-${w.name}` },
      h('h2', { id: `workflow-${w.name}` }, w.name),
      h('p', {}, w.description || ''),
      h('p', { class: 'hint' }, `Channels: ${w.channels.join(', ') || 'none (the default workflow takes orders without one)'}; file ${w.source}, `, short(w.digest)),
      w.last_error ? h('p', { class: 'failure' }, `Last load error: ${w.last_error}`) : null,
      table(['decision', 'plugin', 'version'], w.plugins.map((p) =>
        h('tr', {}, h('th', { scope: 'row' }, p.kind), h('td', {}, h('a', { href: `#/plugins/${p.plugin}` }, p.plugin)), h('td', {}, short(p.digest))))),
      machine
        ? h('div', { class: 'columns' },
          graph('Order status', machine.statuses, machine.status_edges, machine.final_statuses),
          graph('Payment status', machine.payment_statuses, machine.payment_edges, []))
        : h('p', { class: 'empty' }, 'Its state machine cannot be looked up: it has no sales channel and is not the default workflow.')));
  }
}

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/// A state machine: states as boxes (final ones doubled), moves as arrows labelled with
/// who may make them; the same moves listed as text for those who cannot see the drawing.
function graph(title, states, edges, finals) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 40, edgesep: 12, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const s of states) g.setNode(s, { label: s, width: s.length * 8 + 28, height: 32 });
  edges.forEach((e, i) => g.setEdge(e.from, e.to, { label: e.roles.join(', '), width: e.roles.join(', ').length * 7, height: 16, labelpos: 'c' }, `e${i}`));
  dagre.layout(g);
  const { width, height } = g.graph();
  const id = `arrow-${title.replace(/\W/g, '')}`;
  // Drawn at its own size, and shrunk to fit a narrower screen, never blown up, nor shrunk
  // so far that its labels go under LEAST_PX: then it scrolls sideways.
  const drawing = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'machine', role: 'img', 'aria-label': `${title}: ${states.length} states, ${edges.length} moves`, 'data-states': String(states.length), 'data-moves': String(edges.length) });
  drawing.style.minWidth = `${Math.ceil((width * LEAST_PX) / LABEL_PX)}px`;
  const marker = svg('marker', { id, viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }));
  const defs = svg('defs');
  defs.append(marker);
  drawing.append(defs);
  for (const e of g.edges()) {
    const edge = g.edge(e);
    const d = edge.points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' ');
    drawing.append(svg('path', { d, class: 'move', 'marker-end': `url(#${id})` }));
    drawing.append(svg('text', { x: edge.x, y: edge.y + 4, class: 'move-label', 'text-anchor': 'middle' }, edge.label));
  }
  for (const s of states) {
    const n = g.node(s);
    const box = svg('g', { class: `state${finals.includes(s) ? ' final' : ''}`, 'data-state': s });
    box.append(svg('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 6 }));
    if (finals.includes(s)) box.append(svg('rect', { x: n.x - n.width / 2 + 3, y: n.y - n.height / 2 + 3, width: n.width - 6, height: n.height - 6, rx: 4 }));
    box.append(svg('text', { x: n.x, y: n.y + 5, 'text-anchor': 'middle' }, s));
    drawing.append(box);
  }
  return h('figure', { class: 'graph' },
    h('figcaption', {}, title),
    scrolling(drawing),
    h('details', {}, h('summary', {}, 'Moves as text'),
      h('ul', {}, edges.map((e) => h('li', {}, `${e.from} → ${e.to} (${e.roles.join(', ')})`)))));
}
