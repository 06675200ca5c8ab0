// The kernel benchmark page (src/bench/kernels.html), driven by `npm run bench -- kernels`. In one page on the
// browser's WebGPU adapter it times C (M,N) = A (M,K) · B (K,N) for this library (the tuned variant and every
// variant forced), TF.js's WebGPU backend and ONNX Runtime Web's WebGPU EP, plus the arithmetic-ceiling kernel,
// then leaves the rows in window.__benchResult for the CLI to collect. With the lab it also times the per-row
// kernels (layernorm, cross-entropy, log-prob) in both variants at the tiny preset's training shape.
//
// Every matmul and ceiling timing is wall clock from issuing the work to the device queue reporting it done
// (queue.onSubmittedWorkDone), inputs and outputs resident on the GPU, no readback inside the timed region (the
// per-row kernels, too short for that, report their GPU time from timestamp queries); median of `runs` timed
// runs after `warmup` untimed ones (the first of which compiles the pipelines).
// Each implementation gets its own GPUDevice (TF.js and ORT create theirs); all come from navigator.gpu's one
// adapter, which each row records as its library's device reports it.
import { browserGpu, createRuntime, type GpuRuntime, type Step } from '../gpu';
import { CEILING_MADS_PER_ITER, ceilingFma } from '../kernels/ceiling';
import { crossentropyForwardBackward } from '../kernels/crossentropy';
import { layernormBackward, layernormForward, layernormScratchShape } from '../kernels/layernorm';
import { logprobForward } from '../kernels/logprob';
import {
  localStorageVariantCache,
  MATMUL_VARIANTS,
  matmul,
  type MatmulVariant,
  matmulVariant,
  tuneMatmul,
} from '../kernels/matmul';
import { ROW_VARIANTS, type RowVariant, rowVariant } from '../kernels/rows';
import { PRESETS } from '../model/config';
import { seededRandom } from '../model/data';
import { matmulModel } from './onnx-matmul';
import { type BenchRow, errorRow, type Impl, median, type Shape, shapeText, timedRow } from './results';
import { DEFAULT_TRAIN_SHAPES } from './train';

export interface BenchConfig {
  shapes: Shape[];
  runs: number;
  warmup: number;
  impls: Impl[];
}

export interface TuningReport {
  variant: string;
  msByVariant: Record<string, number>;
  cached: boolean;
}

export interface BenchResult {
  rows: BenchRow[];
  tuning?: TuningReport;
  fatal?: string;
}

declare global {
  interface Window {
    __benchResult?: BenchResult;
  }
}

/** Sampled outputs further than this from the float64 product mark a row as wrong (f32 rounding is ~1e-5 here). */
const WRONG_RESULT = 1e-3;
const CHECK_SAMPLES = 48;

function log(message: string): void {
  console.log(`[bench] ${message}`);
  const el = document.getElementById('log');
  if (el) el.textContent += message + '\n';
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function adapterText(info: GPUAdapterInfo | AdapterLike | undefined): string {
  if (!info) return 'unknown';
  return [info.vendor, info.architecture, info.description ? `(${info.description})` : ''].filter(Boolean).join(' ') || 'unknown';
}
interface AdapterLike {
  vendor: string;
  architecture: string;
  description: string;
}

/** Seeded uniform [-1, 1) values, so every impl multiplies the same matrices. */
function uniform(n: number, seed: number): Float32Array<ArrayBuffer> {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => random() * 2 - 1);
}

interface Problem {
  shape: Shape;
  a: Float32Array<ArrayBuffer>; // (M,K)
  b: Float32Array<ArrayBuffer>; // (K,N)
}

/** Largest |C − A·B| over sampled entries of C (corners included), A·B in float64. */
function sampledError({ shape: [m, k, n], a, b }: Problem, c: ArrayLike<number>): number {
  let worst = 0;
  for (let s = 0; s < CHECK_SAMPLES; s++) {
    const i = s === 0 ? 0 : s === 1 ? m - 1 : (s * 7919) % m;
    const j = s === 0 ? 0 : s === 1 ? n - 1 : (s * 104729) % n;
    let dot = 0;
    for (let p = 0; p < k; p++) dot += a[i * k + p] * b[p * n + j];
    const err = Math.abs(c[i * n + j] - dot);
    worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
  }
  return worst;
}

/** Timed rows carry the sampled error; a wrong result becomes the row's error (its timing is kept, not trusted). */
function checked(row: BenchRow, err: number): BenchRow {
  const out = { ...row, maxAbsErr: err };
  if (!(err <= WRONG_RESULT)) out.error = `wrong result: max abs error ${err.toExponential(2)} > ${WRONG_RESULT}`;
  return out;
}

async function timeRuns(run: () => Promise<void>, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < Math.max(1, warmup); i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return ms;
}

async function readBuffer(device: GPUDevice, buffer: GPUBuffer, bytes: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const data = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return data;
}

// ---------------------------------------------------------------------------------------------------------------
// Each implementation is set up once (device, libraries, start-up tuning), then measured shape by shape; the
// shapes are the outer loop so that every impl at one shape is timed close together (this machine's load drifts).

interface Contender {
  /** Times one problem, pushing its rows (error rows on failure, never a throw). */
  measure(p: Problem, rows: BenchRow[]): Promise<void>;
  dispose(): Promise<void>;
}

/** A setup failure becomes one error row per shape for that impl. */
function failed(impl: Impl, e: unknown): Contender {
  log(`${impl}: ${errorText(e)}`);
  return {
    measure: async (p, rows) => void rows.push(errorRow({ op: 'matmul', impl, shape: p.shape, adapter: 'unknown' }, e)),
    dispose: async () => {},
  };
}

// This library: start-up tuning, then per shape the library's default ('matmul' rows: the tuned variant) and
// every variant forced ('matmul-variant' rows).
async function setupLab(cfg: BenchConfig, rows: BenchRow[]): Promise<{ impl: Contender; rt?: GpuRuntime; tuning?: TuningReport }> {
  let rt: GpuRuntime;
  let tuning: TuningReport;
  try {
    rt = await createRuntime(browserGpu(), 'page');
    // The start-up tuning the app does: times each variant, caches the winner per adapter (a fresh browser
    // profile has an empty cache, so this measures rather than recalls).
    log('lab: tuning the matmul variant for this adapter');
    const t = await tuneMatmul(rt, localStorageVariantCache());
    tuning = { variant: t.variant, msByVariant: { ...t.msByVariant }, cached: t.cached };
    log(`lab: tuned → ${t.variant} (${JSON.stringify(t.msByVariant)}${t.cached ? ', cached' : ''})`);
    for (const variant of MATMUL_VARIANTS) {
      const ms = t.msByVariant[variant];
      rows.push({
        op: 'matmul-tune',
        impl: 'lab',
        shape: [0, 0, 0],
        ms: Number.isFinite(ms) ? ms : null,
        gflops: null,
        adapter: adapterText(rt.adapter),
        variant,
        chosen: variant === t.variant,
        note: t.cached ? 'cached choice' : "tuneMatmul's own timing (GPU timestamps if any), summed over its shapes",
      });
    }
  } catch (e) {
    return { impl: failed('lab', e) };
  }

  const measure = async (p: Problem, out: BenchRow[]) => {
    const [m, k, n] = p.shape;
    // The library's own choice first (matmul with no variant: what the app runs), then each variant forced.
    const configs: { op: BenchRow['op']; variant?: MatmulVariant }[] = [
      { op: 'matmul' },
      ...MATMUL_VARIANTS.map((variant) => ({ op: 'matmul-variant' as const, variant })),
    ];
    for (const { op, variant } of configs) {
      if (rt.isLost) {
        // A fresh device has no tuned choice: matmul falls back to its per-adapter default (named in `variant`).
        log('lab: device lost, creating a new one');
        rt = await createRuntime(browserGpu(), 'page');
      }
      const base = { op, impl: 'lab' as const, shape: p.shape, adapter: adapterText(rt.adapter), variant: variant ?? matmulVariant(rt) };
      const a = rt.upload(p.a, [m, k], 'bench A');
      const b = rt.upload(p.b, [k, n], 'bench B');
      const c = rt.tensor([m, n], 'bench C');
      try {
        const run = async () => {
          const step = rt.step('bench matmul');
          matmul(step, a, b, c, { m, k, n }, variant ? { variant } : {});
          await step.submit();
          await rt.device.queue.onSubmittedWorkDone();
        };
        const ms = await timeRuns(run, cfg.warmup, cfg.runs);
        const row = checked(timedRow(base, ms), sampledError(p, await rt.read(c)));
        out.push(row);
        log(`lab ${op === 'matmul' ? 'default' : 'forced'} ${base.variant} ${shapeText(p.shape)}: ${row.ms!.toFixed(1)} ms`);
      } catch (e) {
        out.push(errorRow(base, e));
        log(`lab ${base.variant} ${shapeText(p.shape)}: ${errorText(e)}`);
      } finally {
        if (!rt.isLost) rt.free(a, b, c);
      }
    }
  };
  return { impl: { measure, dispose: async () => {} }, rt, tuning };
}

// The arithmetic ceiling: iterations calibrated until one launch takes ≥ 150 ms, so launch overhead is noise.
async function benchCeiling(rt: GpuRuntime | undefined, cfg: BenchConfig, rows: BenchRow[]): Promise<void> {
  const threads = 1 << 18; // enough to fill a large GPU (a few thousand lanes × occupancy)
  const base = { op: 'fma-ceiling' as const, impl: 'ceiling' as const, shape: [threads, 0, 4] as Shape, adapter: 'unknown' };
  try {
    const r = rt && !rt.isLost ? rt : await createRuntime(browserGpu(), 'page');
    base.adapter = adapterText(r.adapter);
    const out = r.tensor([threads], 'ceiling out');
    let iters = 8;
    const run = async () => {
      const step = r.step('bench ceiling');
      ceilingFma(step, out, { iters });
      await step.submit();
      await r.device.queue.onSubmittedWorkDone();
    };
    try {
      let [ms] = await timeRuns(run, 1, 1);
      while (ms < 150 && iters < 1 << 20) {
        iters *= Math.min(16, Math.max(2, Math.ceil(300 / Math.max(ms, 1))));
        [ms] = await timeRuns(run, 0, 1);
      }
      const shape: Shape = [threads, iters * CEILING_MADS_PER_ITER, 4];
      const row = timedRow({ ...base, shape }, await timeRuns(run, cfg.warmup, cfg.runs));
      rows.push(row);
      log(`ceiling: ${iters} iterations, ${row.ms!.toFixed(1)} ms, ${row.gflops!.toFixed(2)} GFLOP/s`);
    } finally {
      r.free(out);
      if (r !== rt) r.destroy();
    }
  } catch (e) {
    rows.push(errorRow(base, e));
    log(`ceiling: ${errorText(e)}`);
  }
}

// The per-row kernels at the tiny preset's training shape (N = B·T rows of C channels or V logits), each variant
// forced in turn within every run so both see the same machine load; ms is the kernel's GPU time (timestamps,
// summed over its dispatches: layernorm_backward includes layernorm_backward_weight).
async function benchRowKernels(rt: GpuRuntime, cfg: BenchConfig, rows: BenchRow[]): Promise<void> {
  const { dModel: C, vocabSize: V } = PRESETS.tiny;
  const { B, T } = DEFAULT_TRAIN_SHAPES.tiny;
  const N = B * T;
  const x = rt.upload(uniform(N * C, 11), [N, C], 'bench ln x'); // (N,C)
  const w = rt.upload(uniform(C, 12), [C], 'bench ln weight'); // (C)
  const b = rt.upload(uniform(C, 13), [C], 'bench ln bias'); // (C)
  const y = rt.tensor([N, C], 'bench ln out'); // (N,C)
  const mean = rt.tensor([N], 'bench ln mean'); // (N)
  const rstd = rt.tensor([N], 'bench ln rstd'); // (N)
  const dx = rt.tensor([N, C], 'bench ln dinp'); // (N,C)
  const dw = rt.tensor([C], 'bench ln dweight'); // (C)
  const db = rt.tensor([C], 'bench ln dbias'); // (C)
  const scratch = rt.tensor(layernormScratchShape(N, C), 'bench ln scratch');
  const logits = rt.upload(uniform(N * V, 14).map((v) => 4 * v), [N, V], 'bench logits'); // (N,V)
  const targets = rt.upload(Uint32Array.from({ length: N }, (_, n) => (n * 37) % V), [N], 'bench targets', 'u32'); // (N)
  const weights = rt.upload(new Float32Array(N).fill(1), [N], 'bench ce weights'); // (N)
  const losses = rt.tensor([N], 'bench ce losses'); // (N)
  const dlogits = rt.tensor([N, V], 'bench dlogits'); // (N,V)
  const logprobs = rt.tensor([N], 'bench logprobs'); // (N)
  const stats = rt.tensor([N, 2], 'bench logprob stats'); // (N,2)
  const kernels: { kernel: string; width: number; record: (step: Step, variant: RowVariant) => void }[] = [
    { kernel: 'layernorm_forward', width: C, record: (s, variant) => layernormForward(s, x, w, b, y, mean, rstd, undefined, { variant }) },
    {
      kernel: 'layernorm_backward',
      width: C,
      record: (s, variant) => layernormBackward(s, y, x, w, mean, rstd, dx, dw, db, scratch, { variant }),
    },
    {
      kernel: 'crossentropy_forward_backward',
      width: V,
      record: (s, variant) => crossentropyForwardBackward(s, logits, targets, weights, losses, dlogits, 1 / N, { variant }),
    },
    { kernel: 'logprob_forward', width: V, record: (s, variant) => logprobForward(s, logits, targets, logprobs, stats, 1, { variant }) },
  ];
  const timestamps = rt.adapter.features.timestampQuery;
  const defaultVariant = rowVariant(rt);
  for (const { kernel, width, record } of kernels) {
    const base = { op: 'row-kernel' as const, impl: 'lab' as const, shape: [N, width, 0] as Shape, adapter: adapterText(rt.adapter), kernel };
    const runsMs = new Map<RowVariant, number[]>(ROW_VARIANTS.map((v) => [v, []]));
    try {
      for (let i = 0; i < Math.max(1, cfg.warmup) + cfg.runs; i++) {
        for (const variant of ROW_VARIANTS) {
          const step = rt.step(`bench ${kernel} ${variant}`);
          record(step, variant);
          const t0 = performance.now();
          const { kernelTimes } = await step.submit({ profile: true });
          await rt.device.queue.onSubmittedWorkDone();
          const ms = timestamps && kernelTimes ? kernelTimes.reduce((sum, t) => sum + t.ms, 0) : performance.now() - t0;
          if (i >= Math.max(1, cfg.warmup)) runsMs.get(variant)!.push(ms);
        }
      }
      for (const variant of ROW_VARIANTS) {
        const ms = runsMs.get(variant)!;
        const note = timestamps ? 'GPU time (timestamp queries)' : 'wall clock (no timestamp-query)';
        rows.push({ ...base, variant, chosen: variant === defaultVariant, ms: median(ms), gflops: null, runsMs: ms, note });
      }
      const [tree, serial] = ROW_VARIANTS.map((v) => median(runsMs.get(v)!));
      log(`rows ${kernel} ${N}×${width}: tree ${tree.toFixed(2)} ms, serial ${serial.toFixed(2)} ms`);
    } catch (e) {
      for (const variant of ROW_VARIANTS) rows.push(errorRow({ ...base, variant }, e));
      log(`rows ${kernel}: ${errorText(e)}`);
    }
  }
  rt.free(x, w, b, y, mean, rstd, dx, dw, db, scratch, logits, targets, weights, losses, dlogits, logprobs, stats);
}

// TF.js 4.22, WebGPU backend: tf.matMul, then flush the backend's command encoder and wait on its device's
// onSubmittedWorkDone (no dataSync/readback in the timed region).
async function setupTfjs(cfg: BenchConfig): Promise<Contender> {
  let tf: typeof import('@tensorflow/tfjs');
  let backend: import('@tensorflow/tfjs-backend-webgpu').WebGPUBackend;
  try {
    tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
    await tf.ready();
    backend = tf.backend() as unknown as typeof backend;
  } catch (e) {
    return failed('tfjs-webgpu', e);
  }
  const adapter = adapterText(backend.device.adapterInfo);
  const measure = async (p: Problem, rows: BenchRow[]) => {
    const [m, k, n] = p.shape;
    const base = { op: 'matmul' as const, impl: 'tfjs-webgpu' as const, shape: p.shape, adapter };
    const a = tf.tensor2d(p.a, [m, k]);
    const b = tf.tensor2d(p.b, [k, n]);
    try {
      const run = async () => {
        const c = tf.matMul(a, b);
        // TF.js batches dispatches in an open compute pass; flush it as its own readback path does
        // (submitQueue alone would finish the encoder with the pass still open: an invalid command buffer).
        backend.ensureCommandEncoderReady();
        backend.endComputePassEncoder();
        backend.submitQueue();
        await backend.device.queue.onSubmittedWorkDone();
        c.dispose();
      };
      const ms = await timeRuns(run, cfg.warmup, cfg.runs);
      const c = tf.matMul(a, b);
      const data = (await c.data()) as Float32Array;
      c.dispose();
      const row = checked(timedRow(base, ms), sampledError(p, data));
      rows.push(row);
      log(`tfjs ${shapeText(p.shape)}: ${row.ms!.toFixed(1)} ms`);
    } catch (e) {
      rows.push(errorRow(base, e));
      log(`tfjs ${shapeText(p.shape)}: ${errorText(e)}`);
    } finally {
      a.dispose();
      b.dispose();
    }
  };
  return { measure, dispose: async () => tf.disposeVariables() };
}

// ONNX Runtime Web 1.30, WebGPU EP, on a hand-encoded MatMul model (one session per shape: static shapes).
// Inputs and the output are GPU buffers on ORT's own device (Tensor.fromGpuBuffer, the output pre-allocated as a
// fetch), so no upload or readback is timed.
async function setupOrt(cfg: BenchConfig): Promise<Contender> {
  let ort: typeof import('onnxruntime-web/webgpu');
  try {
    ort = await import('onnxruntime-web/webgpu');
    ort.env.wasm.numThreads = 1; // no cross-origin isolation on the dev server, so no wasm threads
    ort.env.logLevel = 'error';
  } catch (e) {
    return failed('ort-webgpu', e);
  }
  const measure = async (p: Problem, rows: BenchRow[]) => {
    const [m, k, n] = p.shape;
    const base = { op: 'matmul' as const, impl: 'ort-webgpu' as const, shape: p.shape, adapter: 'unknown' };
    const buffers: GPUBuffer[] = [];
    let session: import('onnxruntime-web').InferenceSession | undefined;
    try {
      session = await ort.InferenceSession.create(matmulModel(m, k, n), {
        executionProviders: ['webgpu'],
        preferredOutputLocation: 'gpu-buffer',
      });
      const device = await ort.env.webgpu.device;
      base.adapter = adapterText(device.adapterInfo);
      const gpuTensor = (data: Float32Array<ArrayBuffer> | number, dims: number[]) => {
        const bytes = (typeof data === 'number' ? data : data.length) * 4;
        const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
        const buffer = device.createBuffer({ size: bytes, usage });
        buffers.push(buffer);
        if (typeof data !== 'number') device.queue.writeBuffer(buffer, 0, data);
        return { buffer, tensor: ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims }) };
      };
      const A = gpuTensor(p.a, [m, k]);
      const B = gpuTensor(p.b, [k, n]);
      const Y = gpuTensor(m * n, [m, n]);
      const s = session;
      const run = async () => {
        await s.run({ A: A.tensor, B: B.tensor }, { Y: Y.tensor });
        await device.queue.onSubmittedWorkDone();
      };
      const ms = await timeRuns(run, cfg.warmup, cfg.runs);
      const row = checked(timedRow(base, ms), sampledError(p, await readBuffer(device, Y.buffer, m * n * 4)));
      rows.push(row);
      log(`ort ${shapeText(p.shape)}: ${row.ms!.toFixed(1)} ms`);
    } catch (e) {
      rows.push(errorRow(base, e));
      log(`ort ${shapeText(p.shape)}: ${errorText(e)}`);
    } finally {
      await session?.release().catch(() => {});
      buffers.forEach((b) => b.destroy());
    }
  };
  return { measure, dispose: async () => {} };
}

// ---------------------------------------------------------------------------------------------------------------

export async function runBench(cfg: BenchConfig): Promise<BenchResult> {
  const rows: BenchRow[] = [];
  const problems: Problem[] = cfg.shapes.map((shape, i) => ({
    shape,
    a: uniform(shape[0] * shape[1], 2 * i + 1),
    b: uniform(shape[1] * shape[2], 2 * i + 2),
  }));
  log(`shapes ${cfg.shapes.map(shapeText).join(', ')}; ${cfg.warmup} warm-up + ${cfg.runs} timed runs; impls ${cfg.impls.join(', ')}`);

  const impls: Contender[] = [];
  let tuning: TuningReport | undefined;
  let rt: GpuRuntime | undefined;
  if (cfg.impls.includes('lab')) {
    const lab = await setupLab(cfg, rows);
    ({ tuning, rt } = lab);
    impls.push(lab.impl);
  }
  if (rt) await benchRowKernels(rt, cfg, rows);
  if (cfg.impls.includes('ceiling')) await benchCeiling(rt, cfg, rows);
  if (cfg.impls.includes('tfjs-webgpu')) impls.push(await setupTfjs(cfg));
  if (cfg.impls.includes('ort-webgpu')) impls.push(await setupOrt(cfg));

  for (const p of problems) for (const impl of impls) await impl.measure(p, rows);
  for (const impl of impls) await impl.dispose();
  if (rt && !rt.isLost) rt.destroy();
  // Rows grouped as the table reads best: tuning, ceiling, then each shape's rows in impl order.
  const order = (r: BenchRow) => (r.op === 'matmul-tune' ? 0 : r.op === 'fma-ceiling' ? 1 : 2);
  rows.sort((x, y) => order(x) - order(y)); // stable: shapes stay in measuring order
  return { rows, tuning };
}

async function main(): Promise<void> {
  try {
    const raw = new URLSearchParams(location.search).get('config');
    if (!raw) throw new Error('missing ?config=<json> (run `npm run bench -- kernels`)');
    window.__benchResult = await runBench(JSON.parse(raw) as BenchConfig);
  } catch (e) {
    log(`fatal: ${errorText(e)}`);
    window.__benchResult = { rows: [], fatal: errorText(e) };
  }
}

void main();
