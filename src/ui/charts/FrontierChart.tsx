// Reward vs √KL, the over-optimisation picture of Gao et al. ("Scaling Laws for Reward Model Overoptimization"):
// PPO's trajectory (one point per iteration) as lines, best-of-N (one point per N, √ of its KL bound) as markers,
// each with the proxy (reward model) and the gold reward. Over-optimisation shows at a glance: gold turning down
// while proxy keeps rising. PPO points are drawn in order of √KL (uPlot needs ascending x; KL mostly grows over
// training, so this is nearly the iteration order).
import { useMemo, useState } from 'react';
import uPlot from 'uplot';
import { type FrontierPoint, type RunStore, useRunStore } from '../../store/run';
import '../run.css';
import { formatValue } from './format';
import { UPlotView } from './UPlotView';

export const FRONTIER_TITLE = 'Reward vs √KL (over-optimisation)';

export const FRONTIER_COLORS = { proxy: '#2f6fde', gold: '#d4822a' } as const;

export interface FrontierChartProps {
  store?: RunStore;
  height?: number;
  onCreate?: (plot: uPlot) => void;
}

const orNull = (v: number) => (Number.isFinite(v) ? v : null);

/** Aligned data: x = √KL; series PPO proxy, PPO gold, best-of-N proxy, best-of-N gold. */
export function frontierData(ppo: readonly FrontierPoint[], bon: readonly FrontierPoint[]): uPlot.AlignedData {
  const table = (points: readonly FrontierPoint[]): uPlot.AlignedData => {
    const sorted = [...points].sort((a, b) => a.sqrtKl - b.sqrtKl);
    return [sorted.map((p) => p.sqrtKl), sorted.map((p) => orNull(p.proxy)), sorted.map((p) => orNull(p.gold))];
  };
  return uPlot.join([table(ppo), table(bon)]);
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

export function FrontierChart({ store = useRunStore, height = 240, onCreate }: FrontierChartProps) {
  const { ppo, bon } = store((s) => s.frontier);
  const data = useMemo(() => frontierData(ppo, bon), [ppo, bon]);
  const [options] = useState<Omit<uPlot.Options, 'width' | 'height'>>(() => {
    const line = (label: string, stroke: string, dash?: number[]): uPlot.Series => ({ label, stroke, dash, width: 2, spanGaps: true, value: readout, points: { show: true, size: 4 } });
    const marker = (label: string, color: string): uPlot.Series => ({
      label,
      stroke: color,
      fill: color,
      value: readout,
      paths: () => null, // markers only
      points: { show: true, size: 9, fill: color, stroke: '#ffffff', width: 1 },
    });
    return {
      series: [
        { label: '√KL', value: readout },
        line('PPO proxy (RM)', FRONTIER_COLORS.proxy),
        line('PPO gold', FRONTIER_COLORS.gold, [6, 4]),
        marker('Best-of-N proxy', FRONTIER_COLORS.proxy),
        marker('Best-of-N gold', FRONTIER_COLORS.gold),
      ],
      axes: [{ label: '√KL (√nats)', size: 40, labelSize: 18 }, { label: 'reward', size: 55, labelSize: 18 }],
      scales: { x: { time: false } },
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
    };
  });

  return (
    <figure className="run-chart run-chart-frontier">
      <figcaption className="run-chart-title">{FRONTIER_TITLE}</figcaption>
      <UPlotView options={options} data={data} label={FRONTIER_TITLE} height={height} onCreate={onCreate} />
      <p className="visually-hidden">{frontierSummary(ppo, bon)}</p>
    </figure>
  );
}
