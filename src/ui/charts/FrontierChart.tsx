// Reward vs √KL, the over-optimisation picture of Gao et al. ("Scaling Laws for Reward Model Overoptimization"):
// PPO's trajectory (one point per iteration) as lines, best-of-N (one point per N, √ of its KL bound) as markers,
// each with the proxy (reward model) and the gold reward. Over-optimisation shows at a glance: gold turning down
// while proxy keeps rising. PPO points are drawn in order of √KL (uPlot needs ascending x; KL mostly grows over
// training, so this is nearly the iteration order). During a sweep each kept run adds its own PPO proxy and gold
// curves (in its colour, under its label: ./runs.ts) so, say, β = 0's gold curve can be set against β = 0.05's; a
// kept run's best-of-N markers are drawn when it has any.
import { useMemo } from 'react';
import uPlot from 'uplot';
import { type FrontierPoint, type RunData, type RunStore, useRunStore } from '../../store/run';
import '../run.css';
import { formatValue } from './format';
import { type ChartRun, chartRuns, LEGEND_MARKERS, PALETTE, runName } from './runs';
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

/** Whether the run at `index` has best-of-N markers: the current (last) run always (its points may be on their way), a
 * kept run when it has best-of-N points. */
const drawsBon = (runs: readonly Frontier[], index: number) => index === runs.length - 1 || runs[index].bon.length > 0;

/** Aligned data: x = √KL; per run (oldest first), PPO proxy, PPO gold, then best-of-N proxy and gold (see drawsBon). */
export function frontierData(runs: readonly Frontier[]): uPlot.AlignedData {
  const table = (points: readonly FrontierPoint[]): uPlot.AlignedData => {
    const sorted = [...points].sort((a, b) => a.sqrtKl - b.sqrtKl);
    return [sorted.map((p) => p.sqrtKl), sorted.map((p) => orNull(p.proxy)), sorted.map((p) => orNull(p.gold))];
  };
  return uPlot.join(runs.flatMap((run, i) => (drawsBon(runs, i) ? [table(run.ppo), table(run.bon)] : [table(run.ppo)])));
}

/** One sentence for screen readers: where each curve ends, and whether gold has turned down from its peak. */
export function frontierSummary(ppo: readonly FrontierPoint[], bon: readonly FrontierPoint[]): string {
  const parts: string[] = [];
  const describe = (name: string, p: FrontierPoint) =>
    `${name} at √KL ${formatValue(p.sqrtKl)}: proxy ${formatValue(p.proxy)}${Number.isFinite(p.gold) ? `, gold ${formatValue(p.gold)}` : ''}`;
  if (ppo.length) parts.push(describe(`PPO iteration ${ppo[ppo.length - 1].step}`, ppo[ppo.length - 1]));
  if (bon.length) parts.push(describe(`best-of-${bon[bon.length - 1].step}`, bon[bon.length - 1]));
  if (!parts.length) return 'No data yet.';
  const golds = ppo.filter((p) => Number.isFinite(p.gold));
  if (golds.length >= 3) {
    const peak = golds.reduce((a, b) => (b.gold > a.gold ? b : a));
    const last = golds[golds.length - 1];
    const range = Math.max(...golds.map((p) => p.gold)) - Math.min(...golds.map((p) => p.gold));
    if (peak !== last && peak.gold - last.gold > 0.1 * range && last.proxy >= peak.proxy) {
      parts.push(`PPO gold reward peaked at √KL ${formatValue(peak.sqrtKl)} (${formatValue(peak.gold)}) and fell while the proxy kept rising: over-optimisation`);
    }
  }
  return `${parts.join('; ')}.`;
}

const readout = (_u: uPlot, v: number | null) => (v == null ? '–' : formatValue(v));

const EMPTY_FRONTIER: Frontier = { ppo: [], bon: [] };

export function FrontierChart({ store = useRunStore, height = 240, onCreate }: FrontierChartProps) {
  const frontier = store((s) => s.frontier);
  const kept = store((s) => s.keptRuns);
  const runLabel = store((s) => s.runLabel);
  const runs = useMemo(() => chartRuns(kept, runLabel, frontier, (k) => k.frontier), [kept, runLabel, frontier]);
  const data = useMemo(() => frontierData(runs.map((r) => r.data)), [runs]);
  // The series depend on the kept runs, not on the current run's points: made again only when a run is kept or cleared.
  const options = useMemo(() => frontierOptions(chartRuns(kept, runLabel, EMPTY_FRONTIER, (k) => k.frontier)), [kept, runLabel]);
  const summary = runs.map((r) => (r.label === undefined ? '' : `${r.label}: `) + frontierSummary(r.data.ppo, r.data.bon)).join(' ');

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
 * run's proxy is blue and its gold orange; a sweep's runs each take their own colour, gold markers hollow.
 */
function frontierOptions(runs: readonly ChartRun<Frontier>[]): Omit<uPlot.Options, 'width' | 'height'> {
  const line = (label: string, stroke: string, dash?: number[]): uPlot.Series => ({ label, stroke, dash, width: 2, spanGaps: true, value: readout, points: { show: fewPoints, size: 4 } });
  const marker = (label: string, color: string, fill = color): uPlot.Series => ({
    label,
    stroke: color,
    fill,
    value: readout,
    paths: () => null, // markers only
    points: { show: true, size: 9, fill, stroke: fill === color ? '#ffffff' : color, width: fill === color ? 1 : 2 },
  });
  const series: uPlot.Series[] = [{ label: '√KL', value: readout }];
  runs.forEach((run, i) => {
    const [proxy, gold] = run.color === undefined ? [FRONTIER_COLORS.proxy, FRONTIER_COLORS.gold] : [run.color, run.color];
    series.push(line(runName(run.label, 'PPO proxy (RM)'), proxy), line(runName(run.label, 'PPO gold'), gold, [6, 4]));
    if (drawsBon(runs.map((r) => r.data), i)) {
      series.push(marker(runName(run.label, 'Best-of-N proxy'), proxy), marker(runName(run.label, 'Best-of-N gold'), gold, run.color === undefined ? gold : '#ffffff'));
    }
  });
  return {
    series,
    axes: [{ label: '√KL (√nats)', size: 40, labelSize: 18 }, { label: 'reward', size: 55, labelSize: 18 }],
    scales: { x: { time: false } },
    legend: { live: true, markers: LEGEND_MARKERS },
    cursor: { drag: { x: true, y: false } },
  };
}
