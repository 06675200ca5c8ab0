// Reward vs √KL, the over-optimisation picture of Gao et al. ("Scaling Laws for Reward Model Overoptimization"):
// PPO's trajectory (one point per iteration) as lines, best-of-N (one point per N, √ of its KL bound) as markers,
// each with the proxy (reward model) and the gold reward. Over-optimisation shows at a glance: gold turning down
// while proxy keeps rising. PPO points are drawn in order of √KL (uPlot needs ascending x; KL mostly grows over
// training, so this is nearly the iteration order). During a sweep each kept run adds its own PPO proxy and gold
// curves (in its colour, under its label: ./runs.ts) so, say, β = 0's gold curve can be set against β = 0.05's; a
// kept run's best-of-N markers are drawn when it has any. What is drawn of a kept run is made once (./kept.ts), its
// PPO curve through its extremes per pixel column when it is long (KEPT_FRONTIER_COLUMNS).
import { useMemo } from 'react';
import uPlot from 'uplot';
import { type FrontierPoint, type RunData, type RunStore, useRunStore } from '../../store/run';
import '../run.css';
import { formatValue } from './format';
import { joinAscending, keptSeries, lastFor, minMaxRows, rangeWithKept, type Values } from './kept';
import { type ChartRun, chartRuns, KEPT_LINE_WIDTH, LEGEND_MARKERS, PALETTE, runName } from './runs';
import { UPlotView } from './UPlotView';

export const FRONTIER_TITLE = 'Reward vs √KL (over-optimisation)';

export const FRONTIER_COLORS = { proxy: PALETTE.blue, gold: PALETTE.orange } as const;

type Frontier = RunData['frontier'];

export interface FrontierChartProps {
  store?: RunStore;
  height?: number;
  onCreate?: (plot: uPlot) => void;
}

const orNull = (v: number) => (Number.isFinite(v) ? v : null);

/** Markers on PPO's iterations while they are few enough to tell apart (a circle per point of 10,000 is slow and a blur). */
const fewPoints = (_u: uPlot, _series: number, first: number, last: number) => last - first <= 200;

/** Whether a kept run has best-of-N markers: when it has best-of-N points. */
const keptDrawsBon = (run: Frontier) => run.bon.length > 0;

/** Whether the run at `index` has best-of-N markers: the current (last) run always (its points may be on their way), a
 * kept run when it has best-of-N points. */
const drawsBon = (runs: readonly Frontier[], index: number) => index === runs.length - 1 || keptDrawsBon(runs[index]);

/**
 * A kept run's PPO curve is drawn through its extremes in each of this many columns of its √KL range (minMaxRows:
 * one or more columns per pixel on the page), so that a sweep's kept runs of 10,000 iterations each do not make
 * every update join 50,000 √KL values. A run of fewer than 4 points a column is drawn whole.
 */
export const KEPT_FRONTIER_COLUMNS = 1024;

/**
 * Points in order of √KL: [√KL, proxy, gold]. Made once per array of points (a kept run's never change; the current
 * run's frontier is a new array whenever it has new points). A point without a finite √KL has no place on the axis.
 */
const table = lastFor((points: readonly FrontierPoint[], _: undefined): uPlot.AlignedData => {
  const sorted = points.filter((p) => Number.isFinite(p.sqrtKl)).sort((a, b) => a.sqrtKl - b.sqrtKl);
  return [sorted.map((p) => p.sqrtKl), sorted.map((p) => orNull(p.proxy)), sorted.map((p) => orNull(p.gold))];
});

/** A kept run's PPO table, decimated (KEPT_FRONTIER_COLUMNS); made once per run. */
const keptPpoTable = lastFor((points: readonly FrontierPoint[], _: undefined) => minMaxRows(table(points, undefined), KEPT_FRONTIER_COLUMNS));

/** The kept runs' tables joined (made once per set of kept runs): per run, oldest first, PPO proxy and gold, then
 * best-of-N proxy and gold if it has any. */
export function keptFrontierData(kept: readonly Frontier[]): uPlot.AlignedData {
  return joinAscending(kept.flatMap((run) => [keptPpoTable(run.ppo, undefined), ...(keptDrawsBon(run) ? [table(run.bon, undefined)] : [])]));
}

/** Aligned data: x = √KL; the kept runs' series (keptFrontierData), then the current run's PPO proxy, PPO gold,
 * best-of-N proxy and gold. */
export function frontierData(kept: uPlot.AlignedData, current: Frontier): uPlot.AlignedData {
  return joinAscending([kept, table(current.ppo, undefined), table(current.bon, undefined)]);
}

/** One sentence for screen readers: where each curve ends, and whether gold has turned down from its peak. */
export function frontierSummary(ppo: readonly FrontierPoint[], bon: readonly FrontierPoint[]): string {
  const parts: string[] = [];
  const describe = (name: string, p: FrontierPoint) =>
    `${name} at √KL ${formatValue(p.sqrtKl)}: proxy ${formatValue(p.proxy)}${Number.isFinite(p.gold) ? `, gold ${formatValue(p.gold)}` : ''}`;
  if (ppo.length) parts.push(describe(`PPO iteration ${ppo[ppo.length - 1].step}`, ppo[ppo.length - 1]));
  if (bon.length) parts.push(describe(`best-of-${bon[bon.length - 1].step}`, bon[bon.length - 1]));
  if (!parts.length) return 'No data yet.';
  // One pass over the points with a gold reward (the summary is made on every update: 10,000s of points).
  let [count, peak, last, lowest] = [0, ppo[0], ppo[0], Infinity];
  for (const p of ppo) {
    if (!Number.isFinite(p.gold)) continue;
    if (count++ === 0 || p.gold > peak.gold) peak = p;
    lowest = Math.min(lowest, p.gold);
    last = p;
  }
  if (count >= 3) {
    const range = peak.gold - lowest;
    if (peak !== last && peak.gold - last.gold > 0.1 * range && last.proxy >= peak.proxy) {
      parts.push(`PPO gold reward peaked at √KL ${formatValue(peak.sqrtKl)} (${formatValue(peak.gold)}) and fell while the proxy kept rising: over-optimisation`);
    }
  }
  return `${parts.join('; ')}.`;
}

const readout = (_u: uPlot, v: number | null) => (v == null ? '–' : formatValue(v));

/** A run's summary, made once per frontier (a kept run's never changes). */
const summaryOnce = lastFor((frontier: Frontier, _: undefined) => frontierSummary(frontier.ppo, frontier.bon));

const EMPTY_FRONTIER: Frontier = { ppo: [], bon: [] };

export function FrontierChart({ store = useRunStore, height = 240, onCreate }: FrontierChartProps) {
  const frontier = store((s) => s.frontier);
  const kept = store((s) => s.keptRuns);
  const runLabel = store((s) => s.runLabel);
  const runs = useMemo(() => chartRuns(kept, runLabel, frontier, (k) => k.frontier), [kept, runLabel, frontier]);
  // The series, and the kept runs' data, depend on the kept runs, not on the current run's points: made again only
  // when a run is kept or cleared.
  const keptRuns = useMemo(() => chartRuns(kept, runLabel, EMPTY_FRONTIER, (k) => k.frontier), [kept, runLabel]);
  const keptData = useMemo(() => keptFrontierData(keptRuns.slice(0, -1).map((r) => r.data)), [keptRuns]);
  const data = useMemo(() => frontierData(keptData, frontier), [keptData, frontier]);
  const options = useMemo(() => frontierOptions(keptRuns), [keptRuns]);
  const summary = runs.map((r) => (r.label === undefined ? '' : `${r.label}: `) + summaryOnce(r.data, undefined)).join(' ');

  return (
    <figure className="run-chart run-chart-frontier">
      <figcaption className="run-chart-title">{FRONTIER_TITLE}</figcaption>
      <UPlotView options={options} data={data} label={FRONTIER_TITLE} height={height} onCreate={onCreate} />
      <p className="visually-hidden">{summary}</p>
    </figure>
  );
}

/**
 * Per run, PPO proxy (solid) and gold (dashed) lines, then best-of-N proxy and gold markers (see drawsBon). A normal
 * run's proxy is blue and its gold orange; a sweep's runs each take their own colour, gold markers hollow. A kept
 * run's lines are its decimated table's columns, re-aligned on every update: those columns stand for their points.
 */
function frontierOptions(runs: readonly ChartRun<Frontier>[]): Omit<uPlot.Options, 'width' | 'height'> {
  const series: uPlot.Series[] = [{ label: '√KL', value: readout }];
  // The kept runs' PPO columns by series index.
  const keptPoints: Values[] = [];
  const line = (label: string, stroke: string, dash?: number[], kept?: Values): uPlot.Series => {
    if (kept) keptPoints[series.length] = kept;
    return { label, stroke, dash, width: kept ? KEPT_LINE_WIDTH : 2, spanGaps: true, value: readout, points: { show: fewPoints, size: 4 }, ...(kept && keptSeries(kept)) };
  };
  const marker = (label: string, color: string, fill = color): uPlot.Series => ({
    label,
    stroke: color,
    fill,
    value: readout,
    paths: () => null, // markers only
    points: { show: true, size: 9, fill, stroke: fill === color ? '#ffffff' : color, width: fill === color ? 1 : 2 },
  });
  runs.forEach((run, i) => {
    const [proxy, gold] = run.color === undefined ? [FRONTIER_COLORS.proxy, FRONTIER_COLORS.gold] : [run.color, run.color];
    const kept = run.current ? undefined : keptPpoTable(run.data.ppo, undefined);
    series.push(line(runName(run.label, 'PPO proxy (RM)'), proxy, undefined, kept?.[1]));
    series.push(line(runName(run.label, 'PPO gold'), gold, [6, 4], kept?.[2]));
    if (drawsBon(runs.map((r) => r.data), i)) {
      series.push(marker(runName(run.label, 'Best-of-N proxy'), proxy), marker(runName(run.label, 'Best-of-N gold'), gold, run.color === undefined ? gold : '#ffffff'));
    }
  });
  return {
    series,
    axes: [{ label: '√KL (√nats)', size: 40, labelSize: 18 }, { label: 'reward', size: 55, labelSize: 18 }],
    // With kept runs (left out of uPlot's range scan), the reward scale's range adds theirs.
    scales: runs.length > 1 ? { x: { time: false }, y: { range: rangeWithKept((u, i) => keptPoints[i] ?? u.data[i]) } } : { x: { time: false } },
    legend: { live: true, markers: LEGEND_MARKERS },
    cursor: { drag: { x: true, y: false } },
  };
}
