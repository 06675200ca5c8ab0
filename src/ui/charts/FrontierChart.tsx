// Reward vs √KL, the over-optimisation picture of Gao et al. ("Scaling Laws for Reward Model Overoptimization"),
// with every method of the run on it: each trained policy's trajectory as lines (PPO: one point per iteration; DPO:
// one per held-out check), best-of-N (one point per N, √ of its KL bound) as markers, each with the proxy (reward
// model, solid) and the gold reward (dashed or hollow), one colour per method (its stage descriptor's). Over-
// optimisation shows at a glance: gold turning down while proxy keeps rising; methods compare at equal √KL.
// Trajectories are drawn in order of √KL (uPlot needs ascending x; KL mostly grows over training). The current run
// draws the methods of its plan; during a sweep each kept run adds the methods it has points of, in the run's colour
// under its label (./runs.ts), so β = 0's gold curve can be set against β = 0.05's. What is drawn of a kept run is
// made once (./kept.ts), a trajectory through its extremes per pixel column when it is long (KEPT_FRONTIER_COLUMNS).
// A normal run's methods also get Gao et al.'s curves fitted to their gold points (src/rlhf/frontier-fits.ts, the
// same fits as summary.json's gao_fits): best-of-N's d(α − βd), a trajectory's d(α − β ln d), drawn dash-dot in the
// method's colour over d from 0 to its largest √KL, with a marker at the fitted peak d* when it lies inside; "PPO fit
// (R² 0.83, d* 1.9)" under the chart and in the text summary. A sweep's runs are drawn without them (too many lines).
import { useMemo } from 'react';
import uPlot from 'uplot';
import { fitCurve, type FrontierFit, type FrontierFitOk, frontierFits } from '../../rlhf/frontier-fits';
import { FRONTIER_STAGES, type FrontierPoint, type RunData, type RunStore, useRunStore } from '../../store/run';
import { stageById } from '../../rlhf/stages';
import '../run.css';
import { formatValue } from './format';
import { joinAscending, keptSeries, lastFor, minMaxRows, rangeWithKept, type Values } from './kept';
import { type ChartRun, chartRuns, KEPT_LINE_WIDTH, LEGEND_MARKERS, PALETTE, runName } from './runs';
import { UPlotView } from './UPlotView';

export const FRONTIER_TITLE = 'Reward vs √KL (over-optimisation)';

type Frontier = RunData['frontier'];

/** A method on the frontier: its stage, name, colour, and whether its points form a trajectory (lines) or markers. */
interface Method {
  stage: string;
  name: string;
  color: string;
  lines: boolean;
}

const METHODS: readonly Method[] = FRONTIER_STAGES.map((id) => {
  const d = stageById(id);
  return { stage: id, name: d.name, color: d.policy?.color ?? PALETTE.blue, lines: d.policy?.trajectory !== undefined };
});

/** The methods a run draws: a kept run those it has points of; the current run those of its plan (points on their way). */
const methodsOf = (run: Frontier, plan?: readonly string[]) => METHODS.filter((m) => (plan ? plan.includes(m.stage) : (run[m.stage]?.length ?? 0) > 0));
const pointsOf = (run: Frontier, stage: string): readonly FrontierPoint[] => run[stage] ?? [];

export interface FrontierChartProps {
  store?: RunStore;
  height?: number;
  onCreate?: (plot: uPlot) => void;
}

const orNull = (v: number) => (Number.isFinite(v) ? v : null);

/** Markers on PPO's iterations while they are few enough to tell apart (a circle per point of 10,000 is slow and a blur). */
const fewPoints = (_u: uPlot, _series: number, first: number, last: number) => last - first <= 200;

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

/** A kept run's trajectory table, decimated (KEPT_FRONTIER_COLUMNS); made once per run and method. */
const keptTables = new WeakMap<readonly FrontierPoint[], uPlot.AlignedData>();
function keptTable(points: readonly FrontierPoint[]): uPlot.AlignedData {
  let t = keptTables.get(points);
  if (!t) keptTables.set(points, (t = minMaxRows(table(points, undefined), KEPT_FRONTIER_COLUMNS)));
  return t;
}

/** The kept runs' tables joined (made once per set of kept runs): per run, oldest first, proxy and gold of each
 * method it has points of. */
export function keptFrontierData(kept: readonly Frontier[]): uPlot.AlignedData {
  return joinAscending(kept.flatMap((run) => methodsOf(run).map((m) => (m.lines ? keptTable(pointsOf(run, m.stage)) : table(pointsOf(run, m.stage), undefined)))));
}

/** Aligned data: x = √KL; the kept runs' series (keptFrontierData), then the current run's proxy and gold of each
 * method of its plan, then the fitted gold of each of `fits` that is a fit (in their order). */
export function frontierData(kept: uPlot.AlignedData, current: Frontier, plan: readonly string[], fits: readonly FrontierFit[] = []): uPlot.AlignedData {
  return joinAscending([kept, ...methodsOf(current, plan).map((m) => table(pointsOf(current, m.stage), undefined)), ...fitted(fits).map(fitTable)]);
}

/** A fit's line: dash-dot, told apart from a trajectory's gold (dashed) and proxy (solid). */
export const FIT_DASH = [10, 3, 2, 3];

/** The fits of a normal run's methods of its plan that have points (in run order); a sweep draws none. */
export function currentFits(frontier: Frontier, plan: readonly string[]): FrontierFit[] {
  return frontierFits(Object.fromEntries(methodsOf(frontier, plan).map((m) => [m.stage, pointsOf(frontier, m.stage)])));
}

const fitted = (fits: readonly FrontierFit[]) => fits.filter((f): f is FrontierFitOk => f.ok);

/** d* in two significant digits ('∞': the fitted gold rises without bound). */
const peakText = (fit: FrontierFitOk) => (Number.isFinite(fit.peak) ? String(Number(fit.peak.toPrecision(2))) : '∞');

/** "PPO fit (R² 0.83, d* 1.9)". */
export function fitLabel(fit: FrontierFitOk): string {
  return `${stageById(fit.stage)?.name ?? fit.stage} fit (R² ${fit.r2.toFixed(2)}, d* ${peakText(fit)})`;
}

/** A fit's line as a table [d, fitted gold]: d from 0 to its largest √KL, through d* when inside (./frontier-fits.ts). */
function fitTable(fit: FrontierFitOk): uPlot.AlignedData {
  const { d, gold } = fitCurve(fit);
  return [d, gold];
}

/** The point of a fit's line to mark: its highest, when that lies strictly inside its range (then it is d*). */
const peakIndex: uPlot.Series.Points.Filter = (u, seriesIdx) => {
  const y = u.data[seriesIdx];
  let [first, last, top] = [-1, -1, -1];
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v == null || !Number.isFinite(v)) continue;
    if (first < 0) first = i;
    last = i;
    if (top < 0 || v > y[top]!) top = i;
  }
  return top > first && top < last ? [top] : null;
};

/** One sentence for screen readers: where each curve ends, and whether a trajectory's gold has turned down from its
 * peak; then each Gao fit (`fits`: a normal run's). */
export function frontierSummary(frontier: Frontier, fits: readonly FrontierFit[] = []): string {
  const parts: string[] = [];
  const describe = (name: string, p: FrontierPoint) =>
    `${name} at √KL ${formatValue(p.sqrtKl)}: proxy ${formatValue(p.proxy)}${Number.isFinite(p.gold) ? `, gold ${formatValue(p.gold)}` : ''}`;
  for (const m of methodsOf(frontier)) {
    const points = pointsOf(frontier, m.stage);
    const end = points[points.length - 1];
    parts.push(describe(m.lines ? `${m.name} (step ${end.step})` : `${m.name} (N = ${end.step})`, end));
  }
  if (!parts.length) return 'No data yet.';
  for (const m of methodsOf(frontier).filter((x) => x.lines)) {
    const turn = overOptimisation(pointsOf(frontier, m.stage));
    if (turn) parts.push(`${m.name} gold reward peaked at √KL ${formatValue(turn.sqrtKl)} (${formatValue(turn.gold)}) and fell while the proxy kept rising: over-optimisation`);
  }
  for (const f of fitted(fits)) {
    const form = f.form === 'bon' ? 'gold₀ + d(α − βd)' : 'gold₀ + d(α − β ln d)';
    const where = !Number.isFinite(f.peak) ? 'no peak' : f.peak > f.maxSqrtKl ? 'its peak beyond its points' : 'its peak';
    parts.push(`${fitLabel(f)}: gold = ${form} with d = √KL, gold₀ ${formatValue(f.gold0)}, α ${formatValue(f.alpha)}, β ${formatValue(f.beta)}, ${where}${Number.isFinite(f.peak) ? ` at √KL ${formatValue(f.peak)}` : ''}`);
  }
  return `${parts.join('; ')}.`;
}

/** The peak of a trajectory's gold reward when gold has since fallen (by > 10% of its range) while the proxy did not. */
function overOptimisation(points: readonly FrontierPoint[]): FrontierPoint | undefined {
  // One pass over the points with a gold reward (the summary is made on every update: 10,000s of points).
  let [count, peak, last, lowest] = [0, points[0], points[0], Infinity];
  for (const p of points) {
    if (!Number.isFinite(p.gold)) continue;
    if (count++ === 0 || p.gold > peak.gold) peak = p;
    lowest = Math.min(lowest, p.gold);
    last = p;
  }
  if (count < 3) return undefined;
  const range = peak.gold - lowest;
  return peak !== last && peak.gold - last.gold > 0.1 * range && last.proxy >= peak.proxy ? peak : undefined;
}

const readout = (_u: uPlot, v: number | null) => (v == null ? '–' : formatValue(v));

/** A run's summary, made once per frontier (a kept run's never changes). */
const summaryOnce = lastFor((frontier: Frontier, _: undefined) => frontierSummary(frontier));

const EMPTY_FRONTIER: Frontier = {};
const NO_FITS: readonly FrontierFit[] = [];

export function FrontierChart({ store = useRunStore, height = 240, onCreate }: FrontierChartProps) {
  const frontier = store((s) => s.frontier);
  const kept = store((s) => s.keptRuns);
  const runLabel = store((s) => s.runLabel);
  const plan = store((s) => s.plan);
  const runs = useMemo(() => chartRuns(kept, runLabel, frontier, (k) => k.frontier), [kept, runLabel, frontier]);
  // The series, and the kept runs' data, depend on the kept runs, not on the current run's points: made again only
  // when a run is kept or cleared.
  const keptRuns = useMemo(() => chartRuns(kept, runLabel, EMPTY_FRONTIER, (k) => k.frontier), [kept, runLabel]);
  const keptData = useMemo(() => keptFrontierData(keptRuns.slice(0, -1).map((r) => r.data)), [keptRuns]);
  // A normal run's fits, made again when its points change (a handful of sums per point); the chart is made again
  // only when which methods have a fit changes (their series), not for new α, β.
  const fits = useMemo(() => (runLabel === undefined ? currentFits(frontier, plan) : NO_FITS), [frontier, plan, runLabel]);
  const fitStages = fitted(fits)
    .map((f) => f.stage)
    .join(' ');
  const data = useMemo(() => frontierData(keptData, frontier, plan, fits), [keptData, frontier, plan, fits]);
  const options = useMemo(() => frontierOptions(keptRuns, plan, fitStages === '' ? [] : fitStages.split(' ')), [keptRuns, plan, fitStages]);
  const summary = useMemo(
    () => (runLabel === undefined ? frontierSummary(frontier, fits) : runs.map((r) => `${r.label}: ${summaryOnce(r.data, undefined)}`).join(' ')),
    [runLabel, frontier, fits, runs],
  );
  const fitLabels = fitted(fits).map(fitLabel);

  return (
    <figure className="run-chart run-chart-frontier">
      <figcaption className="run-chart-title">{FRONTIER_TITLE}</figcaption>
      <UPlotView options={options} data={data} label={FRONTIER_TITLE} height={height} onCreate={onCreate} />
      {fitLabels.length > 0 && <p className="run-chart-fits">Gao et al. fits (dash-dot): {fitLabels.join(' · ')}</p>}
      <p className="visually-hidden">{summary}</p>
    </figure>
  );
}

/**
 * Per run, per method (methodsOf): a trajectory's proxy (solid) and gold (dashed) lines, or best-of-N-style proxy and
 * gold markers (gold hollow). In a normal run a method takes its own colour; a sweep's runs each take theirs. A kept
 * run's lines are its decimated table's columns, re-aligned on every update: those columns stand for their points.
 * Then a line per stage of `fits` (a normal run's methods with a Gao fit, in run order), dash-dot in the method's
 * colour, marked at its peak d* when that lies inside the line (peakIndex).
 */
function frontierOptions(runs: readonly ChartRun<Frontier>[], plan: readonly string[], fits: readonly string[] = []): Omit<uPlot.Options, 'width' | 'height'> {
  const series: uPlot.Series[] = [{ label: '√KL', value: readout }];
  // The kept runs' trajectory columns by series index.
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
  runs.forEach((run) => {
    for (const m of methodsOf(run.data, run.current ? plan : undefined)) {
      const color = run.color ?? m.color;
      if (m.lines) {
        const kept = run.current ? undefined : keptTable(pointsOf(run.data, m.stage));
        series.push(line(runName(run.label, `${m.name} proxy (RM)`), color, undefined, kept?.[1]));
        series.push(line(runName(run.label, `${m.name} gold`), color, [6, 4], kept?.[2]));
      } else {
        series.push(marker(runName(run.label, `${m.name} proxy`), color), marker(runName(run.label, `${m.name} gold`), color, '#ffffff'));
      }
    }
  });
  for (const m of METHODS.filter((x) => fits.includes(x.stage))) {
    series.push({
      label: `${m.name} fit`,
      stroke: m.color,
      dash: FIT_DASH,
      width: 2,
      spanGaps: true,
      value: readout,
      points: { show: false, filter: peakIndex, size: 11, fill: m.color, stroke: '#ffffff', width: 2 },
    });
  }
  return {
    series,
    axes: [{ label: '√KL (√nats)', size: 40, labelSize: 18 }, { label: 'reward', size: 55, labelSize: 18 }],
    // With kept runs (left out of uPlot's range scan), the reward scale's range adds theirs.
    scales: runs.length > 1 ? { x: { time: false }, y: { range: rangeWithKept((u, i) => keptPoints[i] ?? u.data[i]) } } : { x: { time: false } },
    legend: { live: true, markers: LEGEND_MARKERS },
    cursor: { drag: { x: true, y: false } },
  };
}
