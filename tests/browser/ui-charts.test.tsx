// The run charts in headless Chromium, fed by a run store with synthetic metric records: uPlot gets the series'
// points (raw + EMA-smoothed), the smoothing slider, hover read-outs, resizing and unmounting work, the grid offers
// the charts the page needs, the frontier shows PPO and best-of-N against √KL — and a chart takes 10,000 points per
// series in batches, every point arriving, with one commit and one redraw per batch. How fast it does that is
// measured by `npm run bench -- charts` (src/bench/charts.ts), not here: speed targets live in benchmarks.
import { act } from 'react';
import type uPlot from 'uplot';
import { describe, expect, test, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { createRunStore } from '../../src/store/run';
import { CHARTS, ChartGrid } from '../../src/ui/charts/ChartGrid';
import type { FrontierPoint } from '../../src/store/run';
import { formatDuration, formatValue } from '../../src/ui/charts/format';
import { FRONTIER_TITLE, FrontierChart, frontierSummary } from '../../src/ui/charts/FrontierChart';
import { chartData, LineChart } from '../../src/ui/charts/LineChart';
import { emaSmooth } from '../../src/ui/charts/smoothing';
import { mount } from '../helpers/mount';


/** A store whose commits happen only on flush() (its throttle timer never fires). */
const manualStore = () => createRunStore({ schedule: () => () => {} });

const PPO_LINES = [
  { metric: 'objective/scores', stage: 'ppo', color: '#2f6fde' },
  { metric: 'objective/gold', stage: 'ppo', color: '#d4822a' },
] as const;

function ppoBatch(from: number, count: number): MetricRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const step = from + i;
    return { stage: 'ppo', step, 'objective/scores': Math.sin(step / 50) + (step % 7) / 10, 'objective/gold': Math.cos(step / 80) };
  });
}

describe('emaSmooth', () => {
  test('debiased EMA; alpha 0 is the raw series; non-finite values pass through', () => {
    expect(Array.from(emaSmooth([1, 2, 3], 0))).toEqual([1, 2, 3]);
    const s = emaSmooth([2, 4], 0.5);
    expect(s[0]).toBe(2); // debiased: the first point is itself
    expect(s[1]).toBeCloseTo((0.5 * 0.5 * 2 + 0.5 * 4) / 0.75, 12);
    const n = emaSmooth([1, NaN, 1], 0.9);
    expect(n[0]).toBe(1);
    expect(n[1]).toBeNaN();
    expect(n[2]).toBeCloseTo(1, 12);
    expect(() => emaSmooth([1], 1)).toThrow(/alpha/);
  });

  test('chartData shares aligned x arrays and joins misaligned ones', () => {
    const a = { x: Float64Array.of(0, 1, 2), y: Float64Array.of(1, 2, 3) };
    const b = { x: Float64Array.of(0, 1, 2), y: Float64Array.of(4, 5, 6) };
    const aligned = chartData([a, b], undefined);
    expect(aligned[0]).toBe(a.x);
    expect(aligned.length).toBe(3);
    const c = { x: Float64Array.of(1, 3), y: Float64Array.of(7, 8) };
    const joined = chartData([a, c], 0);
    expect(Array.from(joined[0])).toEqual([0, 1, 2, 3]);
    expect(Array.from(joined[3])).toEqual([undefined, 7, undefined, 8]);
    expect(Array.from(joined[4])).toEqual([undefined, 7, undefined, 8]);
  });
});

describe('formatValue and formatDuration', () => {
  test('values in at most 4 significant digits, e-notation below 1e-3 and from 1e5; durations as s, m:ss, h:mm:ss', () => {
    expect(formatValue(NaN)).toBe('NaN');
    expect([formatValue(Infinity), formatValue(-Infinity)]).toEqual(['∞', '−∞']);
    expect([formatValue(42), formatValue(-7), formatValue(123456)]).toEqual(['42', '-7', '123456']); // integers as they are
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(0.001)).toBe('0.001');
    expect(formatValue(0.0005)).toBe('5.00e-4');
    expect(formatValue(12345.67)).toBe('12350');
    expect(formatValue(123456.7)).toBe('1.23e+5');
    expect([formatDuration(42.4), formatDuration(59.4), formatDuration(60)]).toEqual(['42 s', '59 s', '1:00']);
    expect(formatDuration(187)).toBe('3:07');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(7199)).toBe('1:59:59');
    expect([formatDuration(-1), formatDuration(NaN), formatDuration(Infinity)]).toEqual(['–', '–', '–']);
  });
});

describe('LineChart', () => {
  test('draws the store series, has an accessible name and a hidden summary of the latest values', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<LineChart title="PPO reward" lines={PPO_LINES} store={store} smoothing onCreate={(p) => (plot = p)} />);
    const img = div.querySelector('[role="img"]')!;
    expect(img.getAttribute('aria-label')).toBe('PPO reward');
    expect(div.querySelector('figcaption')!.textContent).toBe('PPO reward');
    expect(div.querySelector('.visually-hidden')!.textContent).toBe('No data yet.');
    expect(plot!.series.length).toBe(5); // x, then raw + smoothed per line

    act(() => {
      store.getState().onMetrics(ppoBatch(0, 30));
      store.getState().flush();
    });
    expect(plot!.data[0].length).toBe(30);
    expect(plot!.data[1][29]).toBe(ppoBatch(29, 1)[0]['objective/scores']);
    const summary = div.querySelector('.visually-hidden')!.textContent!;
    expect(summary).toContain('Latest: RM score');
    expect(summary).toContain('at step 29');
    expect(summary).toContain('Gold reward');
  });

  test('the smoothing slider sets the EMA of the drawn smoothed series', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<LineChart title="Reward" lines={PPO_LINES.slice(0, 1)} store={store} smoothing initialSmoothing={0.5} onCreate={(p) => (plot = p)} />);
    act(() => {
      store.getState().onMetrics(ppoBatch(0, 50));
      store.getState().flush();
    });
    const raw = Float64Array.from(ppoBatch(0, 50), (r) => r['objective/scores']!);
    expect(Array.from(plot!.data[2])).toEqual(Array.from(emaSmooth(raw, 0.5)));
    const slider = div.querySelector<HTMLInputElement>('input[type="range"]')!;
    expect(slider.labels![0].textContent).toBe('Smoothing');
    expect([slider.min, slider.max]).toEqual(['0', '0.99']);
    const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
    act(() => {
      setValue.call(slider, '0.9');
      slider.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(Array.from(plot!.data[2])).toEqual(Array.from(emaSmooth(raw, 0.9)));
    expect(Array.from(plot!.data[1])).toEqual(Array.from(raw));
    act(() => {
      setValue.call(slider, '0');
      slider.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(Array.from(plot!.data[2])).toEqual(Array.from(raw));
  });

  test('hover shows the values at the cursor in the legend', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<LineChart title="Reward" lines={PPO_LINES} store={store} onCreate={(p) => (plot = p)} />);
    act(() => {
      store.getState().onMetrics(ppoBatch(0, 11));
      store.getState().flush();
    });
    const u = plot!;
    const left = u.valToPos(5, 'x');
    u.setCursor({ left, top: 10 });
    expect(u.cursor.idx).toBe(5);
    const values = [...div.querySelectorAll('.u-legend .u-value')].map((e) => e.textContent);
    expect(values[0]).toBe('5');
    expect(values[1]).toBe(String(Number(ppoBatch(5, 1)[0]['objective/scores']!.toPrecision(4))));
  });

  test('with smoothing, one legend entry per line: the smoothed value with the raw one; hiding it hides both lines', async () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<LineChart title="Reward" lines={PPO_LINES} store={store} smoothing initialSmoothing={0.5} onCreate={(p) => (plot = p)} />);
    act(() => {
      store.getState().onMetrics(ppoBatch(0, 11));
      store.getState().flush();
    });
    const u = plot!;
    const rows = [...div.querySelectorAll<HTMLElement>('.u-legend .u-series')];
    expect(rows).toHaveLength(5); // step, then raw and smoothed per line
    expect(rows.map((r) => getComputedStyle(r).display !== 'none')).toEqual([true, false, true, false, true]);
    // The raw line faint (its colour at 30%) under the smoothed one in full colour.
    const stroke = (i: number) => (u.series[i].stroke as (u: uPlot, i: number) => string)(u, i);
    expect([stroke(1), stroke(2)]).toEqual(['rgba(47, 111, 222, 0.3)', '#2f6fde']);
    u.setCursor({ left: u.valToPos(5, 'x'), top: 10 });
    const raw = ppoBatch(0, 11).map((r) => r['objective/scores']!);
    const smoothed = emaSmooth(raw, 0.5);
    const shown = (v: number) => String(Number(v.toPrecision(4)));
    expect(rows[2].querySelector('.u-value')!.textContent).toBe(`${shown(smoothed[5])} (raw ${shown(raw[5])})`);
    // A click on the proxy's entry hides its smoothed and raw lines; the gold's stay; a second click shows both.
    await userEvent.click(rows[2].querySelector('.u-label')!);
    expect(u.series.map((x) => x.show)).toEqual([true, false, false, true, true]);
    await userEvent.click(rows[2].querySelector('.u-label')!);
    expect(u.series.map((x) => x.show)).toEqual([true, true, true, true, true]);
  });

  test('follows its container width and is destroyed on unmount', async () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div, unmount } = mount(<LineChart title="Reward" lines={PPO_LINES} store={store} onCreate={(p) => (plot = p)} />, { width: 500 });
    expect(plot!.width).toBe(500);
    div.style.width = '320px';
    // The observer reports after layout; the chart resizes on the frame after that.
    await vi.waitFor(() => expect(plot!.width).toBe(320), { timeout: 2000, interval: 16 });
    expect(div.querySelectorAll('.uplot').length).toBe(1);
    unmount();
    expect(div.querySelectorAll('.uplot').length).toBe(0);
  });

  test('a stage run again clears its curve', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    mount(<LineChart title="Reward" lines={PPO_LINES} store={store} onCreate={(p) => (plot = p)} />);
    act(() => {
      store.getState().onStage('ppo', 'started');
      store.getState().onMetrics(ppoBatch(0, 20));
      store.getState().flush();
    });
    expect(plot!.data[0].length).toBe(20);
    act(() => store.getState().onStage('ppo', 'started'));
    expect(plot!.data[0].length).toBe(0);
  });

  test('10,000 points per series in batches: every point arrives, batch by batch, one commit and one redraw per batch', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    mount(<LineChart title="Reward" lines={PPO_LINES} store={store} smoothing onCreate={(p) => (plot = p)} />);
    const [N, BATCH] = [10_000, 200];
    let redraws = 0;
    plot!.hooks.draw = [...(plot!.hooks.draw ?? []), () => redraws++];
    const firstVersion = store.getState().version;
    for (let from = 0; from < N; from += BATCH) {
      act(() => {
        store.getState().onMetrics(ppoBatch(from, BATCH));
        store.getState().flush();
      });
      // x, then raw + smoothed per line: all drawn up to this batch's last point.
      for (const series of plot!.data) expect(series.length).toBe(from + BATCH);
      expect(plot!.data[0][from + BATCH - 1]).toBe(from + BATCH - 1);
    }
    expect(store.getState().version - firstVersion).toBe(N / BATCH);
    expect(redraws).toBe(N / BATCH);
    expect(plot!.data[0][N - 1]).toBe(N - 1);
    expect(plot!.data[1][N - 1]).toBe(ppoBatch(N - 1, 1)[0]['objective/scores']);
  });
});

describe('ChartGrid and FrontierChart', () => {
  test('the grid offers every chart the page needs, each named by its title', () => {
    const store = manualStore();
    const created = new Map<string, uPlot>();
    const { div } = mount(<ChartGrid store={store} onCreate={(title, p) => created.set(title, p)} />);
    const names = [...div.querySelectorAll('[role="img"]')].map((e) => e.getAttribute('aria-label'));
    expect(names).toEqual([
      'SFT loss',
      'Reward model loss and accuracy',
      'PPO reward: proxy and gold',
      FRONTIER_TITLE,
      'KL to the SFT policy',
      'Policy entropy',
      'Clip fraction and approx. KL',
      'Value loss',
      'Policy ratio',
      'Response length',
    ]);
    const metrics = CHARTS.flatMap((c) => c.lines.map((l) => l.metric));
    for (const m of ['loss', 'rm/loss', 'rm/accuracy', 'objective/scores', 'objective/gold', 'objective/kl', 'policy/sqrt_kl', 'objective/entropy', 'policy/clipfrac', 'policy/approxkl', 'loss/value', 'val/ratio', 'val/response_length']) {
      expect(metrics).toContain(m);
    }
    act(() => {
      store.getState().onMetrics([
        { stage: 'sft', step: 0, loss: 2 },
        { stage: 'sft', step: 1, loss: 1.5 },
        { stage: 'rm', step: 0, 'rm/loss': 0.69, 'rm/accuracy': 0.5 },
      ]);
      store.getState().flush();
    });
    expect(Array.from(created.get('SFT loss')!.data[1])).toEqual([2, 1.5]);
    expect(created.get('Reward model loss and accuracy')!.data.length).toBe(5); // x + 2 lines × (raw, smoothed)
    expect(created.get('Reward model loss and accuracy')!.axes.length).toBe(3); // accuracy on a right axis
    expect(created.get('Reward model loss and accuracy')!.series.map((x) => x.scale)).toEqual(['x', 'y', 'y', 'right', 'right']); // loss left, accuracy (raw, smoothed) right
  });

  test('frontier: PPO proxy/gold lines and best-of-N markers against √KL; the summary names over-optimisation', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<FrontierChart store={store} onCreate={(p) => (plot = p)} />);
    expect(div.querySelector('[role="img"]')!.getAttribute('aria-label')).toBe(FRONTIER_TITLE);
    // Proxy keeps rising with KL; gold rises, peaks at KL 4 (√KL 2) and falls.
    const kls = [0, 1, 4, 9, 16];
    const golds = [0, 0.5, 0.8, 0.5, 0.1];
    act(() => {
      store.getState().onMetrics(kls.map((kl, i) => ({ stage: 'ppo', step: i, 'objective/kl': kl, 'policy/sqrt_kl': Math.sqrt(kl), 'objective/scores': i, 'objective/gold': golds[i] })));
      store.getState().onMetrics([
        { stage: 'bon', step: 1, 'bon/proxy': 0, 'bon/gold': 0, 'bon/kl_bound': 0 },
        { stage: 'bon', step: 4, 'bon/proxy': 1.2, 'bon/gold': 0.6, 'bon/kl_bound': 2.25 },
      ]);
      store.getState().flush();
    });
    // The rows of the points: PPO's Gao fit (best-of-N's two points have none) adds the √KL values of its line.
    const rows = Array.from(plot!.data[0], (_, i) => i).filter((i) => [1, 2, 3, 4].some((s) => plot!.data[s][i] !== undefined));
    const d = plot!.data.map((column) => rows.map((i) => column[i]));
    expect(d[0]).toEqual([0, 1, 1.5, 2, 3, 4]); // √KL of PPO and best-of-N, merged
    expect(d[1]).toEqual([0, 1, undefined, 2, 3, 4]); // PPO proxy
    expect(d[2]).toEqual([0, 0.5, undefined, 0.8, 0.5, 0.1]); // PPO gold
    expect(d[3]).toEqual([0, undefined, 1.2, undefined, undefined, undefined]); // best-of-N proxy
    expect(d[4]).toEqual([0, undefined, 0.6, undefined, undefined, undefined]); // best-of-N gold
    expect(plot!.series.slice(1).map((s) => s.label)).toEqual(['PPO proxy (RM)', 'PPO gold', 'Best-of-N proxy', 'Best-of-N gold', 'PPO fit']);
    // Proxy solid and gold dashed; best-of-N markers, its proxy filled and its gold hollow (white inside).
    expect(plot!.series.slice(1, 3).map((s) => s.dash)).toEqual([undefined, [6, 4]]);
    const paint = (i: number, v: unknown) => (typeof v === 'function' ? v(plot, i) : v);
    const bonColor = paint(3, plot!.series[3].stroke);
    expect(bonColor).not.toBe('#ffffff');
    expect([3, 4].map((i) => paint(i, plot!.series[i].points!.fill))).toEqual([bonColor, '#ffffff']);
    expect(paint(4, plot!.series[4].points!.stroke)).toBe(bonColor);
    // The trajectory's points are marked only while at most 200 are in view (10,000 circles are slow and a blur).
    const marked = plot!.series[1].points!.show as (u: uPlot, i: number, first: number, last: number) => boolean;
    expect([marked(plot!, 1, 0, 200), marked(plot!, 1, 0, 201), marked(plot!, 1, 100, 300)]).toEqual([true, false, true]);
    const summary = div.querySelector('.visually-hidden')!.textContent!;
    expect(summary).toContain('PPO (step 4) at √KL 4: proxy 4, gold 0.1');
    expect(summary).toContain('Best-of-N (N = 4) at √KL 1.5');
    expect(summary).toContain('over-optimisation');
  });
  test('frontier summary: gold left out where there is none; over-optimisation only when gold fell > 10% of its range from its first peak while the proxy did not', () => {
    const ppo = (golds: readonly number[], proxies: readonly number[]) => ({
      ppo: golds.map((gold, i): FrontierPoint => ({ step: i, sqrtKl: i, proxy: proxies[i], gold })),
    });
    const rising = [0, 1, 2, 3];
    expect(frontierSummary(ppo([NaN, NaN, NaN], rising))).toBe('PPO (step 2) at √KL 2: proxy 2.');
    const turned = (golds: readonly number[], proxies = rising) => frontierSummary(ppo(golds, proxies)).includes('over-optimisation');
    expect(frontierSummary(ppo([0, 1, 0.8], rising))).toContain('PPO gold reward peaked at √KL 1 (1) and fell while the proxy kept rising: over-optimisation');
    expect(turned([0, 1, 0.95])).toBe(false); // fell by 5% of its range
    expect(turned([1, 0])).toBe(false); // two points say nothing yet
    expect(turned([0, 1, 0.2], [0, 2, 1])).toBe(false); // the proxy fell too
    // A plateau: the peak is where gold first reached it.
    expect(frontierSummary(ppo([0, 1, 1, 0.2], rising))).toContain('peaked at √KL 1 (1)');
  });

  test('frontier: a point whose KL is not finite (a diverged run) has no place on the √KL axis', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    mount(<FrontierChart store={store} onCreate={(p) => (plot = p)} />);
    act(() => {
      store.getState().onMetrics([0, 1, 4, NaN].map((kl, i) => ({ stage: 'ppo', step: i, 'objective/kl': kl, 'objective/scores': i, 'objective/gold': 0 })));
      store.getState().flush();
    });
    expect(Array.from(plot!.data[0]).every((x) => Number.isFinite(x))).toBe(true);
    expect(Array.from(plot!.data[1]).filter((v) => v != null)).toEqual([0, 1, 2]); // the PPO proxy of the three finite points
  });
});
