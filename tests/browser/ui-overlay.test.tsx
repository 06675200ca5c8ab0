// A sweep's runs drawn together, in headless Chromium: with runs kept by the run store (a lesson of several runs,
// e.g. β = 0.2, 0.05, 0), a line chart draws one series per run and line, labelled with the run, each run in its own
// colour and the current run last (on top); the frontier chart draws each run's PPO proxy and gold curves (and a
// kept run's best-of-N markers when it has any); the grid names the kept runs and clears them from a button, by
// keyboard; a normal run is drawn as before.
import { act } from 'react';
import type uPlot from 'uplot';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { createRunStore, type RunStore } from '../../src/store/run';
import { ChartGrid } from '../../src/ui/charts/ChartGrid';
import { FrontierChart } from '../../src/ui/charts/FrontierChart';
import { LineChart } from '../../src/ui/charts/LineChart';
import { KEPT_LINE_WIDTH, RUN_COLORS } from '../../src/ui/charts/runs';
import { mount } from '../helpers/mount';

/** A store whose commits happen only on flush() (its throttle timer never fires). */
const manualStore = () => createRunStore({ schedule: () => () => {} });

const LINES = [
  { metric: 'objective/scores', stage: 'ppo', label: 'Proxy', color: '#2f6fde' },
  { metric: 'objective/gold', stage: 'ppo', label: 'Gold', color: '#d4822a' },
] as const;

/** `n` PPO iterations: KL = step², proxy = `scale`·step, gold = step·(4 − step) (peaks at step 2, then falls). */
const ppoRecords = (n: number, scale: number): MetricRecord[] =>
  Array.from({ length: n }, (_, step) => ({ stage: 'ppo', step, 'objective/kl': step * step, 'objective/scores': scale * step, 'objective/gold': step * (4 - step) }));

/** One run of a sweep: reset as the bridge does for a lesson's step, then its PPO records (and best-of-N, if any). */
function sweepRun(store: RunStore, label: string, first: boolean, records: MetricRecord[]) {
  act(() => {
    store.getState().reset({ label, first });
    store.getState().onStage('ppo', 'started');
    store.getState().onMetrics(records);
    store.getState().flush();
  });
}

const labels = (plot: uPlot) => plot.series.map((s) => s.label);
const stroke = (plot: uPlot, i: number) => (plot.series[i].stroke as (u: uPlot, i: number) => string)(plot, i);

describe('a sweep on a line chart', () => {
  test('a kept run with no points on a chart is left out of it: runs 2 and 3 reuse run 1’s SFT model', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const sftLine = [{ metric: 'loss', stage: 'sft', label: 'LM loss', color: '#2f6fde' }] as const;
    mount(<LineChart title="SFT loss" lines={sftLine} store={store} onCreate={(p) => (plot = p)} />);
    act(() => {
      store.getState().reset({ label: 'β = 0.2', first: true });
      store.getState().onStage('sft', 'started');
      store.getState().onMetrics(Array.from({ length: 3 }, (_, step) => ({ stage: 'sft', step, loss: 3 - step })));
      store.getState().flush();
    });
    expect(labels(plot!)).toEqual(['step', 'β = 0.2: LM loss']);
    // Run 2 (PPO only): the current run stays, with no points, under run 1's kept curve.
    sweepRun(store, 'β = 0.05', false, ppoRecords(3, 1));
    expect(labels(plot!)).toEqual(['step', 'β = 0.2: LM loss', 'β = 0.05: LM loss']);
    expect(plot!.series[1].width).toBe(KEPT_LINE_WIDTH);
    expect(Array.from(plot!.data[1])).toEqual([3, 2, 1]);
    // Run 3: run 2, kept now, has no SFT points and is left out.
    sweepRun(store, 'β = 0', false, ppoRecords(3, 2));
    expect(labels(plot!)).toEqual(['step', 'β = 0.2: LM loss', 'β = 0: LM loss']);
  });

  test('before any run has points, the chart names the current run’s lines', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    mount(<LineChart title="PPO reward" lines={LINES} store={store} onCreate={(p) => (plot = p)} />);
    act(() => store.getState().reset({ label: 'β = 0.2', first: true }));
    expect(labels(plot!)).toEqual(['step', 'β = 0.2: Proxy', 'β = 0.2: Gold']);
  });

  test('one series per run and line, labelled with its run, a colour per run, the current run last', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<LineChart title="PPO reward" lines={LINES} store={store} onCreate={(p) => (plot = p)} />);
    sweepRun(store, 'β = 0', true, ppoRecords(6, 1));
    expect(labels(plot!)).toEqual(['step', 'β = 0: Proxy', 'β = 0: Gold']);

    sweepRun(store, 'β = 0.05', false, ppoRecords(3, 10));
    expect(labels(plot!)).toEqual(['step', 'β = 0: Proxy', 'β = 0: Gold', 'β = 0.05: Proxy', 'β = 0.05: Gold']);
    expect(div.querySelectorAll('.uplot').length).toBe(1); // the chart made again, the old one gone
    const d = plot!.data;
    expect(Array.from(d[0])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(d[1])).toEqual([0, 1, 2, 3, 4, 5]); // β = 0 proxy, kept
    expect(Array.from(d[2])).toEqual([0, 3, 4, 3, 0, -5]); // β = 0 gold, kept
    expect(Array.from(d[3])).toEqual([0, 10, 20, null, null, null]); // β = 0.05, still shorter: gaps
    // Colour means the run; a dash tells the run's lines apart, in the legend too.
    expect([stroke(plot!, 1), stroke(plot!, 2)]).toEqual([RUN_COLORS[0], RUN_COLORS[0]]);
    expect([stroke(plot!, 3), stroke(plot!, 4)]).toEqual([RUN_COLORS[1], RUN_COLORS[1]]);
    expect(plot!.series.map((s) => s.dash)).toEqual([undefined, undefined, [6, 4], undefined, [6, 4]]);
    const markers = [...div.querySelectorAll<HTMLElement>('.u-legend .u-marker')].map((m) => m.style.borderStyle);
    expect(markers.slice(1)).toEqual(['solid', 'dashed', 'solid', 'dashed']); // after the x series' (no marker)
    const summary = div.querySelector('.visually-hidden')!.textContent!;
    expect(summary).toContain('β = 0: Proxy 5 at step 5');
    expect(summary).toContain('β = 0.05: Proxy 20 at step 2');

    // The current run's new points land in its own series; the kept run's stay.
    act(() => {
      store.getState().onMetrics([{ stage: 'ppo', step: 3, 'objective/scores': 30, 'objective/gold': 3 }]);
      store.getState().flush();
    });
    expect(Array.from(plot!.data[3])).toEqual([0, 10, 20, 30, null, null]);
    expect(Array.from(plot!.data[1])).toEqual([0, 1, 2, 3, 4, 5]);

    sweepRun(store, 'β = 0.2', false, ppoRecords(2, 100));
    expect(labels(plot!).slice(1).map((l) => String(l).split(':')[0])).toEqual(['β = 0', 'β = 0', 'β = 0.05', 'β = 0.05', 'β = 0.2', 'β = 0.2']);
    expect(Array.from(plot!.data[3])).toEqual([0, 10, 20, 30, null, null]); // β = 0.05 kept, with its last point
    expect(stroke(plot!, 5)).toBe(RUN_COLORS[2]);
  });

  test('a normal run after a sweep is drawn as before: unlabelled lines in their own colours', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    mount(<LineChart title="PPO reward" lines={LINES} store={store} smoothing onCreate={(p) => (plot = p)} />);
    sweepRun(store, 'β = 0', true, ppoRecords(4, 1));
    sweepRun(store, 'β = 0.05', false, ppoRecords(4, 2));
    expect(plot!.series.length).toBe(1 + 2 * 2 * 2); // runs × lines × (raw, smoothed)
    act(() => {
      store.getState().reset();
      store.getState().onMetrics(ppoRecords(4, 3));
      store.getState().flush();
    });
    expect(labels(plot!)).toEqual(['step', 'Proxy (raw)', 'Proxy', 'Gold (raw)', 'Gold']);
    expect([stroke(plot!, 2), stroke(plot!, 4)]).toEqual([LINES[0].color, LINES[1].color]);
    expect(Array.from(plot!.data[1])).toEqual([0, 3, 6, 9]);
  });
});

describe('a sweep on the frontier chart', () => {
  test("each run's PPO proxy and gold against √KL; best-of-N for the current run and kept runs that have it", () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<FrontierChart store={store} onCreate={(p) => (plot = p)} />);
    expect(labels(plot!)).toEqual(['√KL', 'PPO proxy (RM)', 'PPO gold', 'Best-of-N proxy', 'Best-of-N gold']);

    sweepRun(store, 'β = 0', true, ppoRecords(5, 1));
    const bon: MetricRecord[] = [{ stage: 'bon', step: 4, 'bon/proxy': 2, 'bon/gold': 1, 'bon/kl_bound': 2.25 }];
    sweepRun(store, 'β = 0.05', false, [...ppoRecords(3, 0.5), ...bon]);
    expect(labels(plot!)).toEqual([
      '√KL',
      'β = 0: PPO proxy (RM)',
      'β = 0: PPO gold',
      'β = 0.05: PPO proxy (RM)',
      'β = 0.05: PPO gold',
      'β = 0.05: Best-of-N proxy',
      'β = 0.05: Best-of-N gold',
    ]);
    const d = plot!.data;
    expect(Array.from(d[0])).toEqual([0, 1, 1.5, 2, 3, 4]); // √KL of every run, merged
    expect(Array.from(d[2])).toEqual([0, 3, undefined, 4, 3, 0]); // β = 0's gold: up, then down
    expect(Array.from(d[4])).toEqual([0, 3, undefined, 4, undefined, undefined]); // β = 0.05's gold
    expect(Array.from(d[5])).toEqual([undefined, undefined, 2, undefined, undefined, undefined]); // its best-of-4 proxy
    expect([stroke(plot!, 2), stroke(plot!, 4)]).toEqual([RUN_COLORS[0], RUN_COLORS[1]]);
    const summary = div.querySelector('.visually-hidden')!.textContent!;
    expect(summary).toContain('β = 0: PPO (step 4) at √KL 4: proxy 4, gold 0');
    expect(summary).toContain('over-optimisation');
    expect(summary).toContain('β = 0.05: PPO (step 2) at √KL 2');

    // Kept, β = 0.05 keeps its best-of-N markers; β = 0 (none) has none.
    sweepRun(store, 'β = 0.2', false, ppoRecords(2, 0.1));
    expect(labels(plot!).filter((l) => String(l).includes('Best-of-N'))).toEqual([
      'β = 0.05: Best-of-N proxy',
      'β = 0.05: Best-of-N gold',
      'β = 0.2: Best-of-N proxy',
      'β = 0.2: Best-of-N gold',
    ]);
    expect(plot!.series.length).toBe(1 + 2 + 4 + 4);
  });
});

describe('the grid during a sweep', () => {
  test('names the kept runs and clears them with a button (keyboard too); nothing shows for a normal run', async () => {
    const store = manualStore();
    const created = new Map<string, uPlot>();
    const { div } = mount(<ChartGrid store={store} onCreate={(title, p) => created.set(title, p)} />);
    const note = () => div.querySelector('[role="group"][aria-label="Runs drawn together"]');
    act(() => {
      store.getState().onMetrics(ppoRecords(3, 1));
      store.getState().flush();
    });
    expect(note()).toBeNull();

    sweepRun(store, 'β = 0', true, ppoRecords(3, 1));
    expect(note()).toBeNull(); // the sweep's first run: nothing kept yet
    sweepRun(store, 'β = 0.05', false, ppoRecords(3, 2));
    expect(note()!.textContent).toContain('β = 0, and on top the current run, β = 0.05');
    const reward = () => created.get('PPO reward: proxy and gold')!;
    expect(reward().series.length).toBe(1 + 2 * 2 * 2); // 2 runs × 2 lines × (raw, smoothed)
    expect(created.get('frontier')!.series.length).toBe(1 + 2 + 4);
    // The kept run's lines thin, the current run's wider on top: smoothed lines (every second series) and the frontier's PPO lines.
    expect([2, 4, 6, 8].map((i) => reward().series[i].width)).toEqual([KEPT_LINE_WIDTH, KEPT_LINE_WIDTH, 2, 2]);
    expect([1, 2, 3, 4].map((i) => created.get('frontier')!.series[i].width)).toEqual([KEPT_LINE_WIDTH, KEPT_LINE_WIDTH, 2, 2]);

    const button = [...note()!.querySelectorAll('button')].find((b) => b.textContent === 'Clear earlier runs')!;
    button.focus();
    await userEvent.keyboard('{Enter}');
    expect(store.getState().keptRuns).toEqual([]);
    expect(note()).toBeNull();
    expect(labels(reward())).toEqual(['step', 'β = 0.05: Proxy (RM score) (raw)', 'β = 0.05: Proxy (RM score)', 'β = 0.05: Gold reward (raw)', 'β = 0.05: Gold reward']);
    expect(Array.from(reward().data[1])).toEqual([0, 2, 4]); // the current run's raw proxy
  });
});
