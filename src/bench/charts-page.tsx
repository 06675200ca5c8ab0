// The charts benchmark's page script (src/bench/charts.html, driven by `npm run bench -- charts`; what it measures
// and why: ./charts.ts). Mounts the lab's ChartGrid inside <main> with the page's stylesheet, so the charts have the
// lab page's sizes, fed by a run store of its own. An update is one batch of synthetic records per stage, then flush,
// inside flushSync: React renders and commits at once and uPlot redraws in the commit (UPlotView), so the time
// around it covers everything the main thread does for an update before the browser paints.
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import type uPlot from 'uplot';
import { METRIC_NAMES, METRICS, type MetricRecord, type Stage } from '../rlhf/metrics';
import { DEFAULT_STAGES, stageById } from '../rlhf/stages';
import { createRunStore, type RunStore } from '../store/run';
import { ChartGrid } from '../ui/charts';
import { CHARTS } from '../ui/charts/ChartGrid';
import { runName } from '../ui/charts/runs';
import '../ui/style.css';
import type { ChartsBenchConfig, ChartsPageResult, ChartUpdate } from './charts';

/** Vite's mode: the CLI serves a production build (the dev server would give React's development build). */
const BUILD: ChartsPageResult['build'] = import.meta.env.DEV ? 'development' : 'production';

declare global {
  interface Window {
    __chartsBenchResult?: ChartsPageResult;
  }
}

/** The stages ChartGrid draws curves of in the default recipe: every line chart (and the frontier) fills in every update. */
const STAGES: readonly Stage[] = [...new Set(CHARTS.filter((c) => DEFAULT_STAGES.includes(c.stage)).map((c) => c.stage))];

/** A record carries every metric the metric table lists for its stage (a pipeline record carries most of them). */
const STAGE_METRICS = Object.fromEntries(STAGES.map((stage) => [stage, METRIC_NAMES.filter((name) => METRICS[name].stages.includes(stage))]));

/** The KL sweep's runs, oldest first: β = 0, 0.05, 0.1, … (the lesson's sweep is 0, 0.05, 0.2). */
const sweepLabel = (run: number) => `β = ${Number((0.05 * run).toFixed(2))}`;

/**
 * Record `step` of `stage` in the sweep's run `run`: wavy curves that differ per metric and run; PPO's KL grows with
 * the step, fastest at β = 0, so each run has a √KL axis of its own on the frontier.
 */
function syntheticRecord(stage: Stage, step: number, run: number): MetricRecord {
  const record: MetricRecord = { stage, step };
  STAGE_METRICS[stage].forEach((name, i) => {
    record[name] = Math.sin(step / (40 + 7 * i) + run) + ((step * (i + 1)) % 13) / 20;
  });
  const trajectory = stageById(stage).policy?.trajectory;
  if (trajectory) {
    const kl = (0.002 * step) / (1 + run);
    (record as Record<string, number | string>)[trajectory.kl] = kl;
    record['policy/sqrt_kl'] = Math.sqrt(kl);
  }
  return record;
}

/** One update's batches: `count` records from step `from`, per stage. */
const syntheticBatches = (run: number, from: number, count: number): MetricRecord[][] =>
  STAGES.map((stage) => Array.from({ length: count }, (_, i) => syntheticRecord(stage, from + i, run)));

/** One update: the batches as the worker's messages deliver them (records already made), then the commit. */
function update(store: RunStore, batches: readonly MetricRecord[][]): void {
  const { onMetrics, flush } = store.getState();
  for (const batch of batches) onMetrics(batch);
  flush();
}

/** Resolves after the next frame has been painted. */
const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

/** The most non-empty points any series of the run labelled `label` holds (every series outside a sweep). */
function runPoints(plot: uPlot, label: string | undefined): number {
  const prefix = runName(label, '');
  let most = 0;
  plot.series.forEach((series, i) => {
    if (i === 0 || !String(series.label ?? '').startsWith(prefix)) return;
    let points = 0;
    for (const v of plot.data[i]) if (v != null) points++;
    most = Math.max(most, points);
  });
  return most;
}

async function runChartsBench(config: ChartsBenchConfig): Promise<ChartsPageResult> {
  const longTasks: [number, number][] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push([e.startTime, e.duration]);
  });
  observer.observe({ type: 'longtask' });

  const store = createRunStore();
  // Each chart's latest uPlot instance (a kept run makes the charts anew) and the redraws of all of them.
  const plots = new Map<string, uPlot>();
  let redraws = 0;
  const onCreate = (title: string, plot: uPlot) => {
    plots.set(title, plot);
    plot.hooks.draw = [...(plot.hooks.draw ?? []), () => redraws++];
  };
  const root = createRoot(document.getElementById('charts-bench')!);
  flushSync(() => root.render(<ChartGrid store={store} onCreate={onCreate} />));

  // The sweep's finished runs, each filled at once; starting the next run keeps the one before (reset with `sweep`).
  const current = config.keptRuns;
  for (let run = 0; run < current; run++) {
    flushSync(() => store.getState().reset({ label: sweepLabel(run), first: run === 0 }));
    flushSync(() => update(store, syntheticBatches(run, 0, config.points)));
  }
  if (current > 0) flushSync(() => store.getState().reset({ label: sweepLabel(current), first: false }));
  console.log(`[bench] ${plots.size} charts${current ? `, ${current} kept run(s) drawn under ${sweepLabel(current)}` : ''}`);
  await nextFrame();

  const updates: ChartUpdate[] = [];
  const started = performance.now();
  let logged = 0;
  for (let from = 0; from < config.points; from += config.batch) {
    const count = Math.min(config.batch, config.points - from);
    const batches = syntheticBatches(current, from, count);
    const redrawsBefore = redraws;
    const t0 = performance.now();
    flushSync(() => update(store, batches));
    const ms = performance.now() - t0;
    const drawn = redraws - redrawsBefore;
    await nextFrame();
    updates.push({ points: from + count, ms, cycleMs: performance.now() - t0, redraws: drawn });
    const tenths = Math.floor((10 * (from + count)) / config.points);
    if (tenths > logged) {
      logged = tenths;
      console.log(`[bench] ${from + count} points per series: update ${ms.toFixed(1)} ms`);
    }
  }
  const ended = performance.now();
  for (const e of observer.takeRecords()) longTasks.push([e.startTime, e.duration]);
  observer.disconnect();

  const label = current > 0 ? sweepLabel(current) : undefined;
  return {
    updates,
    longTasks: longTasks.filter(([t]) => t >= started && t <= ended),
    pointsByChart: Object.fromEntries([...plots].map(([title, plot]) => [title, runPoints(plot, label)])),
    build: BUILD,
    browser: `Chromium ${/Chrome\/([\d.]+)/.exec(navigator.userAgent)?.[1] ?? 'unknown'}`,
  };
}

async function main(): Promise<void> {
  try {
    const raw = new URLSearchParams(location.search).get('config');
    if (!raw) throw new Error('missing ?config=<json> (run `npm run bench -- charts`)');
    window.__chartsBenchResult = await runChartsBench(JSON.parse(raw) as ChartsBenchConfig);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.log(`[bench] fatal: ${message}`);
    window.__chartsBenchResult = { updates: [], longTasks: [], pointsByChart: {}, build: BUILD, browser: 'unknown', fatal: message };
  }
}

void main();
