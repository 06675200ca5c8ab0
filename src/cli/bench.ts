// `npm run bench -- <name> [options]`: benchmarks that run in headless Chromium on its WebGPU adapter.
//   kernels   matmul (this library, TF.js WebGPU, ONNX Runtime Web WebGPU), the arithmetic ceiling and the
//             per-row kernels' variants → a table on stdout and bench-results/kernels.json
//   train     GPT training tokens/s (lab vs TF.js WebGPU), KV-cache vs recompute generation, dispatches and
//             submits per step, GPU bytes vs the theoretical minimum → a table and bench-results/train.json
//   page      the lab page's own pipeline run (its production bundle, vite preview): seconds per stage and the
//             main thread's responsiveness while it trains → a table and bench-results/page.json (src/bench/page.ts)
//   charts    the run charts (ChartGrid, in its production bundle) taking synthetic metric batches up to 10,000+
//             points per series: ms per update, updates/s, long tasks → a table and bench-results/charts.json
//             (src/bench/charts.ts)
// The CLI serves the repo with Vite (the page needs a secure context for navigator.gpu: http://127.0.0.1): its dev
// server for kernels.html and train.html, a production build (vite preview) for charts.html and the lab page; it
// opens the page in Debian's chromium through playwright-core and collects the rows the page leaves in
// window.__benchResult (kernels.html), window.__trainBenchResult (train.html) or window.__chartsBenchResult
// (charts.html); the page benchmark drives the lab page itself, like a user.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { CHROMIUM_ARGS } from '../../vite.config';
import type { BenchConfig, BenchResult } from '../bench/kernels';
import { DEFAULT_SHAPES, formatTable, type Impl, parseShapes, type Shape, shapeText, summarize, toJson } from '../bench/results';
import {
  defaultTrainConfig,
  formatTrainTable,
  summarizeTrain,
  toTrainJson,
  TRAIN_PRESETS,
  type TrainBenchConfig,
  type TrainBenchResult,
  type TrainImpl,
} from '../bench/train';
import { formatPageReport, type PageBenchConfig, QUICK_OVERRIDES, runPageBench, servePage, toPageJson } from '../bench/page';
import {
  type ChartsBenchConfig,
  type ChartsPageResult,
  DEFAULT_CHARTS_CONFIG,
  formatChartsReport,
  QUICK_CHART_POINTS,
  summarizeCharts,
  toChartsJson,
} from '../bench/charts';
import { type PresetName, PRESETS } from '../model/config';
import { TASK_IDS } from '../rlhf/tasks';
import { MAX_KEPT_RUNS } from '../store/run';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IMPLS: Record<string, Impl> = { lab: 'lab', tfjs: 'tfjs-webgpu', ort: 'ort-webgpu', ceiling: 'ceiling' };

const USAGE = `usage: npm run bench -- kernels|train|page|charts [options]

benchmarks:
  kernels            matmul at 256³, 512³, 1024³ and the GPT shapes (2048×128×512, 2048×512×128, 2048×128×384)
                     for this library (every variant), TF.js WebGPU and ONNX Runtime Web WebGPU, plus the
                     adapter's arithmetic ceiling; with the lab, the per-row kernels (layernorm, cross-entropy,
                     log-prob) in both variants at the tiny preset's training shape; writes bench-results/kernels.json

options (kernels):
  --runs N           timed runs per measurement, the median is reported (default 5)
  --warmup N         untimed runs first, the first compiles the pipelines (default 1)
  --shapes LIST      comma-separated: N (a cube), MxKxN, "cubes", "gpt" (default cubes,gpt)
  --impls LIST       comma-separated subset of lab,tfjs,ort,ceiling (default all)
  --quick            smoke run: 256³ only, 1 warm-up, 2 timed runs (not a valid measurement)
  --timeout-min N    give up on the page after N minutes (default 30)
  --out FILE         JSON output (default bench-results/kernels.json)
  --headed           show the browser window (debugging)

  train              training tokens/s of the GPT presets (nano 8×32, tiny 2×128, small 2×128 tokens a step)
                     in this engine and in the same GPT in TF.js WebGPU; generation tokens/s on tiny at context
                     128 (4 × (16 + 112) tokens) with the KV cache and by recomputing; dispatches and submits per
                     step; GPU bytes vs the theoretical minimum; writes bench-results/train.json

options (train):
  --presets LIST     comma-separated subset of nano,tiny,small (default all)
  --impls LIST       comma-separated subset of lab,tfjs (default both)
  --batch P=BxT      batch of preset P, e.g. --batch small=1x256 (repeatable)
  --runs N           timed training steps, the median is reported (default 5)
  --warmup N         untimed steps first, the first compiles the pipelines (default 1)
  --gen-runs N       timed generation runs with the KV cache (default 3)
  --gen-batch N      sequences generated at once (default 4; sampling for the labelers, best-of-N and the
                     evaluation generate 64 at once on a software adapter, 256 on a GPU)
  --recompute-runs N timed generation runs recomputing the full context (default 1: ~1 min each on SwiftShader)
  --no-generate      skip the generation rows
  --quick            smoke run: 2 timed steps, 1 generation run of 48 new tokens per path (not a valid measurement)
  --timeout-min N    give up on the page after N minutes (default 30)
  --out FILE         JSON output (default bench-results/train.json)
  --headed           show the browser window (debugging)

  page               the lab page (built, served by vite preview) runs the whole pipeline from its Run pipeline
                     button; seconds per stage and in all, each stage's split into generation, forward/backward,
                     optimizer, readback and the worker's CPU work, seconds per iteration (PPO) or optimizer step,
                     and the main thread while it trains: CPU time, long tasks, heartbeat and animation-frame gaps,
                     chart updates/s, GPU calls; writes bench-results/page.json

options (page):
  --preset NAME      nano, tiny or small (default tiny: 10 to 25 minutes on SwiftShader with 2 cores)
  --task NAME        sentiment or instructions (default sentiment)
  --set PATH=VALUE   a pipeline setting as the page's URL takes it, e.g. --set ppo.episodes=64 (repeatable)
  --no-time-split    do not split the stages' time (splitting waits for the GPU after every timed region, which
                     makes the stages a little slower than the page alone runs them)
  --quick            smoke run: every stage cut to a step or two (not a valid measurement)
  --timeout-min N    give up on the run after N minutes (default 180)
  --out FILE         JSON output (default bench-results/page.json)
  --headed           show the browser window (debugging)

  charts             the run charts (the lab's ChartGrid, fed by a run store, in a production build) take synthetic
                     SFT, reward-model and PPO metric records in batches until every series holds N points, optionally
                     drawn over a KL sweep's kept runs; per update, onMetrics + flush → every chart redrawn (mean,
                     p50, p99, max ms), updates/s and long tasks, against the targets (≥ 10 updates/s with 10,000
                     points per series, no update over 50 ms: reported, never an exit status); writes
                     bench-results/charts.json

options (charts):
  --points N         points per series at the end (default ${DEFAULT_CHARTS_CONFIG.points})
  --batch B          records per stage in one update (default ${DEFAULT_CHARTS_CONFIG.batch}, the engine worker's batch)
  --runs-kept R      finished runs of a KL sweep the charts draw under the current one, 0…${MAX_KEPT_RUNS} (default ${DEFAULT_CHARTS_CONFIG.keptRuns})
  --quick            smoke run: ${QUICK_CHART_POINTS} points per series (not a valid measurement)
  --timeout-min N    give up on the page after N minutes (default 30)
  --out FILE         JSON output (default bench-results/charts.json)
  --headed           show the browser window (debugging)`;

interface KernelsOptions extends CommonOptions {
  config: BenchConfig;
}

function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function positiveInt(flag: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min) usageError(`${flag} needs an integer ≥ ${min}, got ${value ?? 'nothing'}`);
  return n;
}

/** Options every benchmark takes. */
interface CommonOptions {
  timeoutMin: number;
  out: string;
  headed: boolean;
  quick: boolean;
}

/**
 * Walks `args` (`--flag value` or `--flag=value`), handles the options every benchmark takes, and passes the
 * rest to `specific`, which returns false for a flag it does not know.
 */
function parseOptions(
  args: string[],
  defaultOut: string,
  specific: (flag: string, value: () => string | undefined) => boolean,
  defaultTimeoutMin = 30,
): CommonOptions {
  const common: CommonOptions = { timeoutMin: defaultTimeoutMin, out: resolve(ROOT, defaultOut), headed: false, quick: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case '--quick':
        common.quick = true;
        break;
      case '--timeout-min':
        common.timeoutMin = positiveInt(flag, value());
        break;
      case '--out':
        common.out = resolve(value() ?? usageError('--out needs a file'));
        break;
      case '--headed':
        common.headed = true;
        break;
      default:
        if (!specific(flag, value)) usageError(`unknown option "${arg}"`);
    }
  }
  return common;
}

export function parseKernelsArgs(args: string[]): KernelsOptions {
  let runs: number | undefined;
  let warmup: number | undefined;
  let shapes: Shape[] | undefined;
  let impls: Impl[] = Object.values(IMPLS);
  const { timeoutMin, out, headed, quick } = parseOptions(args, 'bench-results/kernels.json', (flag, value) => {
    switch (flag) {
      case '--runs':
        runs = positiveInt(flag, value());
        return true;
      case '--warmup':
        warmup = positiveInt(flag, value(), 0);
        return true;
      case '--shapes':
        try {
          shapes = parseShapes(value() ?? '');
        } catch (e) {
          usageError((e as Error).message);
        }
        if (shapes.length === 0) usageError('--shapes needs at least one shape');
        return true;
      case '--impls':
        impls = (value() ?? '').split(',').filter(Boolean).map((name) => IMPLS[name] ?? usageError(`unknown impl "${name}"`));
        if (impls.length === 0) usageError('--impls needs at least one of lab,tfjs,ort,ceiling');
        return true;
      default:
        return false;
    }
  });
  const config: BenchConfig = {
    shapes: shapes ?? (quick ? [[256, 256, 256]] : DEFAULT_SHAPES),
    runs: runs ?? (quick ? 2 : 5),
    warmup: warmup ?? 1,
    impls,
  };
  return { config, timeoutMin, out, headed, quick };
}

async function startServer(): Promise<{ server: ViteDevServer; origin: string }> {
  const server = await createServer({
    configFile: resolve(ROOT, 'vite.config.ts'),
    root: ROOT,
    logLevel: 'warn',
    clearScreen: false,
    // Port 0: any free port. No HMR and no file watching, so edits elsewhere in the tree cannot reload the page
    // mid-run; the libraries the page imports dynamically are pre-bundled up front for the same reason.
    server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false, watch: null, open: false },
    optimizeDeps: { include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu', 'onnxruntime-web/webgpu'] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not report its port');
  return { server, origin: `http://127.0.0.1:${address.port}` };
}

type ResultKey = '__benchResult' | '__trainBenchResult' | '__chartsBenchResult';

/** Serves the repo (Vite's dev server), opens src/bench/<pageName> and returns what the page leaves in window[key]. */
async function runPage<R>(pageName: string, key: ResultKey, config: unknown, opts: { timeoutMin: number; headed: boolean }): Promise<R> {
  const { server, origin } = await startServer();
  try {
    return await collectResult<R>(`${origin}/src/bench/${pageName}`, key, config, opts);
  } finally {
    await server.close();
  }
}

/** Opens the page at `pageUrl` with ?config=<json> in headless Chromium and returns what it leaves in window[key]. */
async function collectResult<R>(pageUrl: string, key: ResultKey, config: unknown, opts: { timeoutMin: number; headed: boolean }): Promise<R> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: !opts.headed });
  try {
    const tab = await browser.newPage();
    tab.on('console', (msg) => {
      const text = msg.text();
      if (text.startsWith('[bench]')) console.log(`  ${text.slice(8)}`);
      else if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico')) {
        console.error(`  [page error] ${text}${msg.location().url ? ` (${msg.location().url})` : ''}`);
      }
    });
    tab.on('pageerror', (e) => console.error(`  [page exception] ${e.message}`));
    tab.on('crash', () => console.error('  [page crashed]'));
    await tab.goto(`${pageUrl}?config=${encodeURIComponent(JSON.stringify(config))}`, { timeout: 120_000 });
    await tab.waitForFunction((k) => (window as unknown as Record<string, unknown>)[k] !== undefined, key, {
      timeout: opts.timeoutMin * 60_000,
      polling: 500,
    });
    return (await tab.evaluate((k) => (window as unknown as Record<string, unknown>)[k], key)) as R;
  } finally {
    await browser.close();
  }
}

async function runKernels(opts: KernelsOptions): Promise<number> {
  const t0 = performance.now();
  const { config } = opts;
  console.log(
    `kernel benchmark: ${config.shapes.map(shapeText).join(', ')}; ${config.warmup} warm-up + ${config.runs} timed runs; ` +
      `impls ${config.impls.join(', ')}${opts.quick ? ' (quick smoke run: not a valid measurement)' : ''}`,
  );
  const result = await runPage<BenchResult>('kernels.html', '__benchResult', config, opts);

  if (result.fatal) {
    console.error(`benchmark failed: ${result.fatal}`);
    return 1;
  }
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, toJson(result.rows));

  console.log('\n' + formatTable(result.rows));
  console.log('\nrows: "matmul" = each impl at its default (lab: the variant tuned for this adapter); "matmul-variant" =');
  console.log('lab with a variant forced; "matmul-tune" = the start-up tuning (* = chosen); ms = median wall clock to queue done;');
  console.log('"row-kernel" = a per-row kernel at the tiny training shape, each variant forced (* = this adapter\'s default),');
  console.log('ms = median GPU time of its dispatches.');
  if (result.tuning) {
    const t = result.tuning;
    const times = Object.entries(t.msByVariant)
      .map(([v, ms]) => `${v} ${Number.isFinite(ms) ? ms.toFixed(1) + ' ms' : '—'}`)
      .join(', ');
    console.log(`\nmatmul variant chosen for this adapter: ${t.variant}${t.cached ? ' (cached)' : ''} (tuning: ${times})`);
    const variantRows = result.rows.filter((r) => r.op === 'matmul-variant' && r.ms !== null && !r.error);
    for (const shape of new Set(variantRows.map((r) => shapeText(r.shape)))) {
      const at = variantRows.filter((r) => shapeText(r.shape) === shape).sort((a, b) => a.ms! - b.ms!);
      console.log(`  fastest at ${shape.padEnd(14)} ${at[0].variant} (${at.map((r) => `${r.variant} ${r.ms!.toFixed(1)} ms`).join(', ')})`);
    }
  }
  const adapters = [...new Set(result.rows.map((r) => `${r.impl}: ${r.adapter}`))];
  console.log(`\nadapters: ${[...new Set(result.rows.map((r) => r.adapter))].join(' | ')}`);
  if (new Set(result.rows.filter((r) => r.adapter !== 'unknown').map((r) => r.adapter)).size > 1) console.log(`  (per impl: ${adapters.join('; ')})`);
  console.log('\n' + summarize(result.rows).lines.join('\n'));
  if (opts.quick) console.log('(quick smoke run: too few runs and shapes for the targets to mean anything)');
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\nwrote ${opts.out} (${result.rows.length} rows); total ${Math.floor(seconds / 60)} min ${(seconds % 60).toFixed(0)} s`);
  return 0;
}

interface TrainOptions extends CommonOptions {
  config: TrainBenchConfig;
}

const TRAIN_IMPL_NAMES: Record<string, TrainImpl> = { lab: 'lab', tfjs: 'tfjs-webgpu' };

export function parseTrainArgs(args: string[]): TrainOptions {
  const config = defaultTrainConfig(args.includes('--quick'));
  let genRuns: number | undefined;
  let genBatch: number | undefined;
  let recomputeRuns: number | undefined;
  let generate = true;
  const { timeoutMin, out, headed, quick } = parseOptions(args, 'bench-results/train.json', (flag, value) => {
    switch (flag) {
      case '--presets': {
        const names = (value() ?? '').split(',').filter(Boolean);
        for (const n of names) if (!(TRAIN_PRESETS as readonly string[]).includes(n)) usageError(`unknown preset "${n}" (expected ${TRAIN_PRESETS.join(', ')})`);
        if (names.length === 0) usageError('--presets needs at least one of nano,tiny,small');
        config.presets = TRAIN_PRESETS.filter((p) => names.includes(p));
        return true;
      }
      case '--impls':
        config.impls = (value() ?? '').split(',').filter(Boolean).map((name) => TRAIN_IMPL_NAMES[name] ?? usageError(`unknown impl "${name}" (expected lab, tfjs)`));
        if (config.impls.length === 0) usageError('--impls needs at least one of lab,tfjs');
        return true;
      case '--batch': {
        const spec = value();
        const m = /^(nano|tiny|small)=(\d+)x(\d+)$/.exec(spec ?? '');
        if (!m) usageError(`--batch needs PRESET=BxT (e.g. small=1x256), got ${spec ?? 'nothing'}`);
        const [B, T] = [Number(m[2]), Number(m[3])];
        if (B < 1 || T < 1) usageError(`--batch ${spec}: B and T must be ≥ 1`);
        config.shapes[m[1] as PresetName] = { B, T };
        return true;
      }
      case '--runs':
        config.runs = positiveInt(flag, value());
        return true;
      case '--warmup':
        config.warmup = positiveInt(flag, value(), 0);
        return true;
      case '--gen-runs':
        genRuns = positiveInt(flag, value());
        return true;
      case '--gen-batch':
        genBatch = positiveInt(flag, value());
        return true;
      case '--recompute-runs':
        recomputeRuns = positiveInt(flag, value());
        return true;
      case '--no-generate':
        generate = false;
        return true;
      default:
        return false;
    }
  });
  if (!generate) config.generation = null;
  else if (config.generation) {
    if (genRuns !== undefined) config.generation.runs = genRuns;
    if (genBatch !== undefined) config.generation.B = genBatch;
    if (recomputeRuns !== undefined) config.generation.recomputeRuns = recomputeRuns;
  }
  return { config, timeoutMin, out, headed, quick };
}

async function runTrain(opts: TrainOptions): Promise<number> {
  const t0 = performance.now();
  const { config } = opts;
  const g = config.generation;
  console.log(
    `training benchmark: ${config.presets.map((p) => `${p} ${config.shapes[p].B}×${config.shapes[p].T}`).join(', ')}; ` +
      `${config.warmup} warm-up + ${config.runs} timed steps; impls ${config.impls.join(', ')}; ` +
      `generation ${g ? `${g.preset}, ${g.B} × (${g.promptLen} prompt + ${g.newTokens} new) tokens, ${g.runs} KV-cache and ${g.recomputeRuns} recompute run(s)` : 'off'}` +
      (opts.quick ? ' (quick smoke run: not a valid measurement)' : ''),
  );
  const result = await runPage<TrainBenchResult>('train.html', '__trainBenchResult', config, opts);
  if (result.fatal) {
    console.error(`benchmark failed: ${result.fatal}`);
    return 1;
  }
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, toTrainJson(result.rows));

  console.log('\n' + formatTrainTable(result.rows));
  console.log('\ntrain = B·T / median wall-clock of one optimizer step (upload, forward, backward, clip, AdamW, loss readback);');
  console.log('generate = new tokens / wall-clock of generate(); gpu-bytes-minimum = params + grads + Adam m, v + kept activations');
  console.log(`(src/bench/memory.ts); memory-ratio = allocated / minimum.${result.matmulVariant ? ` Lab matmul variant: ${result.matmulVariant}.` : ''}`);
  console.log(`\nadapters: ${[...new Set(result.rows.map((r) => r.adapter))].join(' | ')}`);
  console.log('\n' + summarizeTrain(result.rows).lines.join('\n'));
  if (opts.quick) console.log('(quick smoke run: too few steps for the targets to mean anything)');
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\nwrote ${opts.out} (${result.rows.length} rows); total ${Math.floor(seconds / 60)} min ${(seconds % 60).toFixed(0)} s`);
  return 0;
}

interface PageOptions extends CommonOptions {
  config: PageBenchConfig;
  timeSplit: boolean;
}

/** Tasks the page runs without files of your own (the custom task needs an imported dataset). */
const PAGE_TASKS: readonly string[] = TASK_IDS.filter((t) => t !== 'custom');

export function parsePageArgs(args: string[]): PageOptions {
  const config: PageBenchConfig = { task: 'sentiment', preset: 'tiny', overrides: {} };
  const settings: Record<string, string> = {};
  let timeSplit = true;
  const common = parseOptions(
    args,
    'bench-results/page.json',
    (flag, value) => {
      switch (flag) {
        case '--preset':
          config.preset = value() ?? usageError('--preset needs a name');
          if (!Object.hasOwn(PRESETS, config.preset)) usageError(`unknown preset "${config.preset}" (expected ${Object.keys(PRESETS).join(', ')})`);
          return true;
        case '--task':
          config.task = value() ?? usageError('--task needs a name');
          if (!PAGE_TASKS.includes(config.task)) usageError(`unknown task "${config.task}" (expected ${PAGE_TASKS.join(', ')})`);
          return true;
        case '--set': {
          const spec = value() ?? '';
          const m = /^([\w.]+)=(.+)$/.exec(spec);
          if (!m) usageError(`--set needs PATH=VALUE (e.g. ppo.episodes=64), got ${spec || 'nothing'}`);
          settings[m[1]] = m[2];
          return true;
        }
        case '--no-time-split':
          timeSplit = false;
          return true;
        default:
          return false;
      }
    },
    180,
  );
  // --set wins over --quick's cuts; the page itself validates each setting and names a bad one.
  config.overrides = { ...(common.quick ? QUICK_OVERRIDES : {}), ...settings };
  return { config, timeSplit, ...common };
}

async function runPageBenchmark(opts: PageOptions): Promise<number> {
  const { config } = opts;
  const settings = Object.entries(config.overrides).map(([k, v]) => `${k}=${v}`);
  console.log(
    `page benchmark: ${config.task}, preset ${config.preset}${settings.length ? `, ${settings.join(' ')}` : ''}; building the page…` +
      (opts.quick ? ' (quick smoke run: not a valid measurement)' : ''),
  );
  const served = await servePage();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: !opts.headed });
  try {
    const result = await runPageBench(browser, served.url, config, {
      timeoutMin: opts.timeoutMin,
      timeSplit: opts.timeSplit,
      onChange: (seconds, key, text) => console.log(`  ${seconds.toFixed(1).padStart(7)} s  ${key === 'run' ? 'run' : `${key} stage`}: ${text}`),
    });
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, toPageJson(result));
    console.log(`\n${formatPageReport(result)}`);
    console.log(`adapter: ${result.adapter}; ${result.browser}`);
    if (opts.quick) console.log('(quick smoke run: too little work for the timings to mean anything)');
    if (result.error) console.error(`\nthe run did not finish: ${result.error}`);
    console.log(`\nwrote ${opts.out}`);
    return result.end === 'Done' ? 0 : 1;
  } finally {
    await browser.close();
    await served.close();
  }
}

interface ChartsOptions extends CommonOptions {
  config: ChartsBenchConfig;
}

export function parseChartsArgs(args: string[]): ChartsOptions {
  const config: ChartsBenchConfig = { ...DEFAULT_CHARTS_CONFIG };
  let points: number | undefined;
  const common = parseOptions(args, 'bench-results/charts.json', (flag, value) => {
    switch (flag) {
      case '--points':
        points = positiveInt(flag, value());
        return true;
      case '--batch':
        config.batch = positiveInt(flag, value());
        return true;
      case '--runs-kept':
        config.keptRuns = positiveInt(flag, value(), 0);
        if (config.keptRuns > MAX_KEPT_RUNS) usageError(`--runs-kept: the run store keeps at most ${MAX_KEPT_RUNS} runs, got ${config.keptRuns}`);
        return true;
      default:
        return false;
    }
  });
  config.points = points ?? (common.quick ? QUICK_CHART_POINTS : DEFAULT_CHARTS_CONFIG.points);
  return { config, ...common };
}

async function runCharts(opts: ChartsOptions): Promise<number> {
  const { config } = opts;
  console.log(
    `charts benchmark: ${config.points} points per series in updates of ${config.batch} records per stage; ` +
      `${config.keptRuns} kept run(s)${opts.quick ? ' (quick smoke run: not a valid measurement)' : ''}`,
  );
  // The production bundle, as users get the charts: the dev server would serve React's development build (several
  // times the render time) and unbundled modules.
  const served = await servePage('src/bench/charts.html');
  const loadStart = loadavg()[0];
  let page: ChartsPageResult;
  try {
    page = await collectResult<ChartsPageResult>(served.url, '__chartsBenchResult', config, opts);
  } finally {
    await served.close();
  }
  if (page.fatal) {
    console.error(`benchmark failed: ${page.fatal}`);
    return 1;
  }
  const result = summarizeCharts(config, page, { cpus: availableParallelism(), loadStart, loadEnd: loadavg()[0] });
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, toChartsJson(result));
  console.log(`\n${formatChartsReport(result)}`);
  if (opts.quick) console.log('(quick smoke run: too few points for the targets to mean anything)');
  console.log(`\nwrote ${opts.out}`);
  // A missed target is reported, not an error; a run that lost points or redrew outside the timing measured nothing.
  return result.problems.length ? 1 : 0;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h') {
    console.log(USAGE);
    return;
  }
  if (name === undefined) usageError('missing benchmark name');
  if (name === 'kernels') process.exitCode = await runKernels(parseKernelsArgs(rest));
  else if (name === 'train') process.exitCode = await runTrain(parseTrainArgs(rest));
  else if (name === 'page') process.exitCode = await runPageBenchmark(parsePageArgs(rest));
  else if (name === 'charts') process.exitCode = await runCharts(parseChartsArgs(rest));
  else usageError(`unknown benchmark "${name}" (expected kernels, train, page or charts)`);
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
