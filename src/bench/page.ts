// The page benchmark (`npm run bench -- page`): the lab page as users get it (the production bundle, served by
// `vite preview`) runs one task and preset from its **Run pipeline** button in headless Chromium, while a probe
// installed before the page loads watches the main thread. Recorded: seconds per stage and in all (from the stage
// stepper's states as the page shows them), and the main thread's responsiveness while the pipeline runs:
//  - long tasks: PerformanceObserver 'longtask' entries (tasks of the main thread over 50 ms), count and longest,
//    each with its cause: the 'long-animation-frame' entry around it (the scripts that ran, and how much of the
//    frame was rendering); and, from a Chromium trace, how much of each the main thread actually ran (its CPU time):
//    on a busy machine a task of a few ms of CPU waits for a core and stretches past 50 ms of wall clock;
//  - heartbeat: the gaps between ticks of a HEARTBEAT_MS setInterval (a blocked main thread delays the next tick);
//  - frames: the gaps between requestAnimationFrame callbacks;
//  - chart updates: redraws of the charts' canvases (a full-canvas clearRect starts each uPlot redraw), merged
//    into updates when they come within UPDATE_MERGE_MS of each other (one store commit redraws several charts);
//  - GPU calls: navigator.gpu.requestAdapter / GPUAdapter.requestDevice made by the main thread (only the engine
//    worker may touch the GPU, so this must be 0);
//  - CPU time: what the main thread used, from Chromium's own counters (DevTools protocol), which, unlike the
//    wall-clock figures above, a loaded machine does not inflate by descheduling the thread.
// And, from the engine worker's own events (a second probe wraps the page's Worker constructor and listens to the
// engine worker's messages): each stage's seconds split into generation, forward/backward, optimizer, readback and
// the worker's CPU work (the probe sends the worker the `time-split` command: src/gpu/time-split.ts says how it
// is measured; --no-time-split leaves it off, as the page itself always runs), and the seconds per iteration of the
// stages that count them (PPO iterations, optimizer steps).
// The same probe serves the e2e test (tests/e2e/page.test.ts). The summary, table and JSON are pure code.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { build, preview } from 'vite';
import { TIME_SPLIT_METHOD, type TimeSplit } from '../gpu/time-split';
import { STAGE_IDS } from '../rlhf/stages';
import { ENGINE_WORKER_NAME } from '../worker/client';
import type { WorkerMessage } from '../worker/protocol';
import type { Verdict } from './results';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The heartbeat's period: an idle main thread ticks every 20 ms, so a gap says how long the thread was held. */
export const HEARTBEAT_MS = 20;
/** Chart redraws closer than this belong to one update (one store commit redraws every chart that changed). */
export const UPDATE_MERGE_MS = 10;
/** The longest task the browser still counts as responsive (the 'longtask' threshold). */
export const LONG_TASK_MS = 50;

// ---- the probe (runs in the page) ----------------------------------------------------------------------------------

/** What the probe collects in `window.__pageProbe`; every time is performance.now() of the page, in ms. */
export interface PageProbe {
  /** Calls made by the main thread (the probe wraps the prototypes of this realm only, never a worker's). */
  gpuCalls: { requestAdapter: number; requestDevice: number };
  /** [startTime, duration] of every 'longtask' entry. */
  longTasks: [number, number][];
  /** Every 'long-animation-frame' entry (frames over 50 ms), with the scripts that ran in it. */
  longFrames: LongFrame[];
  /** The time of every heartbeat tick. */
  beats: number[];
  /** The timestamp of every requestAnimationFrame callback. */
  frames: number[];
  /** The time of every full-canvas clearRect (a chart redraw). */
  redraws: number[];
  /** Every change of what the run bar shows: [time, stage, its state] or [time, 'run', the run state's text]. */
  changes: [number, string, string][];
  /** Every click on a button: [time, its text]. */
  clicks: [number, string][];
  /** Every stage the engine worker reported done (only with installStageReportProbe). */
  stageReports?: StageReport[];
}

/** A stage's 'done' event from the engine worker. */
export interface StageReport {
  /** When the page got it. */
  at: number;
  stage: string;
  /** The stage's seconds as the worker measured them. */
  seconds: number;
  /** Where they went, when the worker was asked to split them. */
  time?: TimeSplit;
  /** The units of work the stage's last progress event counted (PPO iterations, optimizer steps), if it had any. */
  iterations?: number;
}

/** A long animation frame (the Long Animation Frames API): when, how long, and what ran in it. */
export interface LongFrame {
  start: number;
  duration: number;
  /** Of `duration`, the time rendering took (style, layout, paint), from renderStart to the frame's end. */
  renderMs: number;
  /** The scripts that ran, longest first: [what invoked it (e.g. 'Worker.onmessage', 'FrameRequestCallback'), its
   * function and source, ms]. */
  scripts: [string, string, number][];
}

/**
 * Installs the probe; pass it to page.addInitScript so it runs before the page's own scripts. Playwright sends the
 * function's source, so it must not refer to anything outside itself.
 */
export function installPageProbe(heartbeatMs: number): void {
  const probe: PageProbe = { gpuCalls: { requestAdapter: 0, requestDevice: 0 }, longTasks: [], longFrames: [], beats: [], frames: [], redraws: [], changes: [], clicks: [] };
  (window as unknown as { __pageProbe: PageProbe }).__pageProbe = probe;

  // Only present where the browser has WebGPU; wrapping the prototype catches every instance of this realm.
  const count = <T extends object>(proto: T | undefined, method: keyof T & keyof PageProbe['gpuCalls']) => {
    if (!proto) return;
    const original = proto[method] as (...args: unknown[]) => unknown;
    Object.defineProperty(proto, method, {
      configurable: true,
      writable: true,
      value(this: unknown, ...args: unknown[]) {
        probe.gpuCalls[method]++;
        return original.apply(this, args);
      },
    });
  };
  count(globalThis.GPU?.prototype, 'requestAdapter');
  count(globalThis.GPUAdapter?.prototype, 'requestDevice');

  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) probe.longTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  interface ScriptTiming {
    invoker: string;
    sourceFunctionName: string;
    sourceURL: string;
    sourceCharPosition: number;
    duration: number;
  }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { renderStart: number; scripts: ScriptTiming[] })[]) {
      const scripts = [...e.scripts]
        .sort((a, b) => b.duration - a.duration)
        .slice(0, 5)
        .map((s): [string, string, number] => [s.invoker, `${s.sourceFunctionName || '(anonymous)'} ${s.sourceURL.split('/').pop()}:${s.sourceCharPosition}`, s.duration]);
      probe.longFrames.push({ start: e.startTime, duration: e.duration, renderMs: e.renderStart > 0 ? e.startTime + e.duration - e.renderStart : 0, scripts });
    }
  }).observe({ type: 'long-animation-frame', buffered: true });
  setInterval(() => probe.beats.push(performance.now()), heartbeatMs);
  const frame = (t: number) => {
    probe.frames.push(t);
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);

  const clearRect = CanvasRenderingContext2D.prototype.clearRect;
  CanvasRenderingContext2D.prototype.clearRect = function (x, y, w, h) {
    if (x === 0 && y === 0 && w === this.canvas.width && h === this.canvas.height) probe.redraws.push(performance.now());
    clearRect.call(this, x, y, w, h);
  };

  document.addEventListener(
    'click',
    (e) => {
      const button = (e.target as Element | null)?.closest?.('button');
      if (button) probe.clicks.push([performance.now(), button.textContent ?? '']);
    },
    { capture: true },
  );

  // The stage stepper's states and the run state, recorded when they change (one MutationObserver callback per
  // React commit: a few reads of six list items).
  const shown = new Map<string, string>();
  const record = (key: string, text: string | null | undefined) => {
    if (text == null || shown.get(key) === text) return;
    shown.set(key, text);
    probe.changes.push([performance.now(), key, text]);
  };
  new MutationObserver(() => {
    for (const li of document.querySelectorAll('ol.stage-stepper li[data-stage]')) {
      record(li.getAttribute('data-stage')!, li.querySelector('.stage-state')?.textContent);
    }
    record('run', document.querySelector('.run-state')?.textContent);
  }).observe(document, { subtree: true, childList: true, characterData: true });
}

/**
 * Installs, after installPageProbe, a listener on the engine worker's messages that keeps its stage reports in the
 * probe (`stageReports`); with `timeSplit`, it first asks the worker to split each stage's time (the `time-split`
 * command, sent before the page's own first command). It wraps the page's Worker constructor and picks the engine
 * worker by its name, so the page itself is unchanged. Self-contained, as installPageProbe.
 */
export function installStageReportProbe({ workerName, timeSplit }: { workerName: string; timeSplit: boolean }): void {
  const probe = (window as unknown as { __pageProbe?: PageProbe }).__pageProbe;
  if (!probe) throw new Error('installStageReportProbe: install the page probe first');
  const reports: StageReport[] = (probe.stageReports = []);
  const done = new Map<string, number>();
  const PageWorker = window.Worker;
  window.Worker = class extends PageWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      if (options?.name !== workerName) return;
      if (timeSplit) this.postMessage({ type: 'time-split', enabled: true });
      this.addEventListener('message', (e: MessageEvent<WorkerMessage>) => {
        const m = e.data;
        if (m.type === 'progress') done.set(m.stage, m.done);
        else if (m.type === 'stage' && m.state === 'started') done.delete(m.stage);
        else if (m.type === 'stage' && m.state === 'done' && m.seconds !== undefined) {
          reports.push({ at: performance.now(), stage: m.stage, seconds: m.seconds, ...(m.time && { time: m.time }), ...(done.has(m.stage) && { iterations: done.get(m.stage) }) });
        }
      });
    }
  };
}

/** The probe's data so far (a copy, through page.evaluate). */
export function readProbe(page: Page): Promise<PageProbe> {
  return page.evaluate(() => (window as unknown as { __pageProbe: PageProbe }).__pageProbe);
}

// ---- the summary (pure) --------------------------------------------------------------------------------------------

/** The run states that end a run, as the run bar shows them (src/ui/RunControls.tsx). */
const RUN_ENDS = ['Done', 'Stopped', 'Failed'];
const RUN_BUTTON = 'Run pipeline';

export interface Spread {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface StageTiming {
  stage: string;
  /** The last state the stepper showed (done, skipped, failed, or running/pending when the run ended before). */
  state: string;
  /** From the stage showing 'running' to it showing its end; null when it never ran. */
  seconds: number | null;
  /** The worker's split of the stage's own seconds (they add up to them; PageBenchResult.timeSplitMethod says how), when it was taken. */
  time?: TimeSplit;
  /** Units of work done (PPO iterations, optimizer steps: the stage's progress count), and the worker's seconds of
   * the stage per unit (everything the stage did, its setup and final checks included, over the units). */
  iterations?: number;
  secondsPerIteration?: number;
}

export interface MainThreadSummary {
  /** Calls by the main thread over the whole page's life (the worker's are not seen). */
  gpuCalls: number;
  /** Long tasks that started while the pipeline ran, and each one's cause. */
  longTasks: { count: number; longestMs: number | null; totalMs: number; shareOfRun: number; causes: LongTaskCause[] };
  /** Gaps between heartbeat ticks that ended while the pipeline ran (ms). */
  heartbeatGapsMs: Spread;
  /** Gaps between animation frames that ended while the pipeline ran (ms). */
  frameGapsMs: Spread;
  /** Chart updates (redraws merged by UPDATE_MERGE_MS) per second of the run, and the redraws in all. */
  chartUpdatesPerSecond: number;
  chartRedraws: number;
}

/** A long task of the run and what the browser says ran in it (the long animation frames it overlaps). */
export interface LongTaskCause {
  /** Seconds after the click on Run pipeline. */
  atSeconds: number;
  ms: number;
  /** The stage running at the time (null before the first). */
  stage: string | null;
  /** Rendering (style, layout, paint) in the overlapping long frames, ms. */
  renderMs: number;
  /** The overlapping long frames' scripts, longest first (see LongFrame). */
  scripts: LongFrame['scripts'];
}

export interface PageRunSummary {
  /** How the run ended as the run bar showed it ('Done', 'Failed', 'Stopped'); null if it had not ended. */
  end: string | null;
  /** Click on Run pipeline → the run bar showing the end (or the last probe reading). */
  totalSeconds: number;
  stages: StageTiming[];
  mainThread: MainThreadSummary;
}

/** Nearest-rank percentile (p in 0…100) of unsorted values; null for none. */
export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function spread(xs: readonly number[]): Spread {
  return { count: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs.length ? Math.max(...xs) : null };
}

/** Differences between consecutive times whose later end lies in [from, to]. */
export function gapsWithin(times: readonly number[], from: number, to: number): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) if (times[i] >= from && times[i] <= to) gaps.push(times[i] - times[i - 1]);
  return gaps;
}

/** How many bursts the times (ascending) form when those closer than `mergeMs` to the previous one join its burst. */
export function countBursts(times: readonly number[], mergeMs: number): number {
  let bursts = 0;
  for (let i = 0; i < times.length; i++) if (i === 0 || times[i] - times[i - 1] >= mergeMs) bursts++;
  return bursts;
}

/**
 * The run the probe saw: from the first click on Run pipeline to the run bar's first end state after it (or, while
 * it still runs, the probe's last reading), each stage's time from 'running' to its next state, and the main thread
 * over that window. Throws when Run pipeline was never clicked.
 */
export function summarizeRun(probe: PageProbe): PageRunSummary {
  const start = probe.clicks.find(([, text]) => text === RUN_BUTTON)?.[0];
  if (start === undefined) throw new Error(`the probe saw no click on ${RUN_BUTTON}`);
  const after = probe.changes.filter(([t]) => t >= start);
  const endChange = after.find(([, key, text]) => key === 'run' && RUN_ENDS.includes(text));
  const lastReading = Math.max(start, ...[probe.beats, probe.frames, probe.changes.map(([t]) => t)].map((xs) => xs.at(-1) ?? start));
  const end = endChange?.[0] ?? lastReading;
  const during = after.filter(([t]) => t <= end);

  // In run order (a stage the run plans after the page loaded, e.g. DPO, joins the stepper later).
  const rank = (stage: string) => (STAGE_IDS as readonly string[]).indexOf(stage);
  const stageNames = [...new Set(probe.changes.map(([, key]) => key).filter((key) => key !== 'run'))].sort((a, b) => rank(a) - rank(b));
  const stages = stageNames.map((stage): StageTiming => {
    const own = during.filter(([, key]) => key === stage);
    const startedAt = own.findIndex(([, , state]) => state === 'running');
    const ended = startedAt < 0 ? undefined : own.slice(startedAt + 1).find(([, , state]) => state !== 'running');
    const lastState = own.at(-1)?.[2] ?? probe.changes.filter(([t, key]) => key === stage && t < start).at(-1)?.[2] ?? 'pending';
    const seconds = startedAt < 0 ? null : ((ended?.[0] ?? end) - own[startedAt][0]) / 1000;
    const timing: StageTiming = { stage, state: lastState, seconds };
    const report = probe.stageReports?.filter((r) => r.stage === stage && r.at >= start && r.at <= end).at(-1);
    if (report?.time) timing.time = report.time;
    if (report?.iterations) Object.assign(timing, { iterations: report.iterations, secondsPerIteration: report.seconds / report.iterations });
    return timing;
  });

  const runMs = end - start;
  const runLongTasks = probe.longTasks.filter(([t]) => t >= start && t <= end);
  const longTasks = runLongTasks.map(([, d]) => d);
  const stageAt = (t: number) => during.filter(([when, key, state]) => when <= t && key !== 'run' && state === 'running').at(-1)?.[1] ?? null;
  const causes = runLongTasks.map(([t, d]): LongTaskCause => {
    const frames = probe.longFrames.filter((f) => f.start < t + d && f.start + f.duration > t);
    return {
      atSeconds: (t - start) / 1000,
      ms: d,
      stage: stageAt(t),
      renderMs: frames.reduce((sum, f) => sum + f.renderMs, 0),
      scripts: frames.flatMap((f) => f.scripts).sort((a, b) => b[2] - a[2]),
    };
  });
  const redraws = probe.redraws.filter((t) => t >= start && t <= end);
  const totalMs = longTasks.reduce((a, b) => a + b, 0);
  return {
    end: endChange?.[2] ?? null,
    totalSeconds: runMs / 1000,
    stages,
    mainThread: {
      gpuCalls: probe.gpuCalls.requestAdapter + probe.gpuCalls.requestDevice,
      longTasks: { count: longTasks.length, longestMs: longTasks.length ? Math.max(...longTasks) : null, totalMs, shareOfRun: runMs > 0 ? totalMs / runMs : 0, causes },
      heartbeatGapsMs: spread(gapsWithin(probe.beats, start, end)),
      frameGapsMs: spread(gapsWithin(probe.frames, start, end)),
      chartUpdatesPerSecond: runMs > 0 ? countBursts(redraws, UPDATE_MERGE_MS) / (runMs / 1000) : 0,
      chartRedraws: redraws.length,
    },
  };
}

// ---- results -------------------------------------------------------------------------------------------------------

export interface PageBenchConfig {
  task: string;
  preset: string;
  /** Settings by dotted path, passed in the URL like the config bar writes them (e.g. 'ppo.episodes': '8'). */
  overrides: Record<string, string>;
}

/** --quick: every stage cut to a step or two (the e2e test's cut-down run), so a smoke run takes minutes, not hours. */
export const QUICK_OVERRIDES: Readonly<Record<string, string>> = Object.freeze({
  'pretrain.steps': '4',
  'sft.steps': '2',
  'labels.prompts': '4',
  'ppo.batchSize': '4',
  'ppo.episodes': '8',
  'bon.maxN': '2',
  'bon.prompts': '2',
  'eval.prompts': '2',
});

/** bench-results/page.json. */
export interface PageBenchResult extends PageRunSummary {
  config: PageBenchConfig;
  adapter: string;
  browser: string;
  /** This machine's CPUs and 1-minute load average when the run started and ended: on a loaded machine the main
   * thread is descheduled, and its ordinary tasks stretch into long ones. */
  machine: { cpus: number; loadStart: number; loadEnd: number };
  /** The main thread's CPU time from the click to the end. */
  mainThreadCpu: MainThreadCpu;
  /** The long tasks from the click to the end as the trace saw them, with the CPU time they used. */
  longTaskCpu: LongTaskCpu;
  /** The run's error panel text when it failed. */
  error?: string;
  /** The evaluation's metrics (win rates with their 95% interval, gold, KL) as the page's Latest metrics table shows them. */
  evaluation?: Record<string, string>;
  /** How the stages' `time` was measured (src/gpu/time-split.ts), when the engine was asked to split it. */
  timeSplitMethod?: string;
}

/** Issue 5's target while training: no long tasks on the main thread (and no GPU calls there at all). */
export function responsiveVerdict(summary: PageRunSummary): Verdict {
  if (summary.end === null) return 'not measured';
  return summary.mainThread.longTasks.count === 0 && summary.mainThread.gpuCalls === 0 ? 'met' : 'not met';
}

/** The same target judged by the main thread's own work: no task of over LONG_TASK_MS of CPU (and no GPU calls). */
export function responsiveByCpuVerdict(summary: PageRunSummary, cpu: LongTaskCpu): Verdict {
  if (summary.end === null) return 'not measured';
  return cpu.overLimitByCpu === 0 && summary.mainThread.gpuCalls === 0 ? 'met' : 'not met';
}

export function toPageJson(result: PageBenchResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

const ms = (x: number | null) => (x === null ? '—' : `${x.toFixed(1)} ms`);
const spreadText = (s: Spread) => (s.count === 0 ? 'none' : `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)} (${s.count} gaps)`);

/** The time split's columns: [heading, category]. */
const SPLIT_COLUMNS: [string, keyof TimeSplit][] = [
  ['generation', 'generation'],
  ['fwd+bwd', 'forwardBackward'],
  ['optimizer', 'optimizer'],
  ['readback', 'readback'],
  ['cpu', 'cpu'],
];

/** The stage table (with the time split and seconds per iteration when there are any), the main-thread figures and the machine, as printed by the CLI. */
export function formatPageReport(result: PageBenchResult): string {
  const split = result.stages.some((s) => s.time);
  const perIteration = result.stages.some((s) => s.iterations);
  const rows = [
    ['stage', 'state', 'seconds', ...(split ? SPLIT_COLUMNS.map(([heading]) => heading) : []), ...(perIteration ? ['iterations', 's/iteration'] : [])],
    ...result.stages.map((s) => [
      s.stage,
      s.state,
      s.seconds === null ? '—' : s.seconds.toFixed(1),
      ...(split ? SPLIT_COLUMNS.map(([, c]) => (s.time ? s.time[c].toFixed(2) : '—')) : []),
      ...(perIteration ? [s.iterations?.toString() ?? '—', s.secondsPerIteration?.toFixed(2) ?? '—'] : []),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const table = rows.map((r) => r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
  const m = result.mainThread;
  const lt = m.longTasks;
  const cpu = result.mainThreadCpu;
  const lc = result.longTaskCpu;
  const figures = [
    ['GPU calls (requestAdapter, requestDevice)', String(m.gpuCalls)],
    ['CPU time', `${cpu.seconds.toFixed(2)} s, ${(100 * cpu.shareOfRun).toFixed(2)}% of the run (script ${cpu.scriptSeconds.toFixed(2)} s)`],
    [`long tasks (over ${LONG_TASK_MS} ms)`, lt.count ? `${lt.count}, longest ${ms(lt.longestMs)}, ${(100 * lt.shareOfRun).toFixed(2)}% of the run` : '0'],
    [`heartbeat (${HEARTBEAT_MS} ms timer) gaps`, spreadText(m.heartbeatGapsMs)],
    ['animation frame gaps', spreadText(m.frameGapsMs)],
    ['chart updates', `${m.chartUpdatesPerSecond.toFixed(2)} /s (${m.chartRedraws} chart redraws)`],
  ];
  const labelWidth = Math.max(...figures.map(([label]) => label.length));
  const { cpus, loadStart, loadEnd } = result.machine;
  return [
    ...table,
    `total, from the click on ${RUN_BUTTON} to ${result.end ?? 'the last reading (the run had not ended)'}: ${result.totalSeconds.toFixed(1)} s`,
    ...(split && result.timeSplitMethod ? [`time split (seconds in the engine worker; they add up to its own seconds of the stage): ${result.timeSplitMethod}`] : []),
    ...(result.evaluation ? [`evaluation: ${Object.entries(result.evaluation).map(([name, value]) => `${name} ${value}`).join(', ')}`] : []),
    '',
    `main thread while the pipeline ran (${result.totalSeconds.toFixed(1)} s):`,
    ...figures.map(([label, value]) => `  ${label.padEnd(labelWidth)}  ${value}`),
    ...lt.causes.map(
      (c) =>
        `    long task at ${c.atSeconds.toFixed(1)} s (${c.stage ?? 'no stage'}): ${c.ms.toFixed(0)} ms, rendering ${c.renderMs.toFixed(0)} ms; ` +
        (c.scripts.length ? c.scripts.slice(0, 3).map(([invoker, source, d]) => `${invoker} ${source} ${d.toFixed(0)} ms`).join('; ') : 'no script attributed'),
    ),
    `  the same long tasks in a trace: ${lc.count}` +
      (lc.count ? `; the main thread's own CPU time in each at most ${ms(lc.maxCpuMs)}, over ${LONG_TASK_MS} ms in ${lc.overLimitByCpu}` : ''),
    `target (issue 5), no long tasks and no GPU calls on the main thread while training: ${responsiveVerdict(result)} by wall clock, ` +
      `${responsiveByCpuVerdict(result, lc)} by the main thread's CPU time per task`,
    '',
    `machine: ${cpus} CPUs, load average ${loadStart.toFixed(1)} at the start, ${loadEnd.toFixed(1)} at the end` +
      (Math.max(loadStart, loadEnd) > cpus ? ' (loaded: the main thread is descheduled mid-task, so ordinary tasks stretch into long ones)' : ''),
  ].join('\n');
}

// ---- driving the page (Node) ---------------------------------------------------------------------------------------

export interface ServedPage {
  url: string;
  close(): Promise<void>;
}

/**
 * Builds a page of the repo (an HTML entry, relative to its root: the lab page by default, or a benchmark page such
 * as src/bench/charts.html) into a temporary folder as `npm run build` does, and serves it with `vite preview` on a
 * free port of 127.0.0.1; `url` is the page's address.
 */
export async function servePage(entry = 'index.html'): Promise<ServedPage> {
  const outDir = mkdtempSync(join(tmpdir(), 'rlhf-lab-dist-'));
  const configFile = resolve(ROOT, 'vite.config.ts');
  // Vite builds for whatever NODE_ENV is set, and vite-node ('development') and Vitest ('test') set it: the bundle
  // would carry React's development build (owner stacks, checks: several times the render time), not the users' one.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile, root: ROOT, logLevel: 'error', build: { outDir, emptyOutDir: true, rollupOptions: { input: resolve(ROOT, entry) } } });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  const server = await preview({ configFile, root: ROOT, logLevel: 'error', build: { outDir }, preview: { host: '127.0.0.1', port: 0 } });
  return {
    // The build keeps the entry's path under the root; the lab page is served at the root itself.
    url: new URL(entry === 'index.html' ? '' : entry, server.resolvedUrls!.local[0]).href,
    async close() {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/**
 * CPU time the page's main thread used (Chromium's Performance.getMetrics: ThreadTime, and ScriptDuration of it, in
 * thread time) and its share of the wall time it was measured over. Unlike long tasks and heartbeat gaps it does not
 * grow when a loaded machine deschedules the thread.
 */
export interface MainThreadCpu {
  seconds: number;
  scriptSeconds: number;
  shareOfRun: number;
}

/** Starts counting the main thread's CPU time; the function returned reads what was used since. */
export async function meterMainThreadCpu(page: Page): Promise<() => Promise<MainThreadCpu>> {
  const cdp = await page.context().newCDPSession(page);
  // 'threadTicks': the durations count the thread's CPU time, not the wall clock.
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  const read = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const value = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN;
    return { wall: value('Timestamp'), thread: value('ThreadTime'), script: value('ScriptDuration') };
  };
  const start = await read();
  return async () => {
    const end = await read();
    const seconds = end.thread - start.thread;
    return { seconds, scriptSeconds: end.script - start.script, shareOfRun: seconds / (end.wall - start.wall) };
  };
}

/** The main thread's tasks over LONG_TASK_MS of wall clock, from a Chromium trace: [wall ms, the thread's CPU ms]. */
export interface TracedLongTasks {
  tasks: [number, number][];
}

/** What the trace says of the long tasks: how many, and how much CPU the longest-running of them used. */
export interface LongTaskCpu {
  /** Tasks of the main thread over LONG_TASK_MS of wall clock (the trace's count of the long tasks). */
  count: number;
  /** The most CPU time the main thread spent in one of them. */
  maxCpuMs: number | null;
  /** Of them, those whose CPU time alone is over LONG_TASK_MS: work that holds the thread wherever it runs. */
  overLimitByCpu: number;
}

export function summarizeLongTaskCpu({ tasks }: TracedLongTasks): LongTaskCpu {
  const cpu = tasks.map(([, c]) => c);
  return { count: tasks.length, maxCpuMs: cpu.length ? Math.max(...cpu) : null, overLimitByCpu: cpu.filter((c) => c > LONG_TASK_MS).length };
}

/**
 * Traces the page's main thread from now (Chromium's 'toplevel' category: one event per task, with its wall and thread
 * time) and, when stopped, returns its tasks over LONG_TASK_MS of wall clock. Only those are kept as the trace streams
 * in, so a run of hours costs little memory.
 */
export async function traceLongTasks(page: Page): Promise<() => Promise<TracedLongTasks>> {
  const cdp = await page.context().newCDPSession(page);
  type TraceEvent = { name: string; ph: string; pid: number; tid: number; dur?: number; tdur?: number; args?: { name?: string } };
  const long: TraceEvent[] = [];
  const mainThreads = new Set<string>();
  cdp.on('Tracing.dataCollected', ({ value }) => {
    for (const e of value as unknown as TraceEvent[]) {
      if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain') mainThreads.add(`${e.pid}:${e.tid}`);
      else if (e.ph === 'X' && e.name === 'ThreadControllerImpl::RunTask' && (e.dur ?? 0) > LONG_TASK_MS * 1000) long.push(e);
    }
  });
  const complete = new Promise<void>((done) => cdp.once('Tracing.tracingComplete', () => done()));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['toplevel'] }, transferMode: 'ReportEvents' });
  return async () => {
    await cdp.send('Tracing.end');
    await complete;
    await cdp.detach();
    // Thread names come as metadata at the end of the trace: only now can the main thread's tasks be picked out.
    const tasks = long.filter((e) => mainThreads.has(`${e.pid}:${e.tid}`)).map((e): [number, number] => [e.dur! / 1000, (e.tdur ?? NaN) / 1000]);
    return { tasks };
  };
}

export interface PageBenchOptions {
  timeoutMin: number;
  /** Ask the engine to split each stage's time (default true); it adds waits for the GPU, so the stages take longer. */
  timeSplit?: boolean;
  /** Called with each change of the run bar as it happens (stage states, run state). */
  onChange?: (seconds: number, key: string, text: string) => void;
}

/**
 * Opens the lab page at `url` with the configuration in its query, checks that the config bar took it, clicks Run
 * pipeline and waits for the run bar to show the run's end; returns the run's summary.
 */
export async function runPageBench(browser: Browser, url: string, config: PageBenchConfig, opts: PageBenchOptions): Promise<PageBenchResult> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    const timeSplit = opts.timeSplit ?? true;
    await page.addInitScript(installPageProbe, HEARTBEAT_MS);
    await page.addInitScript(installStageReportProbe, { workerName: ENGINE_WORKER_NAME, timeSplit });
    await page.goto(`${url}?${new URLSearchParams({ task: config.task, preset: config.preset, ...config.overrides })}`);
    for (const [label, want] of [['Task', config.task], ['Preset', config.preset]]) {
      const got = await page.getByLabel(label, { exact: true }).inputValue();
      if (got !== want) throw new Error(`the page shows ${label.toLowerCase()} "${got}", not "${want}"`);
    }
    // Clicking waits for the button to be enabled: the engine ready, the base model loaded, the settings valid.
    await page.getByRole('button', { name: RUN_BUTTON }).click({ timeout: 180_000 });
    const loadStart = loadavg()[0];
    const cpuSinceClick = await meterMainThreadCpu(page);
    const tracedSinceClick = await traceLongTasks(page);
    // Poll only the run bar's new changes: copying the whole probe (a heartbeat every 20 ms, every frame) each time
    // would itself hold the main thread longer and longer as the run goes on.
    const deadline = Date.now() + opts.timeoutMin * 60_000;
    let seen = 0;
    for (let ended = false; !ended; ) {
      const { start, changes } = await page.evaluate(
        ([from, button]) => {
          const probe = (window as unknown as { __pageProbe: PageProbe }).__pageProbe;
          return { start: probe.clicks.find(([, text]) => text === button)![0], changes: probe.changes.slice(from) };
        },
        [seen, RUN_BUTTON] as const,
      );
      seen += changes.length;
      for (const [t, key, text] of changes.filter(([t]) => t >= start)) {
        opts.onChange?.((t - start) / 1000, key, text);
        ended ||= key === 'run' && RUN_ENDS.includes(text);
      }
      if (!ended && Date.now() > deadline) throw new Error(`the run did not end within ${opts.timeoutMin} min`);
      if (!ended) await page.waitForTimeout(2_000);
    }
    const mainThreadCpu = await cpuSinceClick();
    const longTaskCpu = summarizeLongTaskCpu(await tracedSinceClick());
    const summary = summarizeRun(await readProbe(page));
    const result: PageBenchResult = {
      config,
      adapter: (await page.getByTestId('adapter-name').textContent()) ?? 'unknown',
      browser: `Chromium ${browser.version()}`,
      machine: { cpus: availableParallelism(), loadStart, loadEnd: loadavg()[0] },
      mainThreadCpu,
      longTaskCpu,
      ...summary,
      ...(timeSplit && { timeSplitMethod: TIME_SPLIT_METHOD }),
    };
    // The run's quality, to compare like with like: the evaluation's metrics as the Latest metrics table shows them.
    const evaluation = await page.getByRole('table', { name: 'Latest metrics' }).locator('tr[data-metric^="eval/"]').evaluateAll((rows) =>
      Object.fromEntries(rows.map((r) => [r.getAttribute('data-metric'), r.querySelector('td')?.textContent?.trim() ?? ''])),
    );
    if (Object.keys(evaluation).length > 0) result.evaluation = evaluation;
    const errorPanel = page.getByRole('region', { name: 'Pipeline error' });
    if (summary.end !== 'Done' && (await errorPanel.count()) > 0) result.error = (await errorPanel.textContent()) ?? undefined;
    return result;
  } finally {
    await page.close();
  }
}
