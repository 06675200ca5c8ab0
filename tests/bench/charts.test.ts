// The charts benchmark's pure half (src/bench/charts.ts): the summary of the page's timed updates against the
// targets, the checks that make a run invalid, the printed table and the JSON. (The page itself runs in headless
// Chromium under `npm run bench -- charts`; the charts' behaviour is tested in tests/browser/ui-charts.test.tsx.)
import { describe, expect, test } from 'vitest';
import {
  type ChartsBenchConfig,
  type ChartsPageResult,
  type ChartUpdate,
  formatChartsReport,
  type Machine,
  summarizeCharts,
  toChartsJson,
} from '../../src/bench/charts';

const CONFIG: ChartsBenchConfig = { points: 10_000, batch: 2_000, keptRuns: 0 };
const QUIET: Machine = { cpus: 2, loadStart: 0.5, loadEnd: 0.7 };

/** Updates of 2,000 points up to 10,000, with these update and cycle times, every one redrawing both charts. */
const updates = (ms: number[], cycleMs: number[]): ChartUpdate[] => ms.map((m, i) => ({ points: 2_000 * (i + 1), ms: m, cycleMs: cycleMs[i], redraws: 2 }));

function page(overrides: Partial<ChartsPageResult> = {}): ChartsPageResult {
  return {
    updates: updates([10, 20, 30, 40, 45], [20, 40, 60, 80, 90]),
    longTasks: [
      [100, 60],
      [300, 80],
    ],
    pointsByChart: { 'SFT loss': 10_000, frontier: 10_000 },
    build: 'development',
    browser: 'Chromium 156',
    ...overrides,
  };
}

describe('charts benchmark summary', () => {
  test('update times, rates at full size (≥ 90% of the points), long tasks; both targets met', () => {
    const r = summarizeCharts(CONFIG, page(), QUIET);
    expect(r.charts).toBe(2);
    expect(r.updateMs).toEqual({ count: 5, p50: 30, p99: 45, max: 45, mean: 29 });
    expect(r.fullSizeMaxMs).toBe(45);
    // Only the last update ends at ≥ 9,000 points: 45 ms of work, 90 ms with its frame.
    expect(r.updatesPerSecond.fullSizeFrom).toBe(9_000);
    expect(r.updatesPerSecond.mainThread).toBeCloseTo(1000 / 45, 10);
    expect(r.updatesPerSecond.painted).toBeCloseTo(1000 / 90, 10);
    expect(r.longTasks).toEqual({ count: 2, longestMs: 80, totalMs: 140 });
    expect(r.problems).toEqual([]);
    expect(r.targets).toEqual({ updatesPerSecond: 'met', maxUpdateMs: 'met' });
    expect(r.machine).toBe(QUIET);
    expect(r.updates).toHaveLength(5);
  });

  test('targets: 10 updates/s and 50 ms are met exactly, missed just beyond', () => {
    const atTarget = summarizeCharts(CONFIG, page({ updates: updates([10, 20, 30, 50, 100], [20, 40, 60, 80, 200]) }), QUIET);
    expect(atTarget.updatesPerSecond.mainThread).toBe(10);
    // The slowest update (100 ms) is one at full size, so the 50 ms target is missed while the rate is met.
    expect(atTarget.targets).toEqual({ updatesPerSecond: 'met', maxUpdateMs: 'not met' });

    const justOver = summarizeCharts(CONFIG, page({ updates: updates([10, 20, 30, 50.5, 101], [20, 40, 60, 80, 200]) }), QUIET);
    expect(justOver.updatesPerSecond.mainThread).toBeLessThan(10);
    expect(justOver.targets).toEqual({ updatesPerSecond: 'not met', maxUpdateMs: 'not met' });

    const maxAt50 = summarizeCharts(CONFIG, page({ updates: updates([10, 20, 30, 40, 50], [20, 40, 60, 80, 90]) }), QUIET);
    expect(maxAt50.targets.maxUpdateMs).toBe('met');
  });

  test('the 50 ms target judges the updates at full size: a slow first draw at 2,000 points is shown, not judged', () => {
    const r = summarizeCharts(CONFIG, page({ updates: updates([97, 20, 30, 40, 45], [130, 40, 60, 80, 90]) }), QUIET);
    expect(r.updateMs.max).toBe(97);
    expect(r.fullSizeMaxMs).toBe(45);
    expect(r.targets.maxUpdateMs).toBe('met');
    const slowAtFullSize = summarizeCharts(CONFIG, page({ updates: updates([10, 20, 30, 40, 51], [20, 40, 60, 80, 90]) }), QUIET);
    expect(slowAtFullSize.fullSizeMaxMs).toBe(51);
    expect(slowAtFullSize.targets.maxUpdateMs).toBe('not met');
  });

  test('fewer points than the targets name: nothing is judged, but nothing is wrong either', () => {
    const small = { ...CONFIG, points: 1_000, batch: 200 };
    const r = summarizeCharts(small, page({ updates: [{ points: 1_000, ms: 5, cycleMs: 10, redraws: 2 }], pointsByChart: { a: 1_000, b: 1_000 } }), QUIET);
    expect(r.problems).toEqual([]);
    expect(r.updatesPerSecond.fullSizeFrom).toBe(900);
    expect(r.updatesPerSecond.mainThread).toBe(200);
    expect(r.targets).toEqual({ updatesPerSecond: 'not measured', maxUpdateMs: 'not measured' });
  });

  test('lost points, redraws outside the timed work or no updates make the run invalid and unjudged', () => {
    const lost = summarizeCharts(CONFIG, page({ pointsByChart: { 'SFT loss': 10_000, frontier: 9_800 } }), QUIET);
    expect(lost.problems).toEqual(['"frontier" holds 9,800 points per series, not 10,000']);
    expect(lost.targets).toEqual({ updatesPerSecond: 'not measured', maxUpdateMs: 'not measured' });

    const late = page();
    late.updates[3] = { ...late.updates[3], redraws: 1 };
    expect(summarizeCharts(CONFIG, late, QUIET).problems).toEqual(['1 of 5 updates redrew fewer than the 2 charts within the timed work']);

    const none = summarizeCharts(CONFIG, page({ updates: [], longTasks: [] }), QUIET);
    expect(none.problems).toEqual(['the page timed no updates']);
    expect(none.updateMs).toEqual({ count: 0, p50: null, p99: null, max: null, mean: null });
    expect(none.updatesPerSecond).toEqual({ mainThread: null, painted: null, fullSizeFrom: 9_000 });
    expect(none.longTasks).toEqual({ count: 0, longestMs: null, totalMs: 0 });

    expect(summarizeCharts(CONFIG, page({ pointsByChart: {} }), QUIET).problems).toEqual(['the page reported no charts']);
  });
});

describe('charts benchmark report', () => {
  test('the table carries every figure, the targets and their verdicts; the lines under it the setup', () => {
    const text = formatChartsReport(summarizeCharts({ ...CONFIG, keptRuns: 2 }, page({ updates: updates([10, 20, 30, 40, 60], [20, 40, 60, 80, 90]) }), QUIET));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^measure\s+value\s+target\s+verdict$/);
    expect(lines[1]).toMatch(/^-+ +-+ +-+ +-+$/);
    const row = (start: string) => lines.find((l) => l.startsWith(start))!.split(/\s{2,}/);
    expect(row('update ms (onMetrics + flush → drawn), mean')).toEqual(['update ms (onMetrics + flush → drawn), mean', '32.0']);
    expect(row('update ms, p99')).toEqual(['update ms, p99', '60.0']);
    expect(row('update ms, max')).toEqual(['update ms, max', '60.0']);
    expect(row('update ms at ≥ 9,000 points, max')).toEqual(['update ms at ≥ 9,000 points, max', '60.0', '≤ 50 at 10,000 points', 'not met']);
    expect(row('updates/s at ≥ 9,000 points, main thread')).toEqual(['updates/s at ≥ 9,000 points, main thread', '16.7', '≥ 10 at 10,000 points', 'met']);
    expect(row('updates/s at ≥ 9,000 points, painted')).toEqual(['updates/s at ≥ 9,000 points, painted', '11.1']);
    expect(row('long tasks (over 50 ms)')).toEqual(['long tasks (over 50 ms)', '2']);
    expect(row('longest long task ms')).toEqual(['longest long task ms', '80.0']);
    expect(row('updates timed')).toEqual(['updates timed', '5']);
    // Values right-aligned in one column.
    const valueEnds = lines.slice(2, 12).map((l) => l.split(/\s{2,}/)[1]).map((v, i) => lines[i + 2].indexOf(v) + v.length);
    expect(new Set(valueEnds).size).toBe(1);
    expect(text).toContain('2 charts (ChartGrid); 2,000 records per stage (SFT, reward model, PPO) an update; 2 kept run(s) of a KL sweep');
    expect(text).toContain("every chart's current series ended with 10,000 points");
    expect(text).toContain("page build: development (Vite dev server: React's development build); Chromium 156");
    expect(text).toContain('machine: 2 CPUs, load average 0.5 at the start, 0.7 at the end');
    expect(text).not.toContain('loaded');
    expect(text).not.toContain('NOT A VALID MEASUREMENT');
  });

  test('an invalid run says why; a loaded machine is named; missing figures print as —', () => {
    const r = summarizeCharts(CONFIG, page({ updates: [], longTasks: [], pointsByChart: { frontier: 0 }, build: 'production' }), { cpus: 2, loadStart: 6.5, loadEnd: 1 });
    const text = formatChartsReport(r);
    expect(text).toContain('NOT A VALID MEASUREMENT:\n  "frontier" holds 0 points per series, not 10,000\n  the page timed no updates');
    expect(text).not.toContain('every chart');
    expect(text).toMatch(/update ms at ≥ 9,000 points, max\s+—\s+≤ 50 at 10,000 points\s+not measured/);
    expect(text).toContain('page build: production; ');
    expect(text).toContain('load average 6.5 at the start, 1.0 at the end (loaded:');
  });

  test('the JSON is the whole result, pretty-printed, with a final newline', () => {
    const r = summarizeCharts(CONFIG, page(), QUIET);
    const json = toChartsJson(r);
    expect(json.endsWith('}\n')).toBe(true);
    expect(JSON.parse(json)).toEqual(r);
  });
});
