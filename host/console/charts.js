// Charts drawn by uPlot (vendored), each with the numbers it draws in a table beside it:
// readable without the picture, by keyboard and screen reader, and by the browser tests.

import uPlot from '/console/vendor/uplot-1.6.32/uPlot.esm.js';
import { h, table } from '/console/ui.js';

/// The plot's height in CSS pixels, axes included (the legend is below it).
const HEIGHT = 220;
const COLOURS = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2'];
/// The axis's steps for whole numbers: 1, 2, 5, 10, 20, 50, …
const COUNT_STEPS = Array.from({ length: 30 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));

/// `x`: the labels of the points (days as `YYYY-MM-DD`, or any text); `keys`: what the
/// table's cells name each point by (`data-x`), the labels unless given; `series`: `[{label,
/// key, values, format, scale}]`, `label` the series' name for people (in the legend and
/// the table's heading), `key` its name for the tests (`data-series`, the label unless
/// given), values as the API gives them (minor units for money), `format` how one is
/// written for people, `scale` what the axis shows of it (major units); `xTitle` and
/// `yTitle` the axes' titles, with their units; `tick` what the axis writes of the label of
/// point `i` (the table has them whole); `counts`: the values are whole numbers, and so are
/// the axis's steps; `empty`: what the figure says instead of a chart when there is no
/// series or no point. Bars of two series stand side by side (more would overlap).
export function chart({ title, x, keys = x, series, bars = false, counts = false, legend = series.length > 1, tick = (label) => label, xTitle, yTitle, empty = 'Nothing in this range.', id }) {
  const figure = h('figure', { class: 'chart', id, 'data-chart': id, 'data-x-title': xTitle, 'data-y-title': yTitle });
  const plot = h('div', { class: 'plot', role: 'img', 'aria-label': `${title}: chart of ${yTitle} by ${xTitle}; the numbers are in the table below` });
  const key = (s) => s.key || s.label;
  const rows = x.map((label, i) =>
    h('tr', {}, h('th', { scope: 'row' }, label),
      series.map((s) => h('td', { 'data-series': key(s), 'data-x': keys[i], 'data-value': String(s.values[i]) },
        s.format ? s.format(s.values[i]) : String(s.values[i])))));
  figure.append(h('figcaption', {}, title), plot);
  if (!x.length || !series.length) {
    plot.removeAttribute('role');
    plot.removeAttribute('aria-label');
    plot.append(h('p', { class: 'empty' }, empty));
    figure.dataset.empty = 'true';
    return figure;
  }
  figure.append(
    h('details', {}, h('summary', {}, 'Numbers'),
      table([xTitle, ...series.map((s) => s.label)], rows, { class: 'data' })));
  const xs = x.map((_, i) => i);
  const options = {
    height: HEIGHT,
    // The series' names and colours only: the numbers are in the table.
    legend: { show: legend, live: false },
    // Room on the right for the last point's label, centred under it.
    padding: [null, 24, null, null],
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
      { label: xTitle, labelSize: 24, values: (_, ticks) => ticks.map((t) => (Number.isInteger(t) && t in x ? tick(x[t], t) : '')) },
      { label: yTitle, labelSize: 24, size: 56, incrs: counts ? COUNT_STEPS : undefined },
    ],
    series: [{ label: xTitle }, ...series.map((s, i) => ({
      label: s.label,
      stroke: COLOURS[i % COLOURS.length],
      fill: bars ? COLOURS[i % COLOURS.length] + '88' : undefined,
      width: 2,
      paths: bars ? uPlot.paths.bars(series.length === 2 ? { size: [0.35, 24], align: i ? 1 : -1 } : { size: [0.6, 40] }) : undefined,
      points: { show: !bars },
    }))],
  };
  const data = [xs, ...series.map((s) => s.values.map(s.scale || ((v) => v)))];
  // Drawn at its box's width once the figure is in the page and has one, and again each
  // time that width changes (the window, a column, a phone turned). The work is left to
  // the next frame: drawing changes the box's height, which the observer would otherwise
  // report within its own notification.
  let drawn = null;
  let width = 0;
  const draw = () => {
    if (!plot.isConnected || !plot.clientWidth || plot.clientWidth === width) return;
    width = plot.clientWidth;
    if (drawn) {
      drawn.setSize({ width, height: HEIGHT });
    } else {
      drawn = new uPlot({ ...options, width }, data, plot);
      // The legend is the picture's (the plot is an image): its names head the table.
      plot.querySelector('.u-legend')?.setAttribute('aria-hidden', 'true');
      figure.dataset.drawn = 'true';
    }
    figure.dataset.width = String(width);
  };
  new ResizeObserver(() => requestAnimationFrame(draw)).observe(plot);
  return figure;
}
