// What the charts make once of a sweep's kept runs (src/ui/charts/kept.ts), in headless Chromium: joinAscending
// against uPlot.join (its reference), minMaxRows against a plain per-column search, extent and lastFor against plain
// loops; and on mounted charts, that a kept run's
// paths are reused across updates while the current run's are rebuilt, that they draw the same pixels as uPlot's own
// paths, that the y range still covers the kept runs (hidden ones left out, the visible window when zoomed), and
// that hover read-outs still show the kept runs' values.
import { act } from 'react';
import uPlot from 'uplot';
import { describe, expect, test } from 'vitest';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { createRunStore, type RunStore } from '../../src/store/run';
import { FrontierChart, KEPT_FRONTIER_COLUMNS } from '../../src/ui/charts/FrontierChart';
import { extent, joinAscending, lastFor, minMaxRows } from '../../src/ui/charts/kept';
import { LineChart } from '../../src/ui/charts/LineChart';
import { mount } from '../helpers/mount';

/** A store whose commits happen only on flush() (its throttle timer never fires). */
const manualStore = () => createRunStore({ schedule: () => () => {} });

/** A seeded generator (mulberry32): the same tables on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A table of `rows` ascending x values (repeats likely, from a small set) and `columns` series with some nulls. */
function randomTable(next: () => number, rows: number, columns: number): uPlot.AlignedData {
  const x = Array.from({ length: rows }, () => Math.floor(next() * 40) / 4).sort((a, b) => a - b);
  const ys = Array.from({ length: columns }, () => x.map(() => (next() < 0.2 ? null : Math.round(next() * 100))));
  return [x, ...ys];
}

/** The chart draws the same pixels as a uPlot of the same options and data drawing and ranging every series itself. */
async function expectSamePixelsAsPlainUPlot(u: uPlot, div: HTMLElement): Promise<void> {
  const plain = new uPlot(
    {
      width: u.width,
      height: u.height,
      series: u.series.map((s, i) => (i === 0 ? { label: s.label } : { label: s.label, scale: s.scale, stroke: s.stroke, width: s.width, dash: s.dash, spanGaps: true, points: { show: false } })),
      axes: u.axes.map((a) => ({ scale: a.scale, side: a.side, size: a.size, label: a.label, labelSize: a.labelSize, grid: a.grid })),
      scales: { x: { time: false } },
      legend: { show: false },
    },
    u.data,
    div,
  );
  await Promise.resolve(); // uPlot sizes and draws a new chart on a microtask
  const [drawn, reference] = [pixels(u), pixels(plain)];
  expect(drawn.length).toBe(reference.length);
  expect(drawn.filter((v, i) => v !== reference[i]).length).toBe(0);
  plain.destroy();
}

describe('joinAscending', () => {
  test('the union of x values with each table on it, as uPlot.join makes it', () => {
    const a: uPlot.AlignedData = [[0, 1, 3], [10, 11, 13]];
    const b: uPlot.AlignedData = [[1, 2, 2, 5], [21, null, 22, 25], [31, 32, 33, 35]];
    const joined = joinAscending([a, b]);
    expect(joined.map((c) => Array.from(c))).toEqual([
      [0, 1, 2, 3, 5],
      [10, 11, undefined, 13, undefined],
      [undefined, 21, 22, undefined, 25], // x = 2 twice: the last row wins
      [undefined, 31, 33, undefined, 35],
    ]);
    expect(joined.map((c) => Array.from(c))).toEqual(uPlot.join([a, b]).map((c) => Array.from(c)));
  });

  test('matches uPlot.join on random ragged tables with repeats and nulls, and on empty ones', () => {
    const next = random(7);
    for (let trial = 0; trial < 50; trial++) {
      const tables = Array.from({ length: 1 + Math.floor(next() * 4) }, () => randomTable(next, Math.floor(next() * 30), 1 + Math.floor(next() * 3)));
      const want = uPlot.join(tables).map((c) => Array.from(c));
      expect(joinAscending(tables).map((c) => Array.from(c))).toEqual(want);
    }
    expect(joinAscending([[[], []], [[1], [2]]]).map((c) => Array.from(c))).toEqual([[1], [undefined], [2]]);
  });

  test('refuses x values that do not ascend', () => {
    expect(() => joinAscending([[[0, 2, 1], [1, 2, 3]], [[0], [5]]])).toThrow(/ascend/);
    expect(() => joinAscending([[[0, NaN], [1, 2]], [[0], [5]]])).toThrow(/ascend/);
  });
});

/** minMaxRows' reference: per column, every series' first smallest and first largest finite value's row, by search. */
function minMaxRowsReference(table: uPlot.AlignedData, columns: number): number[] {
  const x = table[0] as number[];
  const width = (x[x.length - 1] - x[0]) / columns;
  const column = (i: number) => (width > 0 ? Math.min(columns - 1, Math.floor((x[i] - x[0]) / width)) : 0);
  const rows = new Set<number>();
  for (let c = 0; c < columns; c++) {
    const inColumn = x.map((_, i) => i).filter((i) => column(i) === c);
    for (const y of table.slice(1) as (number | null)[][]) {
      const finite = inColumn.filter((i) => y[i] != null && Number.isFinite(y[i]));
      if (!finite.length) continue;
      const values = finite.map((i) => y[i]!);
      rows.add(finite[values.indexOf(Math.min(...values))]).add(finite[values.indexOf(Math.max(...values))]);
    }
  }
  return [...rows].sort((a, b) => a - b);
}

describe('minMaxRows', () => {
  test('keeps each series\' extremes per column, rows whole and in order; matches a plain search on random tables', () => {
    // 12 rows over x 0…11 in 2 columns: [0, 6) and [6, 11].
    const x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const proxy = [5, 1, 9, 4, 4, 2, 0, 7, 3, 8, 6, 1];
    const gold = [null, 3, NaN, 3, -1, 2, null, null, null, null, null, null];
    const kept = minMaxRows([x, proxy, gold], 2);
    // Column 1: proxy min row 1, max row 2; gold min row 4, max row 1 (NaN and null skipped). Column 2: proxy min 6,
    // max 9; gold has no value there.
    expect(kept.map((c) => Array.from(c))).toEqual([
      [1, 2, 4, 6, 9],
      [1, 9, 4, 0, 8],
      [3, NaN, -1, null, null],
    ]);
    const next = random(11);
    for (let trial = 0; trial < 30; trial++) {
      const rows = 20 + Math.floor(next() * 200);
      const xs = Array.from({ length: rows }, () => next() * 10).sort((a, b) => a - b);
      const ys = [0, 1].map(() => xs.map(() => (next() < 0.1 ? null : next() < 0.05 ? NaN : next())));
      const table: uPlot.AlignedData = [xs, ...ys];
      const columns = 1 + Math.floor(next() * 8);
      const want = minMaxRowsReference(table, columns);
      expect(minMaxRows(table, columns).map((c) => Array.from(c))).toEqual(table.map((c) => want.map((i) => c[i])));
    }
  });

  test('a table of at most 4 rows a column is kept whole, the same object; one x value is one column', () => {
    const small: uPlot.AlignedData = [[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 8]];
    expect(minMaxRows(small, 2)).toBe(small);
    const flat: uPlot.AlignedData = [[3, 3, 3, 3, 3], [4, 9, 1, 5, 2]];
    expect(minMaxRows(flat, 1).map((c) => Array.from(c))).toEqual([[3, 3], [9, 1]]);
  });
});

describe('extent and lastFor', () => {
  test('extent: smallest and largest finite value in the window, gaps and NaN skipped', () => {
    const y = [null, 3, NaN, -2, undefined, Infinity, 7, 1];
    expect(extent(y)).toEqual([-2, 7]);
    expect(extent(y, 2, 5)).toEqual([-2, -2]);
    expect(extent(y, 7, 100)).toEqual([1, 1]);
    expect(extent([null, NaN])).toBeNull();
    expect(extent(new Float64Array(0))).toBeNull();
  });

  test('lastFor: once per object for the latest argument, each object on its own', () => {
    let calls = 0;
    const sum = lastFor((xs: number[], scale: number) => {
      calls++;
      return scale * xs.reduce((a, b) => a + b, 0);
    });
    const [a, b] = [[1, 2], [3]];
    expect([sum(a, 1), sum(a, 1), sum(b, 1), sum(a, 1)]).toEqual([3, 3, 3, 3]);
    expect(calls).toBe(2);
    expect(sum(a, 10)).toBe(30);
    expect(calls).toBe(3);
  });
});

const LINES = [
  { metric: 'objective/scores', stage: 'ppo', label: 'Proxy', color: '#2f6fde' },
  { metric: 'objective/gold', stage: 'ppo', label: 'Gold', color: '#d4822a' },
] as const;

/** PPO records `from`…`from + n − 1` of a run: KL grows with the step; the rewards are `scale` times a wave. */
const ppoRecords = (from: number, n: number, scale: number): MetricRecord[] =>
  Array.from({ length: n }, (_, i) => {
    const step = from + i;
    return { stage: 'ppo', step, 'objective/kl': (step * scale) / 100, 'objective/scores': scale * Math.sin(step / 9), 'objective/gold': scale * Math.cos(step / 13) };
  });

/** A sweep's runs: `kept` finished runs of `points` records (rewards scaled 10, 20, …), then the current one, empty. */
function sweep(store: RunStore, kept: number, points: number): void {
  act(() => {
    for (let r = 0; r <= kept; r++) {
      store.getState().reset({ label: `run ${r}`, first: r === 0 });
      store.getState().onStage('ppo', 'started');
      if (r < kept) store.getState().onMetrics(ppoRecords(0, points, 10 * (r + 1)));
      store.getState().flush();
    }
  });
}

function add(store: RunStore, records: MetricRecord[]): void {
  act(() => {
    store.getState().onMetrics(records);
    store.getState().flush();
  });
}

/** The series' paths as uPlot last drew them. */
const pathsOf = (plot: uPlot, i: number) => (plot.series[i] as uPlot.Series & { _paths: uPlot.Series.Paths | null })._paths;

/** The canvas' pixels. */
const pixels = (plot: uPlot) => {
  const ctx = plot.ctx;
  return Array.from(ctx.getImageData(0, 0, ctx.canvas.width, ctx.canvas.height).data);
};

describe('kept runs on a line chart', () => {
  test("a kept run's paths are reused while the current run grows; the current run's are rebuilt", () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    mount(<LineChart title="Reward" lines={LINES} store={store} smoothing onCreate={(p) => (plot = p)} />, { width: 500 });
    sweep(store, 2, 400);
    add(store, ppoRecords(0, 50, 5));
    // x, then per run and line raw + smoothed: runs 0 and 1 kept (series 1…8), the current run last (9…12).
    expect(plot!.series.length).toBe(13);
    const before = plot!.series.map((_, i) => pathsOf(plot!, i));
    add(store, ppoRecords(50, 50, 5));
    for (let i = 1; i <= 8; i++) expect(pathsOf(plot!, i)).toBe(before[i]);
    for (let i = 9; i <= 12; i++) expect(pathsOf(plot!, i)).not.toBe(before[i]);
    expect(plot!.series.slice(1, 9).every((s) => s.auto === false)).toBe(true);
    expect(plot!.series.slice(9).every((s) => s.auto !== false)).toBe(true);
  });

  test('draws the same pixels as uPlot drawing every series itself', async () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<LineChart title="Reward" lines={LINES} store={store} onCreate={(p) => (plot = p)} />, { width: 500 });
    sweep(store, 2, 600);
    add(store, ppoRecords(0, 100, 5));
    add(store, ppoRecords(100, 100, 5)); // the kept runs' paths come from the cache
    add(store, ppoRecords(200, 100, 50)); // the current run widens the y range: the kept runs' paths are made anew
    const u = plot!;
    await expectSamePixelsAsPlainUPlot(u, div);
  });

  test("a resized chart draws its kept runs anew, at the new size (the same pixels as uPlot's own paths)", async () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<LineChart title="Reward" lines={LINES} store={store} onCreate={(p) => (plot = p)} />, { width: 500 });
    sweep(store, 2, 300);
    add(store, ppoRecords(0, 100, 5));
    const u = plot!;
    const before = pathsOf(u, 1);
    // As the container's ResizeObserver does (UPlotView); batch: drawn at once.
    act(() => u.batch(() => u.setSize({ width: 360, height: u.height })));
    expect(u.width).toBe(360);
    expect(pathsOf(u, 1)).not.toBe(before);
    await expectSamePixelsAsPlainUPlot(u, div);
  });

  test('the y range covers the shown kept runs, over the visible points when zoomed', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    mount(<LineChart title="Reward" lines={LINES.slice(0, 1)} store={store} onCreate={(p) => (plot = p)} />, { width: 500 });
    sweep(store, 1, 200); // the kept run's proxy spans ±10
    add(store, ppoRecords(0, 20, 1)); // the current run's, ±1
    const y = () => plot!.scales.y;
    expect(y().min!).toBeLessThan(-9.9);
    expect(y().max!).toBeGreaterThan(9.9);
    plot!.batch(() => plot!.setSeries(1, { show: false })); // batch: commits at once
    expect(y().max!).toBeLessThan(2);
    plot!.batch(() => plot!.setSeries(1, { show: true }));
    // Zoomed to steps 0…5, where the kept run's proxy is 10·sin(step / 9) ≤ 10·sin(5 / 9) ≈ 5.27.
    plot!.batch(() => plot!.setScale('x', { min: 0, max: 5 }));
    expect(y().max!).toBeLessThan(7);
    expect(y().max!).toBeGreaterThan(5.27);
  });

  test("a right axis's range covers the kept runs too", () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const rmLines = [
      { metric: 'rm/loss', stage: 'rm', label: 'Loss', color: '#2f6fde' },
      { metric: 'rm/accuracy', stage: 'rm', label: 'Accuracy', color: '#d4822a', axis: 'right' },
    ] as const;
    mount(<LineChart title="Reward model" lines={rmLines} store={store} onCreate={(p) => (plot = p)} />, { width: 500 });
    const rm = (n: number, accuracy: number): MetricRecord[] =>
      Array.from({ length: n }, (_, step) => ({ stage: 'rm', step, 'rm/loss': 0.7 - step / 100, 'rm/accuracy': accuracy + step / 100 }));
    act(() => {
      store.getState().reset({ label: 'run 0', first: true });
      store.getState().onStage('rm', 'started');
      store.getState().onMetrics(rm(40, 0.56)); // the kept run's accuracy rose to 0.95
      store.getState().flush();
      store.getState().reset({ label: 'run 1', first: false });
      store.getState().onStage('rm', 'started');
      store.getState().flush();
    });
    add(store, rm(10, 0.5)); // the current run's to 0.59 so far
    expect(plot!.series.map((s) => s.scale)).toEqual(['x', 'y', 'right', 'y', 'right']);
    expect(plot!.scales.right.max!).toBeGreaterThanOrEqual(0.95);
  });

  test('hover read-outs show the kept runs’ values at the cursor', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    const { div } = mount(<LineChart title="Reward" lines={LINES} store={store} onCreate={(p) => (plot = p)} />, { width: 500 });
    sweep(store, 1, 100);
    add(store, ppoRecords(0, 10, 1));
    const u = plot!;
    u.setCursor({ left: u.valToPos(50, 'x'), top: 10 });
    expect(u.cursor.idx).toBe(50);
    const values = [...div.querySelectorAll('.u-legend .u-value')].map((e) => e.textContent);
    expect(values[1]).toBe(String(Number((10 * Math.sin(50 / 9)).toPrecision(4)))); // run 0's proxy at step 50
    expect(values[3]).toBe('–'); // the current run has no step 50 yet
  });
});

describe('kept runs on the frontier', () => {
  test("a kept run's PPO paths are reused while the current run's points are joined in", () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    mount(<FrontierChart store={store} onCreate={(p) => (plot = p)} />, { width: 500 });
    sweep(store, 1, 300);
    add(store, ppoRecords(0, 150, 2));
    // x, run 0's PPO proxy and gold (kept, no best-of-N), then the current run's PPO and best-of-N series.
    expect(plot!.series.map((s) => s.label)).toEqual(['√KL', 'run 0: PPO proxy (RM)', 'run 0: PPO gold', 'run 1: PPO proxy (RM)', 'run 1: PPO gold', 'run 1: Best-of-N proxy', 'run 1: Best-of-N gold']);
    const before = [1, 2, 3].map((i) => pathsOf(plot!, i));
    add(store, ppoRecords(150, 10, 2));
    expect(pathsOf(plot!, 1)).toBe(before[0]);
    expect(pathsOf(plot!, 2)).toBe(before[1]);
    expect(pathsOf(plot!, 3)).not.toBe(before[2]);
    // Every point of both runs is on the chart: the kept run's 300, the current run's 160.
    const points = (i: number) => Array.from(plot!.data[i]).filter((v) => v != null).length;
    expect([points(1), points(3)]).toEqual([300, 160]);
    expect(plot!.scales.y.max!).toBeGreaterThan(9.9); // the kept run's rewards reach 10
  });

  test('a long kept run is drawn through its extremes per column (KEPT_FRONTIER_COLUMNS); the current run whole', () => {
    const store = manualStore();
    let plot: uPlot | undefined;
    mount(<FrontierChart store={store} onCreate={(p) => (plot = p)} />, { width: 500 });
    sweep(store, 1, 6000);
    add(store, ppoRecords(0, 6000, 2));
    const values = (i: number) => Array.from(plot!.data[i]).filter((v): v is number => v != null);
    const kept = values(1);
    expect(kept.length).toBeGreaterThan(KEPT_FRONTIER_COLUMNS);
    expect(kept.length).toBeLessThan(4 * KEPT_FRONTIER_COLUMNS);
    const all = ppoRecords(0, 6000, 10).map((r) => r['objective/scores']!);
    expect([Math.min(...kept), Math.max(...kept)]).toEqual([Math.min(...all), Math.max(...all)]);
    expect(values(3)).toHaveLength(6000);
  });
});
