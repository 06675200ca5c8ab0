// The training benchmark (`npm run bench -- train`): the page src/bench/train.html runs it in headless Chromium
// on the browser's WebGPU adapter; the CLI (src/cli/bench.ts) collects the rows, prints the table and the
// targets, and writes bench-results/train.json. This module holds both halves: the row type, defaults, table and
// target summary (pure, also used by the CLI in Node) and the page's measurements (runTrainBench).
//
// Measured, per preset (nano, tiny, small; the batch B×T is per preset and the same for both impls):
//  - 'train': training tokens/s = B·T / median wall-clock of a full optimizer step (upload the batch, forward,
//    backward, gradient clip, AdamW, read back the loss and gradient norm), after warm-up steps that compile the
//    pipelines; for the lab engine (src/model/train.ts, one submit per step) and for the same GPT written with
//    TF.js on its WebGPU backend (src/bench/tfjs-gpt.ts), from the same initial weights and batch, in this page,
//    on the same adapter. Dropout is the preset's (0.1 for tiny and small) in both.
//  - 'dispatches-per-step', 'submits-per-step': rt.counters' increase over one lab training step.
//  - 'gpu-bytes-peak', 'gpu-bytes-allocated': the lab's buffer pool after the timed steps (its own runtime per
//    preset, so nothing else is counted): highest bytes in use at once, and bytes of every buffer it created;
//    'gpu-bytes-minimum' (impl 'theory'): params + grads + Adam moments + kept activations (src/bench/memory.ts);
//    'memory-ratio': allocated / minimum. TF.js's buffer manager is reported for comparison ('gpu-bytes-allocated',
//    impl 'tfjs-webgpu').
// And once, for the lab at the generation preset (tiny, context 128): 'generate-kv-cache' and
// 'generate-recompute': generated tokens/s with src/model/generate.ts's KV cache and by recomputing the full
// context each step, B prompts of promptLen tokens + newTokens new ones (prompt + new = 128), same seed.
import { browserGpu, createRuntime, type GpuRuntime } from '../gpu';
import { localStorageVariantCache, tuneMatmul } from '../kernels/matmul';
import { type GPTConfig, type PresetName, PRESETS } from '../model/config';
import { seededRandom } from '../model/data';
import { type Batch, GPT } from '../model/gpt';
import { initWeights } from '../model/params';
import { constantSchedule } from '../model/schedule';
import { Trainer } from '../model/train';
import { theoreticalMinimum } from './memory';
import { median, type Verdict } from './results';

// ---- rows ----------------------------------------------------------------------------------------------------------

export type TrainBenchName =
  | 'train'
  | 'generate-kv-cache'
  | 'generate-recompute'
  | 'dispatches-per-step'
  | 'submits-per-step'
  | 'gpu-bytes-peak'
  | 'gpu-bytes-allocated'
  | 'gpu-bytes-minimum'
  | 'memory-ratio';
export type TrainImpl = 'lab' | 'tfjs-webgpu' | 'theory';
export const TRAIN_PRESETS: readonly PresetName[] = ['nano', 'tiny', 'small'];
export const TRAIN_IMPLS: readonly TrainImpl[] = ['lab', 'tfjs-webgpu'];

/** One line of bench-results/train.json; `value` is null when the measurement failed (`error` says why). */
export interface TrainRow {
  bench: TrainBenchName;
  impl: TrainImpl;
  preset: PresetName;
  value: number | null;
  unit: string;
  adapter: string;
  /** The batch (training) or the number of sequences generated at once. */
  B?: number;
  /** Sequence length (training) or prompt + new tokens (generation). */
  T?: number;
  /** Timed runs in ms, in order (value comes from their median). */
  runsMs?: number[];
  note?: string;
  error?: string;
}

export function trainErrorRow(base: Omit<TrainRow, 'value' | 'error'>, error: unknown): TrainRow {
  const message = error instanceof Error ? error.message : String(error);
  return { ...base, value: null, error: message.split('\n')[0].slice(0, 300) };
}

/** bench-results/train.json: a JSON array, one row per line, the documented keys first. */
export function toTrainJson(rows: readonly TrainRow[]): string {
  const ordered = rows.map(({ bench, impl, preset, value, unit, adapter, ...rest }) => ({ bench, impl, preset, value, unit, adapter, ...rest }));
  return `[\n${ordered.map((r) => '  ' + JSON.stringify(r)).join(',\n')}\n]\n`;
}

// ---- configuration -------------------------------------------------------------------------------------------------

export interface GenerationConfig {
  preset: PresetName;
  /** Sequences generated at once. */
  B: number;
  promptLen: number;
  newTokens: number;
  /** Untimed short runs (4 new tokens) per path first, compiling its pipelines. */
  warmup: number;
  /** Timed runs with the KV cache (median reported). */
  runs: number;
  /** Timed runs recomputing the full context (median reported). */
  recomputeRuns: number;
}

export interface TrainBenchConfig {
  presets: PresetName[];
  impls: TrainImpl[];
  /** B×T per preset, the same for every impl. */
  shapes: Record<PresetName, { B: number; T: number }>;
  /** Untimed training steps first (the first compiles every pipeline; later ones run at steady speed). */
  warmup: number;
  /** Timed training steps; the median is reported. */
  runs: number;
  /** Constant learning rate (both impls), AdamW otherwise at the lab's defaults. */
  lr: number;
  seed: number;
  /** null: skip the generation rows. */
  generation: GenerationConfig | null;
}

/**
 * Batches sized for SwiftShader (~1–2 GFLOP/s on 2 cores, and TF.js ~5–8× slower than the lab there): 256 tokens
 * a step for every preset, tiny and small at T = 128 (the generation context). small's step is ~5× tiny's FLOPs,
 * and TF.js needs ~30 s for it on SwiftShader, which is what bounds the run time.
 */
export const DEFAULT_TRAIN_SHAPES: Readonly<Record<PresetName, { B: number; T: number }>> = Object.freeze({
  nano: { B: 8, T: 32 },
  tiny: { B: 2, T: 128 },
  small: { B: 2, T: 128 },
});

/**
 * The generation measurement: 4 sequences × (16-token prompt + 112 new tokens) = context 128 on tiny. Recomputing
 * is ~20–40× slower (a minute a run on SwiftShader, itself an average over 112 decode steps), so it gets one timed
 * run by default and the KV cache three.
 */
export const DEFAULT_GENERATION: Readonly<GenerationConfig> = Object.freeze({
  preset: 'tiny',
  B: 4,
  promptLen: 16,
  newTokens: 112,
  warmup: 1,
  runs: 3,
  recomputeRuns: 1,
});

export function defaultTrainConfig(quick = false): TrainBenchConfig {
  return {
    presets: [...TRAIN_PRESETS],
    impls: [...TRAIN_IMPLS],
    shapes: { ...DEFAULT_TRAIN_SHAPES },
    warmup: 1,
    runs: quick ? 2 : 5,
    lr: 1e-3,
    seed: 1234,
    generation: quick ? { ...DEFAULT_GENERATION, runs: 1, newTokens: 48 } : { ...DEFAULT_GENERATION },
  };
}

// ---- table and targets ---------------------------------------------------------------------------------------------

function valueText(r: TrainRow): { value: string; unit: string } {
  if (r.value === null) return { value: '—', unit: r.unit === 'bytes' ? 'MiB' : r.unit };
  if (r.unit === 'bytes') return { value: (r.value / 2 ** 20).toFixed(2), unit: 'MiB' };
  if (Number.isInteger(r.value)) return { value: String(r.value), unit: r.unit };
  return { value: r.value >= 100 ? r.value.toFixed(0) : r.value.toFixed(2), unit: r.unit };
}

/** Plain-text table, one line per row, columns padded to their widest cell (numbers right-aligned). */
export function formatTrainTable(rows: readonly TrainRow[]): string {
  const header = ['bench', 'impl', 'preset', 'batch', 'value', 'unit', 'note'];
  const cells = rows.map((r) => {
    const v = valueText(r);
    return [r.bench, r.impl, r.preset, r.B !== undefined && r.T !== undefined ? `${r.B}×${r.T}` : '', v.value, v.unit, r.error ? `ERROR: ${r.error}` : (r.note ?? '')];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === 4 ? x.padStart(widths[i]) : x.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export const TRAIN_SPEEDUP_TARGET = 3;
export const TRAIN_SPEEDUP_PRESETS: readonly PresetName[] = ['tiny', 'small'];
export const GENERATION_SPEEDUP_TARGET = 5;
export const GENERATION_CONTEXT = 128;
export const MEMORY_RATIO_TARGET = 1.5;

export interface TrainSummary {
  /** lab tokens/s over TF.js tokens/s, per preset measured by both. */
  trainSpeedup: Partial<Record<PresetName, number>>;
  /** KV-cache tokens/s over recompute tokens/s at context 128. */
  generationSpeedup: number | null;
  /** Allocated bytes over the theoretical minimum, per preset. */
  memoryRatio: Partial<Record<PresetName, number>>;
  trainTarget: Verdict;
  generationTarget: Verdict;
  memoryTarget: Verdict;
  lines: string[];
}

const ok = (r: TrainRow | undefined): r is TrainRow & { value: number } => r !== undefined && r.value !== null && !r.error;

/**
 * The three targets: lab ≥ 3× TF.js training tokens/s on tiny and small; KV-cache generation ≥ 5× recompute at
 * context 128; allocated GPU bytes ≤ 1.5× the theoretical minimum on every preset measured. A target whose rows
 * are missing or failed is 'not measured'; one failing value makes it 'not met'.
 */
export function summarizeTrain(rows: readonly TrainRow[]): TrainSummary {
  const lines: string[] = [];
  const find = (bench: TrainBenchName, impl: TrainImpl, preset: PresetName) => rows.find((r) => r.bench === bench && r.impl === impl && r.preset === preset);
  const presets = TRAIN_PRESETS.filter((p) => rows.some((r) => r.preset === p));

  const trainSpeedup: Partial<Record<PresetName, number>> = {};
  lines.push('training tokens/s, lab over TF.js WebGPU (same config, batch, weights and adapter):');
  for (const p of presets) {
    const lab = find('train', 'lab', p);
    const tfjs = find('train', 'tfjs-webgpu', p);
    if (!lab && !tfjs) continue;
    if (ok(lab) && ok(tfjs)) {
      trainSpeedup[p] = lab.value / tfjs.value;
      lines.push(`  ${p.padEnd(6)} ${trainSpeedup[p]!.toFixed(2)}× (lab ${lab.value.toFixed(0)} vs TF.js ${tfjs.value.toFixed(0)} tokens/s)`);
    } else {
      lines.push(`  ${p.padEnd(6)} not measured (lab ${ok(lab) ? lab.value.toFixed(0) : '—'}, TF.js ${ok(tfjs) ? tfjs.value.toFixed(0) : '—'} tokens/s)`);
    }
  }
  const below = TRAIN_SPEEDUP_PRESETS.filter((p) => trainSpeedup[p] !== undefined && trainSpeedup[p]! < TRAIN_SPEEDUP_TARGET);
  const trainTarget: Verdict = below.length ? 'not met' : TRAIN_SPEEDUP_PRESETS.every((p) => trainSpeedup[p] !== undefined) ? 'met' : 'not measured';

  const kv = rows.find((r) => r.bench === 'generate-kv-cache' && r.T === GENERATION_CONTEXT);
  const full = rows.find((r) => r.bench === 'generate-recompute' && r.T === GENERATION_CONTEXT && r.preset === kv?.preset && r.B === kv?.B);
  const generationSpeedup = ok(kv) && ok(full) ? kv.value / full.value : null;
  lines.push(
    `generation at context ${GENERATION_CONTEXT}, KV cache over recompute: ` +
      (generationSpeedup === null
        ? 'not measured'
        : `${generationSpeedup.toFixed(2)}× (${kv!.value!.toFixed(1)} vs ${full!.value!.toFixed(1)} tokens/s, ${kv!.preset}, ${kv!.B} sequences)`),
  );
  const generationTarget: Verdict = generationSpeedup === null ? 'not measured' : generationSpeedup >= GENERATION_SPEEDUP_TARGET ? 'met' : 'not met';

  const memoryRatio: Partial<Record<PresetName, number>> = {};
  lines.push('GPU memory, lab allocated (peak in use) over the theoretical minimum:');
  for (const p of presets) {
    const alloc = find('gpu-bytes-allocated', 'lab', p);
    const peak = find('gpu-bytes-peak', 'lab', p);
    const min = find('gpu-bytes-minimum', 'theory', p);
    const flagged = find('memory-ratio', 'lab', p)?.error;
    if (!alloc && !min) continue;
    if (flagged) lines.push(`  ${p.padEnd(6)} not measured (${flagged})`);
    else if (ok(alloc) && ok(min)) {
      memoryRatio[p] = alloc.value / min.value;
      const peakText = ok(peak) ? ` (${(peak.value / min.value).toFixed(2)}×)` : '';
      const mib = (b: number) => (b / 2 ** 20).toFixed(2);
      lines.push(`  ${p.padEnd(6)} ${memoryRatio[p]!.toFixed(2)}×${peakText}: ${mib(alloc.value)} MiB allocated vs ${mib(min.value)} MiB minimum`);
    } else {
      lines.push(`  ${p.padEnd(6)} not measured`);
    }
  }
  const ratios = Object.entries(memoryRatio) as [PresetName, number][];
  const over = ratios.filter(([, r]) => r > MEMORY_RATIO_TARGET).map(([p]) => p);
  const memoryTarget: Verdict = over.length ? 'not met' : ratios.length ? 'met' : 'not measured';

  const verdict = (v: Verdict) => (v === 'met' ? 'MET' : v === 'not met' ? 'NOT MET' : 'NOT MEASURED');
  lines.push(
    `target: lab ≥ ${TRAIN_SPEEDUP_TARGET}× TF.js training tokens/s for ${TRAIN_SPEEDUP_PRESETS.join(' and ')}: ${verdict(trainTarget)}` +
      (below.length ? ` (below on ${below.join(', ')})` : ''),
  );
  lines.push(`target: KV-cache generation ≥ ${GENERATION_SPEEDUP_TARGET}× recompute at context ${GENERATION_CONTEXT}: ${verdict(generationTarget)}`);
  lines.push(`target: GPU bytes allocated ≤ ${MEMORY_RATIO_TARGET}× the theoretical minimum: ${verdict(memoryTarget)}` + (over.length ? ` (over on ${over.join(', ')})` : ''));
  return { trainSpeedup, generationSpeedup, memoryRatio, trainTarget, generationTarget, memoryTarget, lines };
}

// ---- the page's measurements ---------------------------------------------------------------------------------------

export interface TrainBenchResult {
  rows: TrainRow[];
  /** The matmul variant the lab ran with (tuned for this adapter at start-up). */
  matmulVariant?: string;
  fatal?: string;
}

declare global {
  interface Window {
    __trainBenchResult?: TrainBenchResult;
  }
}

function log(message: string): void {
  console.log(`[bench] ${message}`);
  const el = typeof document !== 'undefined' ? document.getElementById('log') : null;
  if (el) el.textContent += message + '\n';
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function adapterText(info: { vendor: string; architecture: string; description: string } | undefined): string {
  if (!info) return 'unknown';
  return [info.vendor, info.architecture, info.description ? `(${info.description})` : ''].filter(Boolean).join(' ') || 'unknown';
}

/** A seeded (B,T) batch of random token ids (uniform over the vocabulary), targets the inputs shifted by one. */
export function randomBatch(config: GPTConfig, B: number, T: number, seed: number): Batch {
  const r = seededRandom(seed);
  const seq = Uint32Array.from({ length: B * (T + 1) }, () => Math.floor(r() * config.vocabSize));
  const tokens = new Uint32Array(B * T);
  const targets = new Uint32Array(B * T);
  for (let b = 0; b < B; b++) {
    tokens.set(seq.subarray(b * (T + 1), b * (T + 1) + T), b * T);
    targets.set(seq.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
  }
  return { B, T, tokens, targets };
}

async function timeSteps(step: () => Promise<unknown>, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await step();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await step();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** A runtime with the matmul variant tuned for this adapter (cached in localStorage after the first tuning). */
async function labRuntime(): Promise<GpuRuntime> {
  const rt = await createRuntime(browserGpu(), 'page');
  await tuneMatmul(rt, localStorageVariantCache());
  return rt;
}

async function measureLab(cfg: TrainBenchConfig, preset: PresetName, batch: Batch, weights: Record<string, Float32Array>, rows: TrainRow[]): Promise<void> {
  const config = PRESETS[preset];
  const { B, T } = batch;
  const base = { impl: 'lab' as const, preset, adapter: 'unknown', B, T };
  let rt: GpuRuntime | undefined;
  try {
    // A runtime of its own, so the buffer pool's counters see this preset's training only (the matmul tuning ran
    // on another runtime and is recalled from the cache here, allocating nothing).
    rt = await labRuntime();
    base.adapter = adapterText(rt.adapter);
    const model = GPT.create(rt, config, { weights, dropoutSeed: cfg.seed });
    const trainer = new Trainer(model, { schedule: constantSchedule(cfg.lr) });
    try {
      const runsMs = await timeSteps(() => trainer.trainStep(batch), cfg.warmup, cfg.runs);
      const ms = median(runsMs);
      rows.push({ ...base, bench: 'train', value: (B * T) / (ms / 1000), unit: 'tokens/s', runsMs, note: `median step ${ms.toFixed(1)} ms` });
      log(`lab ${preset} ${B}×${T}: ${ms.toFixed(1)} ms/step, ${((B * T) / (ms / 1000)).toFixed(0)} tokens/s`);

      const before = { ...rt.counters };
      const last = await trainer.trainStep(batch);
      rows.push({ ...base, bench: 'dispatches-per-step', value: rt.counters.dispatches - before.dispatches, unit: 'dispatches' });
      rows.push({ ...base, bench: 'submits-per-step', value: rt.counters.submits - before.submits, unit: 'submits' });
      log(`lab ${preset}: ${rt.counters.dispatches - before.dispatches} dispatches, ${rt.counters.submits - before.submits} submit(s) per step; loss ${last.loss.toFixed(3)}`);

      const stats = { ...rt.buffers.stats };
      const min = theoreticalMinimum(config, B, T);
      rows.push({ ...base, bench: 'gpu-bytes-peak', value: stats.peakInUseBytes, unit: 'bytes', note: 'buffer pool: most bytes in use at once' });
      rows.push({ ...base, bench: 'gpu-bytes-allocated', value: stats.allocatedBytes, unit: 'bytes', note: `buffer pool: ${stats.allocations} buffers created` });
      rows.push({
        ...base,
        impl: 'theory',
        bench: 'gpu-bytes-minimum',
        value: min.bytes,
        unit: 'bytes',
        note: `4×${min.params} params/grads/moments + ${min.activations} activations (f32)`,
      });
      const ratio = { ...base, bench: 'memory-ratio' as const, value: stats.allocatedBytes / min.bytes, unit: '×', note: `allocated / minimum (peak in use / minimum ${(stats.peakInUseBytes / min.bytes).toFixed(2)}×)` };
      // The minimum is a lower bound of what any engine must hold; an engine below it means the formula overcounts.
      rows.push(stats.peakInUseBytes < min.bytes ? { ...ratio, error: `peak in use ${stats.peakInUseBytes} B is below the "minimum" ${min.bytes} B: src/bench/memory.ts overcounts` } : ratio);
    } finally {
      trainer.dispose();
      model.dispose();
    }
  } catch (e) {
    log(`lab ${preset}: ${errorText(e)}`);
    if (!rows.some((r) => r.bench === 'train' && r.impl === 'lab' && r.preset === preset)) rows.push(trainErrorRow({ ...base, bench: 'train', unit: 'tokens/s' }, e));
  } finally {
    rt?.destroy();
  }
}

type Tf = typeof import('@tensorflow/tfjs');

async function setupTfjs(): Promise<{ tf: Tf; adapter: string }> {
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
  await tf.ready();
  const backend = tf.backend() as unknown as { device: GPUDevice & { adapterInfo?: GPUAdapterInfo } };
  return { tf, adapter: adapterText(backend.device.adapterInfo) };
}

async function measureTfjs(
  cfg: TrainBenchConfig,
  tfjs: { tf: Tf; adapter: string },
  preset: PresetName,
  batch: Batch,
  weights: Record<string, Float32Array>,
  rows: TrainRow[],
): Promise<void> {
  const { tf, adapter } = tfjs;
  const { TfGpt } = await import('./tfjs-gpt');
  const { B, T } = batch;
  const base = { impl: 'tfjs-webgpu' as const, preset, adapter, B, T };
  const gpuBytes = () => (tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU;
  const bytesBefore = gpuBytes();
  let model: InstanceType<typeof TfGpt> | undefined;
  try {
    model = new TfGpt(tf, PRESETS[preset], weights, { lr: cfg.lr });
    const m = model;
    const runsMs = await timeSteps(() => m.trainStep(batch), cfg.warmup, cfg.runs);
    const ms = median(runsMs);
    rows.push({ ...base, bench: 'train', value: (B * T) / (ms / 1000), unit: 'tokens/s', runsMs, note: `median step ${ms.toFixed(1)} ms` });
    log(`tfjs ${preset} ${B}×${T}: ${ms.toFixed(1)} ms/step, ${((B * T) / (ms / 1000)).toFixed(0)} tokens/s`);
    const bytesAfter = gpuBytes();
    if (bytesBefore !== undefined && bytesAfter !== undefined) {
      rows.push({
        ...base,
        bench: 'gpu-bytes-allocated',
        value: bytesAfter - bytesBefore,
        unit: 'bytes',
        note: "TF.js buffer manager, bytes it allocated for this preset (approximate: it reuses earlier presets' free buffers)",
      });
    }
  } catch (e) {
    rows.push(trainErrorRow({ ...base, bench: 'train', unit: 'tokens/s' }, e));
    log(`tfjs ${preset}: ${errorText(e)}`);
  } finally {
    model?.dispose();
  }
}

async function measureGeneration(g: GenerationConfig, seed: number, rows: TrainRow[]): Promise<void> {
  const config = PRESETS[g.preset];
  const T = g.promptLen + g.newTokens;
  const base = { impl: 'lab' as const, preset: g.preset, adapter: 'unknown', B: g.B, T };
  const benches = ['generate-kv-cache', 'generate-recompute'] as const;
  let rt: GpuRuntime | undefined;
  try {
    const { generate } = await import('../model/generate');
    rt = await labRuntime();
    base.adapter = adapterText(rt.adapter);
    const model = GPT.create(rt, config, { seed });
    model.eval();
    const r = seededRandom(seed + 1);
    const prompts = Array.from({ length: g.B }, () => Uint32Array.from({ length: g.promptLen }, () => Math.floor(r() * config.vocabSize)));
    const tokens: Uint32Array[][] = [];
    try {
      for (const [i, useCache] of [true, false].entries()) {
        const bench = benches[i];
        try {
          const options = { prompts, maxNewTokens: g.newTokens, temperature: 1, seed, useCache };
          // Warm-up: a few tokens through every pipeline the path uses.
          for (let w = 0; w < g.warmup; w++) await generate(model, { ...options, maxNewTokens: Math.min(4, g.newTokens) });
          const runs = useCache ? g.runs : g.recomputeRuns;
          const before = { ...rt.counters };
          let out: Uint32Array[] = [];
          const runsMs = await timeSteps(async () => (out = (await generate(model, options)).ids), 0, runs);
          const perRun = { dispatches: (rt.counters.dispatches - before.dispatches) / runs, submits: (rt.counters.submits - before.submits) / runs };
          tokens.push(out);
          const ms = median(runsMs);
          const value = (g.B * g.newTokens) / (ms / 1000);
          const note =
            `${g.B}×(${g.promptLen} prompt + ${g.newTokens} new) tokens in ${ms.toFixed(0)} ms; ` +
            `${(perRun.dispatches / g.newTokens).toFixed(1)} dispatches per decode step, ${perRun.submits} submits per run`;
          rows.push({ ...base, bench, value, unit: 'tokens/s', runsMs, note });
          log(`generate ${useCache ? 'KV cache' : 'recompute'}: ${value.toFixed(1)} tokens/s (${note})`);
        } catch (e) {
          rows.push(trainErrorRow({ ...base, bench, unit: 'tokens/s' }, e));
          log(`generate ${useCache ? 'KV cache' : 'recompute'}: ${errorText(e)}`);
        }
      }
      // Both paths draw the same tokens for the same seed (generate.ts), so a difference means one of them is wrong
      // (or, rarely, an f32 rounding moved one draw across a boundary).
      if (tokens.length === 2) {
        const rowsDiffering = tokens[0].filter((ids, b) => ids.length !== tokens[1][b].length || ids.some((t, i) => t !== tokens[1][b][i])).length;
        const kvRow = rows.find((x) => x.bench === 'generate-kv-cache' && x.preset === g.preset && x.value !== null);
        if (kvRow) kvRow.note += `; same tokens as recompute: ${rowsDiffering === 0 ? 'yes' : `no (${rowsDiffering} of ${g.B} sequences differ)`}`;
      }
    } finally {
      model.dispose();
    }
  } catch (e) {
    // generate.ts missing or broken, or no device: both rows are errors.
    for (const bench of benches) if (!rows.some((x) => x.bench === bench)) rows.push(trainErrorRow({ ...base, bench, unit: 'tokens/s' }, e));
    log(`generate: ${errorText(e)}`);
  } finally {
    rt?.destroy();
  }
}

/** Runs every measurement of `cfg` in this page and returns the rows (error rows for failures, never a throw). */
export async function runTrainBench(cfg: TrainBenchConfig): Promise<TrainBenchResult> {
  const rows: TrainRow[] = [];
  log(
    `presets ${cfg.presets.map((p) => `${p} ${cfg.shapes[p].B}×${cfg.shapes[p].T}`).join(', ')}; ${cfg.warmup} warm-up + ${cfg.runs} timed steps; ` +
      `impls ${cfg.impls.join(', ')}; generation ${cfg.generation ? `${cfg.generation.preset} ${cfg.generation.B}×(${cfg.generation.promptLen}+${cfg.generation.newTokens})` : 'off'}`,
  );
  // Tune the matmul variant once, on a throwaway runtime (the choice is cached per adapter for the others).
  let matmulVariant: string | undefined;
  if (cfg.impls.includes('lab') || cfg.generation) {
    try {
      const rt = await createRuntime(browserGpu(), 'page');
      const t = await tuneMatmul(rt, localStorageVariantCache());
      matmulVariant = t.variant;
      log(`lab: matmul variant ${t.variant}${t.cached ? ' (cached)' : ''}`);
      rt.destroy();
    } catch (e) {
      log(`lab: tuning failed: ${errorText(e)}`);
    }
  }
  let tfjs: { tf: Tf; adapter: string } | Error | undefined;
  if (cfg.impls.includes('tfjs-webgpu')) {
    try {
      tfjs = await setupTfjs();
    } catch (e) {
      tfjs = e instanceof Error ? e : new Error(String(e));
      log(`tfjs: ${tfjs.message}`);
    }
  }
  for (const preset of cfg.presets) {
    const { B, T } = cfg.shapes[preset];
    const config = PRESETS[preset];
    const batch = randomBatch(config, B, T, cfg.seed);
    const weights = initWeights(config, cfg.seed);
    // Lab and TF.js back to back per preset, so both see the same machine load.
    if (cfg.impls.includes('lab')) await measureLab(cfg, preset, batch, weights, rows);
    if (tfjs instanceof Error) rows.push(trainErrorRow({ bench: 'train', impl: 'tfjs-webgpu', preset, unit: 'tokens/s', adapter: 'unknown', B, T }, tfjs));
    else if (tfjs) await measureTfjs(cfg, tfjs, preset, batch, weights, rows);
  }
  if (cfg.generation) await measureGeneration(cfg.generation, cfg.seed, rows);
  return { rows, matmulVariant };
}

async function main(): Promise<void> {
  try {
    const raw = new URLSearchParams(location.search).get('config');
    if (!raw) throw new Error('missing ?config=<json> (run `npm run bench -- train`)');
    window.__trainBenchResult = await runTrainBench(JSON.parse(raw) as TrainBenchConfig);
  } catch (e) {
    log(`fatal: ${errorText(e)}`);
    window.__trainBenchResult = { rows: [], fatal: errorText(e) };
  }
}

// Only on the bench page (train.html): the CLI imports this module in Node for the table and the targets.
if (typeof document !== 'undefined' && document.getElementById('train-bench')) void main();
