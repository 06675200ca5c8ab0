// The charts benchmark (`npm run bench -- charts`): how fast the run charts take new points as a run grows. The page
// src/bench/charts.html (script ./charts-page.tsx), in a production build as users get the lab (src/bench/page.ts
// servePage), mounts the real ChartGrid, fed by a run store (src/store/run.ts), in headless Chromium and feeds it
// synthetic SFT, reward-model and PPO metric records, `batch` records per stage an update, until every series holds
// `points` points — optionally on top of `keptRuns` finished runs of a KL sweep, which every chart draws too. Per
// update it times onMetrics + flush → every chart redrawn (the synchronous work that holds the main thread: the
// store's commit, React's render and commit, uPlot's redraws), then lets the browser paint a frame before the next
// one, and it records the long tasks meanwhile. Updates a second are given two ways:
// what the main thread sustains (1000 / mean update ms: the page's own work, which the target is about, as the run
// store commits at most 10 times a second) and what gets painted (1000 / mean of update + the frame after it, which
// also counts the browser's rasterising: in software, and slow, in headless Chromium without a GPU).
//
// This module is the pure half, used by the CLI in Node: the configuration, what the page reports, the summary
// against the targets (issue: ≥ 10 updates/s with 10,000 points per series, no update over 50 ms), the table and
// bench-results/charts.json. The page's half cannot live here: this one reuses the page benchmark's percentiles,
// and src/bench/page.ts also drives a browser from Node.
import { LONG_TASK_MS, type PageBenchResult, spread, type Spread } from './page';
import type { Verdict } from './results';

export interface ChartsBenchConfig {
  /** Points every series holds at the end. */
  points: number;
  /** Records per stage in one update (the engine worker sends metrics in batches of up to 200). */
  batch: number;
  /** Finished runs of a KL sweep drawn under the current run (0 … MAX_KEPT_RUNS of src/store/run.ts). */
  keptRuns: number;
}

export const DEFAULT_CHARTS_CONFIG: Readonly<ChartsBenchConfig> = Object.freeze({ points: 10_000, batch: 200, keptRuns: 0 });
/** --quick: a smoke run's points per series (below the targets' size, so they read 'not measured'). */
export const QUICK_CHART_POINTS = 1_000;

/** The targets: at this many points per series, at least UPDATES_PER_SECOND_TARGET updates a second … */
export const TARGET_POINTS = 10_000;
export const UPDATES_PER_SECOND_TARGET = 10;
/** … and no update holding the main thread longer than this (the browser's long-task threshold). */
export const MAX_UPDATE_MS_TARGET = LONG_TASK_MS;
/** Rates are taken over the updates that end with at least this share of the points: the charts at full size. */
export const FULL_SIZE_SHARE = 0.9;

/** One update as the page timed it. */
export interface ChartUpdate {
  /** Points per series after it. */
  points: number;
  /** onMetrics + flush → every chart redrawn. */
  ms: number;
  /** From its start to the start of the next: the update, then the frame the browser painted. */
  cycleMs: number;
  /** uPlot redraws during `ms` (every chart's data changes in every update, so each should redraw once). */
  redraws: number;
}

/** What the page leaves in window.__chartsBenchResult. */
export interface ChartsPageResult {
  updates: ChartUpdate[];
  /** [startTime, duration] (ms) of the long tasks that started during the updates. */
  longTasks: [number, number][];
  /** Per chart (by title), the most points any of the current run's series holds at the end. */
  pointsByChart: Record<string, number>;
  /** Vite's mode of the page: the CLI serves a production build; the dev server would give React's development build. */
  build: 'development' | 'production';
  browser: string;
  /** Why the page could not run the benchmark. */
  fatal?: string;
}

export type Machine = PageBenchResult['machine'];

/** bench-results/charts.json. */
export interface ChartsBenchResult {
  config: ChartsBenchConfig;
  charts: number;
  /** onMetrics + flush → drawn, over every update, plus the mean. */
  updateMs: Spread & { mean: number | null };
  /**
   * The slowest update at full size (≥ updatesPerSecond.fullSizeFrom points): what the 50 ms target judges. The
   * first update (the charts' first draw: cold code, axes measured) can be slower at a few hundred points; updateMs.max
   * shows it.
   */
  fullSizeMaxMs: number | null;
  /** Over the updates at full size (≥ fullSizeFrom points): 1000 / mean update ms, and 1000 / mean cycle ms. */
  updatesPerSecond: { mainThread: number | null; painted: number | null; fullSizeFrom: number };
  longTasks: { count: number; longestMs: number | null; totalMs: number };
  pointsByChart: Record<string, number>;
  /** What makes the measurement invalid (points that never arrived, redraws outside the timed work); empty if none. */
  problems: string[];
  targets: { updatesPerSecond: Verdict; maxUpdateMs: Verdict };
  build: ChartsPageResult['build'];
  browser: string;
  machine: Machine;
  updates: ChartUpdate[];
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const perSecond = (ms: readonly number[]) => {
  const m = mean(ms);
  return m === null || m <= 0 ? null : 1000 / m;
};
const count = (n: number) => n.toLocaleString('en-US');

/** The page's updates summed up and judged against the targets. */
export function summarizeCharts(config: ChartsBenchConfig, page: ChartsPageResult, machine: Machine): ChartsBenchResult {
  const { updates, longTasks, pointsByChart } = page;
  const charts = Object.keys(pointsByChart).length;
  const problems: string[] = [];
  for (const [title, points] of Object.entries(pointsByChart)) {
    if (points !== config.points) problems.push(`"${title}" holds ${count(points)} points per series, not ${count(config.points)}`);
  }
  const undrawn = updates.filter((u) => u.redraws < charts);
  if (charts === 0) problems.push('the page reported no charts');
  else if (undrawn.length) problems.push(`${undrawn.length} of ${updates.length} updates redrew fewer than the ${charts} charts within the timed work`);
  if (updates.length === 0) problems.push('the page timed no updates');

  const ms = updates.map((u) => u.ms);
  const fullSizeFrom = Math.ceil(FULL_SIZE_SHARE * config.points);
  const fullSize = updates.filter((u) => u.points >= fullSizeFrom);
  const mainThread = perSecond(fullSize.map((u) => u.ms));
  const updateMs = { ...spread(ms), mean: mean(ms) };
  const fullSizeMaxMs = fullSize.length ? Math.max(...fullSize.map((u) => u.ms)) : null;
  const durations = longTasks.map(([, d]) => d);
  const measured = problems.length === 0 && config.points >= TARGET_POINTS;
  return {
    config,
    charts,
    updateMs,
    fullSizeMaxMs,
    updatesPerSecond: { mainThread, painted: perSecond(fullSize.map((u) => u.cycleMs)), fullSizeFrom },
    longTasks: { count: durations.length, longestMs: durations.length ? Math.max(...durations) : null, totalMs: durations.reduce((a, b) => a + b, 0) },
    pointsByChart,
    problems,
    targets: {
      updatesPerSecond: !measured || mainThread === null ? 'not measured' : mainThread >= UPDATES_PER_SECOND_TARGET ? 'met' : 'not met',
      maxUpdateMs: !measured || fullSizeMaxMs === null ? 'not measured' : fullSizeMaxMs <= MAX_UPDATE_MS_TARGET ? 'met' : 'not met',
    },
    build: page.build,
    browser: page.browser,
    machine,
    updates,
  };
}

export function toChartsJson(result: ChartsBenchResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

const fixed = (x: number | null, digits = 1) => (x === null ? '—' : x.toFixed(digits));

/** The table (targets in its last columns) and the lines under it, as the CLI prints them. */
export function formatChartsReport(result: ChartsBenchResult): string {
  const { config, updateMs: u, updatesPerSecond: rate, longTasks: lt, targets } = result;
  const rows = [
    ['measure', 'value', 'target', 'verdict'],
    ['update ms (onMetrics + flush → drawn), mean', fixed(u.mean), '', ''],
    ['update ms, p50', fixed(u.p50), '', ''],
    ['update ms, p99', fixed(u.p99), '', ''],
    ['update ms, max', fixed(u.max), '', ''],
    [`update ms at ≥ ${count(rate.fullSizeFrom)} points, max`, fixed(result.fullSizeMaxMs), `≤ ${MAX_UPDATE_MS_TARGET} at ${count(TARGET_POINTS)} points`, targets.maxUpdateMs],
    [`updates/s at ≥ ${count(rate.fullSizeFrom)} points, main thread`, fixed(rate.mainThread), `≥ ${UPDATES_PER_SECOND_TARGET} at ${count(TARGET_POINTS)} points`, targets.updatesPerSecond],
    [`updates/s at ≥ ${count(rate.fullSizeFrom)} points, painted`, fixed(rate.painted), '', ''],
    [`long tasks (over ${LONG_TASK_MS} ms)`, String(lt.count), '', ''],
    ['longest long task ms', fixed(lt.longestMs), '', ''],
    ['updates timed', String(u.count), '', ''],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 1 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const { cpus, loadStart, loadEnd } = result.machine;
  return [
    line(rows[0]),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.slice(1).map(line),
    '',
    `${result.charts} charts (ChartGrid); ${count(config.batch)} records per stage (SFT, reward model, PPO) an update; ` +
      (config.keptRuns ? `${config.keptRuns} kept run(s) of a KL sweep drawn under the current one` : 'no kept runs'),
    ...(result.problems.length
      ? ['NOT A VALID MEASUREMENT:', ...result.problems.map((p) => `  ${p}`)]
      : [`every chart's current series ended with ${count(config.points)} points, and every update redrew every chart`]),
    "updates/s: main thread = 1000 / mean update ms (the page's own work); painted = 1000 / mean of the update and the",
    "frame painted after it (adds the browser's rasterising: in software in headless Chromium without a GPU)",
    '',
    `page build: ${result.build}${result.build === 'development' ? " (Vite dev server: React's development build)" : ''}; ${result.browser}`,
    `machine: ${cpus} CPUs, load average ${loadStart.toFixed(1)} at the start, ${loadEnd.toFixed(1)} at the end` +
      (Math.max(loadStart, loadEnd) > cpus ? ' (loaded: the main thread is descheduled mid-update, so updates stretch)' : ''),
  ].join('\n');
}
