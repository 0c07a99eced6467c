// Charts drawn by uPlot (vendored), each with the numbers it draws in a table beside it:
// readable without the picture, by keyboard and screen reader, and by the browser tests.

import uPlot from '/console/vendor/uplot-1.6.32/uPlot.esm.js';
import { h } from '/console/ui.js';

const COLOURS = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2'];
/// The axis's steps for whole numbers: 1, 2, 5, 10, 20, 50, …
const COUNT_STEPS = Array.from({ length: 30 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));

/// `x`: the labels of the points (days as `YYYY-MM-DD`, or any text); `keys`: what the
/// table's cells name each point by (`data-x`), the labels unless given; `series`: `[{label,
/// values, format, scale}]`, values as the API gives them (minor units for money), `format`
/// how one is written for people, `scale` what the axis shows of it (major units); `tick`
/// what the axis writes of the label of point `i` (the table has them whole); `counts`: the
/// values are whole numbers, and so are the axis's steps. Bars of two series stand side by
/// side (more would overlap).
export function chart({ title, x, keys = x, series, bars = false, counts = false, legend = series.length > 1, tick = (label) => label, id }) {
  const figure = h('figure', { class: 'chart', id, 'data-chart': id });
  const plot = h('div', { class: 'plot', role: 'img', 'aria-label': `${title}: chart; the numbers are in the table below` });
  const rows = x.map((label, i) =>
    h('tr', {}, h('th', { scope: 'row' }, label),
      series.map((s) => h('td', { 'data-series': s.label, 'data-x': keys[i], 'data-value': String(s.values[i]) },
        s.format ? s.format(s.values[i]) : String(s.values[i])))));
  figure.append(
    h('figcaption', {}, title),
    plot,
    h('details', {}, h('summary', {}, 'Numbers'),
      h('div', { class: 'scroll' }, h('table', { class: 'data' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), series.map((s) => h('th', { scope: 'col' }, s.label)))),
        h('tbody', {}, rows)))));
  if (!x.length) {
    plot.append(h('p', { class: 'empty' }, 'Nothing in this range.'));
    return figure;
  }
  const xs = x.map((_, i) => i);
  const options = {
    width: 300,
    height: 220,
    legend: { show: legend },
    cursor: { drag: { x: false, y: false } },
    // Bars are centred on their point: half a bar's room at either end.
    scales: bars ? {
      x: { time: false, range: [-0.5, x.length - 0.5] },
      // Bars grow from zero, whichever side of it they end; all zero, the axis is 0 to 1.
      y: {
        range: (_, min, max) => {
          const [low, high] = [Math.min(0, min ?? 0), Math.max(0, max ?? 0)];
          return low === high ? [0, 1] : [low, high];
        },
      },
    } : { x: { time: false } },
    axes: [
      { values: (_, ticks) => ticks.map((t) => (Number.isInteger(t) && t in x ? tick(x[t], t) : '')) },
      { size: 60, incrs: counts ? COUNT_STEPS : undefined },
    ],
    series: [{}, ...series.map((s, i) => ({
      label: s.label,
      stroke: COLOURS[i % COLOURS.length],
      fill: bars ? COLOURS[i % COLOURS.length] + '88' : undefined,
      width: 2,
      paths: bars ? uPlot.paths.bars(series.length === 2 ? { size: [0.35, 24], align: i ? 1 : -1 } : { size: [0.6, 40] }) : undefined,
      points: { show: !bars },
    }))],
  };
  const data = [xs, ...series.map((s) => s.values.map(s.scale || ((v) => v)))];
  // Drawn once the figure is in the page and has a width; redrawn when that width changes.
  requestAnimationFrame(() => {
    const size = () => ({ width: Math.max(240, plot.clientWidth), height: 220 });
    const u = new uPlot({ ...options, ...size() }, data, plot);
    const resized = () => (plot.isConnected ? u.setSize(size()) : window.removeEventListener('resize', resized));
    window.addEventListener('resize', resized);
    figure.dataset.drawn = 'true';
  });
  return figure;
}
