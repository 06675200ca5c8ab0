// Gao et al.'s fits on the frontier chart: each method's fitted gold drawn dash-dot in its colour over [0, its largest
// √KL] (best-of-N's form for separate points, RL's for a trajectory: DPO joins through its descriptor), its peak d*
// marked when inside, "PPO fit (R² …, d* …)" under the chart and in the text summary; the fits made again only when
// the frontier's points change, the chart made again only when a method gains (or loses) a fit; none in a sweep.
import { act } from 'react';
import type uPlot from 'uplot';
import { describe, expect, test } from 'vitest';
import { fittedGold, type FrontierFitOk, frontierFits } from '../../src/rlhf/frontier-fits';
import { bestOfNKLBound } from '../../src/rlhf/math';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { stageById } from '../../src/rlhf/stages';
import { createRunStore, type RunStore } from '../../src/store/run';
import { FIT_DASH, FrontierChart } from '../../src/ui/charts/FrontierChart';
import { mount } from '../helpers/mount';

/** A store whose commits happen only on flush() (its throttle timer never fires). */
const manualStore = () => createRunStore({ schedule: () => () => {} });

const rlGold = (gold0: number, alpha: number, beta: number, d: number) => gold0 + (d === 0 ? 0 : d * (alpha - beta * Math.log(d)));

/** PPO iterations 0…, gold on gold₀ + d(α − β ln d) with α = 0.8, β = 0.4 (peak at d* = e). */
const ppo = (kls: readonly number[], from = 0): MetricRecord[] =>
  kls.map((kl, i) => ({ stage: 'ppo', step: from + i, 'objective/kl': kl, 'objective/scores': kl / 2, 'objective/gold': rlGold(0.25, 0.8, 0.4, Math.sqrt(kl)) }));

/** Best-of-N, gold on gold₀ + d(α − βd) with α = 1, β = 0.5 (peak at d* = 1). */
const bon = (ns: readonly number[]): MetricRecord[] =>
  ns.map((n) => {
    const d = Math.sqrt(bestOfNKLBound(n));
    return { stage: 'bon', step: n, 'bon/kl_bound': bestOfNKLBound(n), 'bon/proxy': d, 'bon/gold': 0.1 + d * (1 - 0.5 * d) };
  });

function add(store: RunStore, records: MetricRecord[]) {
  act(() => {
    store.getState().onMetrics(records);
    store.getState().flush();
  });
}

const seriesIndex = (plot: uPlot, label: string) => plot.series.findIndex((s) => s.label === label);
const strokeOf = (plot: uPlot, i: number) => (plot.series[i].stroke as (u: uPlot, i: number) => string)(plot, i);
/** A series' [x, y] where it has a value. */
const pointsOf = (plot: uPlot, i: number) => Array.from(plot.data[0], (x, j) => [x, plot.data[i][j]] as const).filter(([, y]) => y != null) as [number, number][];

describe('Gao fits on the frontier chart', () => {
  test("each method's fit dash-dot in its colour over its √KL range, d* marked inside it, labelled with R² and d*", () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<FrontierChart store={store} onCreate={(p) => (plot = p)} />, { width: 600 });
    expect(plot!.series.map((s) => s.label)).not.toContain('PPO fit');
    expect(div.querySelector('.run-chart-fits')).toBeNull();

    add(store, [...ppo([0, 0.5, 1, 2, 4, 7, 12, 16]), ...bon([1, 2, 4, 8, 16, 32, 64, 128])]);
    expect(plot!.series.slice(-2).map((s) => s.label)).toEqual(['PPO fit', 'Best-of-N fit']);
    const fits = frontierFits(store.getState().frontier) as FrontierFitOk[];
    for (const [name, stage, fit] of [['PPO fit', 'ppo', fits[0]], ['Best-of-N fit', 'bon', fits[1]]] as const) {
      const i = seriesIndex(plot!, name);
      expect(plot!.series[i].dash).toEqual(FIT_DASH);
      expect(strokeOf(plot!, i)).toBe(stageById(stage)!.policy!.color);
      // Drawn from d = 0 (gold₀) to the method's largest √KL, on the fitted curve.
      const line = pointsOf(plot!, i);
      expect(line.length).toBeGreaterThan(60);
      expect(line[0]).toEqual([0, fit.gold0]);
      expect(line[line.length - 1][0]).toBeCloseTo(fit.maxSqrtKl, 12);
      for (const [x, y] of line) expect(y).toBeCloseTo(fittedGold(fit, x), 12);
      // The peak is marked: uPlot draws the one point its filter names, at d*.
      const marked = (plot!.series[i].points!.filter as (u: uPlot, i: number, show: boolean) => number[] | null)(plot!, i, false);
      expect(marked).toHaveLength(1);
      expect(plot!.data[0][marked![0]]).toBeCloseTo(fit.peak, 12);
    }
    expect(fits[0]).toMatchObject({ stage: 'ppo', form: 'rl', gold0: 0.25 });
    expect(fits[0].alpha).toBeCloseTo(0.8, 9);
    expect(fits[0].peak).toBeCloseTo(Math.E, 8);
    expect(fits[1]).toMatchObject({ stage: 'bon', form: 'bon', gold0: 0.1 });
    expect(fits[1].peak).toBeCloseTo(1, 9);
    expect(div.querySelector('.run-chart-fits')!.textContent).toBe('Gao et al. fits (dash-dot): PPO fit (R² 1.00, d* 2.7) · Best-of-N fit (R² 1.00, d* 1)');
    const summary = div.querySelector('.visually-hidden')!.textContent!;
    expect(summary).toContain('PPO fit (R² 1.00, d* 2.7): gold = gold₀ + d(α − β ln d) with d = √KL, gold₀ 0.25, α 0.8, β 0.4, its peak at √KL 2.718');
    expect(summary).toContain('Best-of-N fit (R² 1.00, d* 1): gold = gold₀ + d(α − βd) with d = √KL, gold₀ 0.1, α 1, β 0.5, its peak at √KL 1');
  });

  test('made again only when the points change; the chart made again only when a method gains a fit', () => {
    const store = manualStore();
    const created: uPlot[] = [];
    const { div } = mount(<FrontierChart store={store} onCreate={(p) => created.push(p)} />);
    add(store, ppo([0, 1])); // two points: no fit yet (they cannot tell α from β)
    expect(created).toHaveLength(1);
    expect(created[0].series.map((s) => s.label)).not.toContain('PPO fit');
    add(store, ppo([4], 2)); // the third: a fit, and a series for it
    expect(created).toHaveLength(2);
    const plot = created[1];
    expect(plot.series.at(-1)!.label).toBe('PPO fit');
    const caption = div.querySelector('.run-chart-fits')!.textContent;
    // Records off the frontier: nothing is fitted or drawn again.
    const data = plot.data;
    add(store, [{ stage: 'sft', step: 0, loss: 2 }]);
    expect(plot.data).toBe(data);
    // New points, gold falling off the curve: new α, β and a longer line on the same chart.
    add(store, [
      { stage: 'ppo', step: 3, 'objective/kl': 9, 'objective/scores': 5, 'objective/gold': 0.3 },
      { stage: 'ppo', step: 4, 'objective/kl': 16, 'objective/scores': 6, 'objective/gold': 0 },
    ]);
    expect(created).toHaveLength(2);
    expect(plot.data).not.toBe(data);
    expect(div.querySelector('.run-chart-fits')!.textContent).not.toBe(caption);
    expect(pointsOf(plot, plot.series.length - 1).at(-1)![0]).toBe(4);
  });

  test('a trajectory stage joins through its descriptor: DPO gets the RL form; no peak inside, no marker', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<FrontierChart store={store} onCreate={(p) => (plot = p)} />);
    act(() => store.getState().onStage('dpo', 'started'));
    // Gold still rising at the last check: d* = e beyond √KL 2.
    add(
      store,
      [0, 0.5, 1.5, 2.5, 4].map((kl, i) => ({ stage: 'dpo', step: 2 * i, 'objective/kl': kl, 'objective/scores': i, 'objective/gold': rlGold(-0.3, 0.8, 0.4, Math.sqrt(kl)) })),
    );
    const i = seriesIndex(plot!, 'DPO fit');
    expect(i).toBeGreaterThan(0);
    expect(strokeOf(plot!, i)).toBe(stageById('dpo')!.policy!.color);
    expect((plot!.series[i].points!.filter as (u: uPlot, i: number, show: boolean) => number[] | null)(plot!, i, false)).toBeNull();
    expect(div.querySelector('.run-chart-fits')!.textContent).toContain('DPO fit (R² 1.00, d* 2.7)');
    expect(div.querySelector('.visually-hidden')!.textContent).toContain('its peak beyond its points at √KL 2.718');
  });

  test('a fit whose gold only falls from d = 0 has its highest point at the start: no peak marker there', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    mount(<FrontierChart store={store} onCreate={(p) => (plot = p)} />);
    // Best-of-N gold on 0.1 + d(−0.5 − 0.2d): falling from d = 0 (d* = −1.25, outside the line).
    add(
      store,
      [1, 2, 4, 8, 16].map((n) => {
        const d = Math.sqrt(bestOfNKLBound(n));
        return { stage: 'bon', step: n, 'bon/kl_bound': bestOfNKLBound(n), 'bon/proxy': d, 'bon/gold': 0.1 + d * (-0.5 - 0.2 * d) };
      }),
    );
    const i = seriesIndex(plot!, 'Best-of-N fit');
    expect(i).toBeGreaterThan(0);
    const line = pointsOf(plot!, i);
    expect(line[0][0]).toBe(0);
    expect(Math.max(...line.map(([, y]) => y))).toBe(line[0][1]); // highest at d = 0
    expect((plot!.series[i].points!.filter as (u: uPlot, i: number, show: boolean) => number[] | null)(plot!, i, false)).toBeNull();
  });

  test('a sweep draws no fits', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<FrontierChart store={store} onCreate={(p) => (plot = p)} />);
    act(() => {
      store.getState().reset({ label: 'β = 0', first: true });
      store.getState().onStage('ppo', 'started');
    });
    add(store, ppo([0, 0.5, 1, 2, 4]));
    expect(plot!.series.map((s) => String(s.label)).filter((l) => l.includes('fit'))).toEqual([]);
    expect(div.querySelector('.run-chart-fits')).toBeNull();
    expect(div.querySelector('.visually-hidden')!.textContent).not.toContain('fit');
  });
});
