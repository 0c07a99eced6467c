// Charts drawn by uPlot (vendored), each with the numbers it draws in a table beside it:
// readable without the picture, by keyboard and screen reader, and by the browser tests.

import uPlot from '/console/vendor/uplot-1.6.32/uPlot.esm.js';
import { h } from '/console/ui.js';

const COLOURS = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2'];

/// `x`: the labels of the points (days as `YYYY-MM-DD`, or any text); `series`: `[{label,
/// values, format, scale}]`, values as the API gives them (minor units for money), `format`
/// how one is written for people, `scale` what the axis shows of it (major units); `tick`
/// what the axis writes of a label (the table has them whole).
export function chart({ title, x, series, bars = false, legend = series.length > 1, tick = (label) => label, id }) {
  const figure = h('figure', { class: 'chart', id, 'data-chart': id });
  const plot = h('div', { class: 'plot', role: 'img', 'aria-label': `${title}: chart; the numbers are in the table below` });
  const rows = x.map((label, i) =>
    h('tr', {}, h('th', { scope: 'row' }, label),
      series.map((s) => h('td', { 'data-series': s.label, 'data-x': label, 'data-value': String(s.values[i]) },
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
      // Bars grow from zero, whichever side of it they end.
      y: { range: (_, min, max) => (min === max ? [Math.min(0, min) - 1, Math.max(0, max) + 1] : [Math.min(0, min), Math.max(0, max)]) },
    } : { x: { time: false } },
    axes: [
      { values: (_, ticks) => ticks.map((t) => (Number.isInteger(t) && t in x ? tick(x[t]) : '')) },
      { size: 60 },
    ],
    series: [{}, ...series.map((s, i) => ({
      label: s.label,
      stroke: COLOURS[i % COLOURS.length],
      fill: bars ? COLOURS[i % COLOURS.length] + '88' : undefined,
      width: 2,
      paths: bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined,
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
