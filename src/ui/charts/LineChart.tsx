// A training curve chart: one or more metric series of the run (x = step), drawn by uPlot (see UPlotView.tsx for
// why uPlot), redrawn when the run store's `version` moves (at most ~10 times a second) — never per record.
// Optional EMA smoothing: the raw series faint, the smoothed one on top (one legend entry for both: "smoothed (raw
// x)"). Hovering shows the values at the cursor (uPlot's live legend); a visually hidden sentence gives screen readers
// the latest values. During a sweep every run the store keeps that has points here is drawn too, in its own colour
// and under its label (./runs.ts), the current run on top; what is drawn of a kept run is made once, not on every
// update (./kept.ts), and the current run's smoothing and padding go on from the last update's (./growing.ts).
import { useId, useMemo, useState } from 'react';
import uPlot from 'uplot';
import { METRICS, type Stage } from '../../rlhf/metrics';
import { type MetricSeries, type RunStore, useRunStore } from '../../store/run';
import '../run.css';
import { formatValue } from './format';
import { padGrowing, smoothGrowing } from './growing';
import { keptSeries, lastFor, rangeWithKept } from './kept';
import { type ChartRun, chartRuns, KEPT_LINE_WIDTH, LEGEND_MARKERS, LINE_DASHES, runName } from './runs';
import { UPlotView } from './UPlotView';

export interface ChartLine {
  /** A metric name (src/rlhf/metrics.ts). */
  metric: string;
  /** The stage whose values to draw (steps restart in each stage). */
  stage: Stage;
  /** Legend label; METRICS[metric].label by default. */
  label?: string;
  color: string;
  /** Which y axis: left (default) or right, for a second unit on the same chart. */
  axis?: 'left' | 'right';
}

export interface LineChartProps {
  /** Shown above the chart and used as its accessible name. */
  title: string;
  /** Keep the array stable: uPlot's series are fixed once created, so a new array makes a new chart. */
  lines: readonly ChartLine[];
  store?: RunStore;
  xLabel?: string;
  /** Offer the EMA smoothing slider (0…0.99). */
  smoothing?: boolean;
  initialSmoothing?: number;
  height?: number;
  onCreate?: (plot: uPlot) => void;
}

export const labelOf = (line: ChartLine) => line.label ?? (METRICS as Record<string, { label: string } | undefined>)[line.metric]?.label ?? line.metric;

/** `color` (#rrggbb) at opacity `alpha`. */
export function fade(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return color;
  return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${alpha})`;
}

/** Whether `a` is `b`'s first a.length values (a run's steps so far against a longer run's). */
const isPrefix = (a: Float64Array, b: Float64Array) => {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** isPrefix for a kept run's x values (they never change): checked once against the same longest x. */
const isPrefixOnce = lastFor(isPrefix);

/**
 * uPlot's aligned data for the views (one per drawn line): when every view's x values begin the longest one's
 * (metrics logged in the same records, or a sweep's current run behind its kept runs: the usual cases), that x with
 * the series' own arrays, shorter ones padded with gaps; otherwise joined on the union of x values. With smoothing,
 * each view contributes two y series: raw, then smoothed. Smoothing and padding go on from the last update's
 * (./growing.ts); the first `kept` views are a sweep's kept runs' (their x values are checked once).
 */
export function chartData(views: readonly { x: Float64Array; y: Float64Array }[], smoothing: number | undefined, kept = 0): uPlot.AlignedData {
  const ys = (y: Float64Array) => (smoothing === undefined ? [y] : [y, smoothGrowing(y, smoothing)]);
  if (views.length === 0) return [new Float64Array(0)];
  const x = views.reduce((longest, v) => (v.x.length > longest.length ? v.x : longest), views[0].x);
  if (views.every((v, i) => (i < kept ? isPrefixOnce : isPrefix)(v.x, x))) {
    const aligned: uPlot.AlignedData = [x, ...views.flatMap((v) => ys(v.y).map((y) => padGrowing(y, x.length)))];
    return aligned;
  }
  return uPlot.join(views.map((v) => [v.x, ...ys(v.y)] as uPlot.AlignedData));
}

export function LineChart({ title, lines, store = useRunStore, xLabel = 'step', smoothing = false, initialSmoothing = 0.6, height = 200, onCreate }: LineChartProps) {
  const version = store((s) => s.version);
  const series = store((s) => s.series);
  const kept = store((s) => s.keptRuns);
  const runLabel = store((s) => s.runLabel);
  const [alpha, setAlpha] = useState(initialSmoothing);
  const sliderId = useId();

  // A kept run with no points on this chart is left out of it (the KL sweep's runs 2 and 3 reuse run 1's SFT model: no
  // SFT curve of their own). The current run always stays: a chart made again when its first points come would be
  // ten charts made in one task as a stage starts.
  const runs = useMemo(
    () => chartRuns(kept, runLabel, series, (k) => k.series).filter((run) => run.current || lines.some((l) => run.data.get(l.metric, l.stage).x.length > 0)),
    [kept, runLabel, series, lines],
  );
  // One view per run and line, kept runs first (the order of chartOptions' series). The kept runs' views are taken
  // once: the same arrays on every update let what is made of them be made once too.
  const keptViews = useMemo(() => runs.filter((run) => !run.current).flatMap((run) => lines.map((l) => run.data.get(l.metric, l.stage))), [runs, lines]);
  const views = useMemo(
    () => [...keptViews, ...runs.filter((run) => run.current).flatMap((run) => lines.map((l) => run.data.get(l.metric, l.stage)))],
    // `version` is the signal that the series (outside React state) changed.
    [keptViews, runs, lines, version],
  );
  const data = useMemo(() => chartData(views, smoothing ? alpha : undefined, keptViews.length), [views, smoothing, alpha, keptViews]);
  // A new set of runs (one kept, or cleared) makes a new chart.
  const options = useMemo(() => chartOptions(lines, runs, xLabel, smoothing), [lines, runs, xLabel, smoothing]);

  const latest = runs
    .flatMap((run, r) =>
      lines.map((l, i) => {
        const v = views[r * lines.length + i];
        return v.y.length ? `${runName(run.label, labelOf(l))} ${formatValue(v.y[v.y.length - 1])} at ${xLabel} ${formatValue(v.x[v.x.length - 1])}` : undefined;
      }),
    )
    .filter(Boolean);

  return (
    <figure className="run-chart">
      <figcaption className="run-chart-title">{title}</figcaption>
      <UPlotView options={options} data={data} label={title} height={height} onCreate={onCreate} />
      <p className="visually-hidden">{latest.length ? `Latest: ${latest.join('; ')}.` : 'No data yet.'}</p>
      {smoothing && (
        <div className="run-chart-smoothing">
          <label htmlFor={sliderId}>Smoothing</label>
          <input id={sliderId} type="range" min={0} max={0.99} step={0.01} value={alpha} onChange={(e) => setAlpha(Number(e.target.value))} />
          <output htmlFor={sliderId}>{alpha.toFixed(2)}</output>
        </div>
      )}
    </figure>
  );
}

const readout = (_u: uPlot, v: number | null) => (v == null ? '–' : formatValue(v));

/** A smoothed line's read-out, with the raw value at the cursor (the raw line's own legend entry is hidden). */
const smoothedReadout = (u: uPlot, v: number | null, seriesIdx: number, idx: number | null) => {
  const raw = idx == null ? null : u.data[seriesIdx - 1][idx];
  return v == null ? '–' : raw == null ? formatValue(v) : `${formatValue(v)} (raw ${formatValue(raw)})`;
};

/** The class of a raw line's legend entry: hidden (run.css), its value shown in the smoothed line's entry. */
const RAW_CLASS = 'run-chart-raw';

/** Showing or hiding a smoothed line (a click on its legend entry) shows or hides its raw line too. */
const withRawLine: uPlot.Hooks.Defs['setSeries'] = (u, seriesIdx, opts) => {
  const raw = seriesIdx === null ? undefined : u.series[seriesIdx - 1];
  if (seriesIdx !== null && opts.show !== undefined && raw?.class === RAW_CLASS && raw.show !== opts.show) u.setSeries(seriesIdx - 1, { show: opts.show });
};

/** Per run, per line: the raw series (with smoothing), then the drawn one; a sweep's runs in their own colours. */
function chartOptions(lines: readonly ChartLine[], runs: readonly ChartRun<MetricSeries>[], xLabel: string, smoothing: boolean): Omit<uPlot.Options, 'width' | 'height'> {
  const right = lines.some((l) => l.axis === 'right');
  const series: uPlot.Series[] = [{ label: xLabel, value: readout }];
  runs.forEach((run) => {
    const kept = !run.current;
    lines.forEach((l, i) => {
      const scale = l.axis === 'right' ? 'right' : 'y';
      const color = run.color ?? l.color;
      const dash = run.color === undefined ? undefined : LINE_DASHES[i % LINE_DASHES.length];
      const label = runName(run.label, labelOf(l));
      const common = { scale, spanGaps: true, value: readout, points: { show: false }, dash };
      if (smoothing) series.push({ ...common, label: `${label} (raw)`, class: RAW_CLASS, stroke: fade(color, 0.3), width: 1, ...(kept && keptSeries()) });
      series.push({ ...common, label, stroke: color, width: kept ? KEPT_LINE_WIDTH : smoothing ? 2 : 1.5, ...(smoothing && { value: smoothedReadout }), ...(kept && keptSeries()) });
    });
  });
  // The x axis goes unlabelled (the legend's first entry names it): compact charts, three rows under the run bar.
  const axes: uPlot.Axis[] = [{ size: 30 }, { scale: 'y', size: 55 }];
  if (right) axes.push({ scale: 'right', side: 1, size: 55, grid: { show: false } });
  const scales: uPlot.Scales = { x: { time: false } };
  // With kept runs (left out of uPlot's range scan), each y scale's range adds theirs.
  if (runs.length > 1) for (const key of right ? ['y', 'right'] : ['y']) scales[key] = { range: rangeWithKept() };
  return {
    series,
    axes,
    scales,
    legend: { live: true, markers: LEGEND_MARKERS },
    cursor: { drag: { x: true, y: false } },
    ...(smoothing && { hooks: { setSeries: [withRawLine] } }),
  };
}
