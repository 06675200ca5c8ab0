// Launchers for shaders/matmul_regblock.wgsl, matmul_tiled.wgsl and matmul_backward_bias.wgsl, and the
// per-adapter choice between the two matmul variants (register blocking wins on CPU emulation, workgroup-memory
// tiling on real GPUs; tuneMatmul measures which). regblock shares loads across subgroup lanes, so it runs only
// where subgroups have the shape it assumes (regblockSupported); elsewhere tiled is the only variant.
import { type GpuRuntime, params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { ceilDiv, MAX_WORKGROUPS_PER_DIM } from './grid';

export type MatmulVariant = 'regblock' | 'tiled';
export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['regblock', 'tiled'];

export interface MatmulDims {
  m: number;
  k: number;
  n: number;
  batch?: number;
}

export interface MatmulOptions {
  /** op(A) = Aᵀ, A stored (K, M). */
  transA?: boolean;
  /** op(B) = Bᵀ, B stored (N, K). */
  transB?: boolean;
  bias?: Tensor; // (N)
  /** out = gelu(A·B + bias), GPT-2's tanh form. */
  gelu?: boolean;
  /** With gelu: receives A·B + bias (same layout as out), what the GELU backward needs. */
  preActivation?: Tensor;
  /** out += A·B (gradient accumulation); not with bias or gelu. */
  accumulate?: boolean;
  /** Per-batch element strides; defaults dense (m·k, k·n, m·n); 0 broadcasts one matrix to every batch. */
  strides?: { a?: number; b?: number; c?: number };
  /** Default: matmulVariant(rt) of the step's runtime. */
  variant?: MatmulVariant;
}

/** Tile shapes: regblock threads are 8×8 (override constants) of 16×8 blocks (fixed in the shader: 128×64 of C
 *  per workgroup), tiled workgroups own 64×64 of C in 16×16 threads with 8-deep K slices (see matmul_tiled.wgsl
 *  on BK). */
const REGBLOCK = { WG_X: 8, WG_Y: 8 };
const REGBLOCK_ROWS = 16;
const REGBLOCK_COLS = 8;
const TILED = { BM: 64, BN: 64, BK: 8 };

/**
 * matmul_regblock broadcasts loads from subgroup lanes 0–3 to the lanes beside them in x: it needs subgroups
 * whose size is a multiple of 4 dividing WG_X (so lanes 0–3 are consecutive threads of one row). Adapters that
 * do not report their subgroup sizes are taken at their feature flag only on software (SwiftShader: 4).
 */
export function regblockSupported(rt: GpuRuntime): boolean {
  if (!rt.device.features.has('subgroups' as GPUFeatureName)) return false;
  const { subgroupMinSize: min, subgroupMaxSize: max } = rt.device.adapterInfo ?? {};
  if (min === undefined || max === undefined) return rt.adapter.software;
  for (let size = min; size <= max; size *= 2) if (size % 4 !== 0 || REGBLOCK.WG_X % size !== 0) return false;
  return true;
}

// ---- optional bindings -------------------------------------------------------------------------------------
// Every binding a shader declares must be bound; bias and pre are unused unless their override is on. A 16-byte
// buffer per device stands in for them (created outside the pool so it is not counted as a tensor in use).
const dummies = new WeakMap<GPUDevice, { read: GPUBuffer; write: GPUBuffer }>();

function dummy(device: GPUDevice): { read: GPUBuffer; write: GPUBuffer } {
  let d = dummies.get(device);
  if (!d) {
    const usage = GPUBufferUsage.STORAGE;
    d = {
      read: device.createBuffer({ label: 'matmul/unused-bias', size: 16, usage }),
      write: device.createBuffer({ label: 'matmul/unused-pre', size: 16, usage }),
    };
    dummies.set(device, d);
  }
  return d;
}

function checkDims(kernel: string, dims: MatmulDims): number {
  const batch = dims.batch ?? 1;
  for (const [name, v] of Object.entries({ m: dims.m, k: dims.k, n: dims.n, batch })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${kernel}: ${name} = ${v} must be a positive integer`);
  }
  if (batch > MAX_WORKGROUPS_PER_DIM) throw new Error(`${kernel}: batch ${batch} over ${MAX_WORKGROUPS_PER_DIM}`);
  return batch;
}

/** Elements a batched operand spans: the last batch's matrix ends at (batch−1)·stride + size. */
function checkOperand(kernel: string, t: Tensor, what: string, size: number, stride: number, batch: number, dense: boolean): void {
  assertDType(kernel, t, 'f32');
  const need = (batch - 1) * stride + size;
  if (dense) assertSize(kernel, t, need, what);
  else if (t.size < need) throw new Error(`${kernel}: ${t.label} (${what}) has ${t.size} elements, needs ${need} for its strides`);
}

// ---- forward -------------------------------------------------------------------------------------------------

// op(A) (batch, M, K) · op(B) (batch, K, N) [+ bias (N)] [→ gelu] → out (batch, M, N)
export function matmul(step: Step, a: Tensor, b: Tensor, out: Tensor, dims: MatmulDims, options: MatmulOptions = {}): void {
  const rt = step.rt;
  const variant = options.variant ?? matmulVariant(rt);
  const kernel = variant === 'regblock' ? 'matmul_regblock' : variant === 'tiled' ? 'matmul_tiled' : undefined;
  if (!kernel) throw new Error(`matmul: unknown variant "${variant}"`);
  const batch = checkDims(kernel, dims);
  const { m, k, n } = dims;
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const sa = options.strides?.a ?? m * k;
  const sb = options.strides?.b ?? k * n;
  const sc = options.strides?.c ?? m * n;
  for (const [name, s] of Object.entries({ a: sa, b: sb, c: sc })) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`${kernel}: stride ${name} = ${s} must be a non-negative integer`);
  }
  if (batch > 1 && sc < m * n) throw new Error(`${kernel}: output stride ${sc} < m·n = ${m * n} would make batches overlap`);
  const dense = options.strides === undefined;
  checkOperand(kernel, a, transA ? 'A, K×M' : 'A, M×K', m * k, sa, batch, dense);
  checkOperand(kernel, b, transB ? 'B, N×K' : 'B, K×N', k * n, sb, batch, dense);
  checkOperand(kernel, out, 'out, M×N', m * n, sc, batch, dense);
  if (options.bias) {
    assertDType(kernel, options.bias, 'f32');
    assertSize(kernel, options.bias, n, 'bias, N');
  }
  if (options.preActivation) {
    if (!options.gelu) throw new Error(`${kernel}: preActivation is only written with gelu`);
    checkOperand(kernel, options.preActivation, 'preActivation, M×N', m * n, sc, batch, dense);
  }
  if (options.accumulate && (options.bias || options.gelu)) {
    throw new Error(`${kernel}: accumulate is only supported without bias and gelu`);
  }

  const flags = {
    TRANS_A: transA,
    TRANS_B: transB,
    HAS_BIAS: options.bias !== undefined,
    GELU: options.gelu ?? false,
    STORE_PRE: options.preActivation !== undefined,
    ACCUMULATE: options.accumulate ?? false,
  };
  const d = dummy(rt.device);
  const bindings = [a, b, out, options.bias ?? d.read, options.preActivation ?? d.write];
  const uniforms = params([m, k, n, sa, sb, sc]);
  if (kernel === 'matmul_regblock') {
    if (!regblockSupported(rt)) throw new Error(`${kernel}: needs subgroups of 4 or a multiple of 4 dividing ${REGBLOCK.WG_X}`);
    // vec4 loads need op(A)'s contiguous direction (K, or M when transposed) and each batch's start to be
    // multiples of 4 elements; likewise for op(B) (N, or K when transposed). Buffers are 16-byte padded (pool).
    for (const t of [a, b]) {
      if (t.binding.size % 16 !== 0) throw new Error(`${kernel}: ${t.label} binding size ${t.binding.size} is not a multiple of 16 bytes`);
    }
    const vecA = (transA ? m : k) % 4 === 0 && sa % 4 === 0;
    const vecB = (transB ? k : n) % 4 === 0 && sb % 4 === 0;
    step.dispatch({
      shader: kernel,
      overrides: { ...flags, VEC_A: vecA, VEC_B: vecB, ...REGBLOCK },
      uniforms,
      bindings,
      workgroups: [ceilDiv(n, REGBLOCK_COLS * REGBLOCK.WG_X), ceilDiv(m, REGBLOCK_ROWS * REGBLOCK.WG_Y), batch],
    });
  } else {
    step.dispatch({
      shader: kernel,
      overrides: { ...flags, ...TILED },
      uniforms,
      bindings,
      workgroups: [ceilDiv(n, TILED.BN), ceilDiv(m, TILED.BM), batch],
    });
  }
}

// ---- backward ------------------------------------------------------------------------------------------------

/**
 * Backward of out = op(A)·op(B) (+ bias), batches dense: dA = dOut·op(B)ᵀ, dB = op(A)ᵀ·dOut (each stored like
 * its operand, so transposed when the operand was), dBias = Σ rows of dOut over every batch. Each gradient is
 * optional and overwritten unless its accumulate flag is set.
 */
export function matmulBackward(
  step: Step,
  grads: { dOut: Tensor; a: Tensor; b: Tensor; dA?: Tensor; dB?: Tensor; dBias?: Tensor },
  dims: MatmulDims,
  options: {
    accumulateA?: boolean;
    accumulateB?: boolean;
    accumulateBias?: boolean;
    variant?: MatmulVariant;
    /** The forward's transposes. */
    transA?: boolean;
    transB?: boolean;
  } = {},
): void {
  const batch = checkDims('matmul backward', dims);
  const { m, k, n } = dims;
  const { dOut, a, b, dA, dB, dBias } = grads;
  const tA = options.transA ?? false;
  const tB = options.transB ?? false;
  const variant = options.variant;
  assertSize('matmul backward', dOut, batch * m * n, 'dOut, batch×M×N');
  if (dA) {
    assertSize('matmul backward', dA, a.size, 'dA, like A');
    const accumulate = options.accumulateA ?? false;
    if (tA) {
      // A stored (K, M): dA = op(B)·dOutᵀ (K×N · N×M)
      matmul(step, b, dOut, dA, { m: k, k: n, n: m, batch }, { transA: tB, transB: true, accumulate, variant });
    } else {
      // dA = dOut·op(B)ᵀ (M×N · N×K)
      matmul(step, dOut, b, dA, { m, k: n, n: k, batch }, { transB: !tB, accumulate, variant });
    }
  }
  if (dB) {
    assertSize('matmul backward', dB, b.size, 'dB, like B');
    const accumulate = options.accumulateB ?? false;
    if (tB) {
      // B stored (N, K): dB = dOutᵀ·op(A) (N×M · M×K)
      matmul(step, dOut, a, dB, { m: n, k: m, n: k, batch }, { transA: true, transB: tA, accumulate, variant });
    } else {
      // dB = op(A)ᵀ·dOut (K×M · M×N)
      matmul(step, a, dOut, dB, { m: k, k: m, n, batch }, { transA: !tA, accumulate, variant });
    }
  }
  if (dBias) matmulBackwardBias(step, dOut, dBias, batch * m, n, options.accumulateBias ?? false);
}

// dOut (M, N) → dBias (N) = Σ_i dOut[i, :], overwritten or accumulated into
export function matmulBackwardBias(step: Step, dOut: Tensor, dBias: Tensor, m: number, n: number, accumulate = false): void {
  const kernel = 'matmul_backward_bias';
  checkDims(kernel, { m, k: 1, n });
  assertDType(kernel, dOut, 'f32');
  assertDType(kernel, dBias, 'f32');
  assertSize(kernel, dOut, m * n, 'dOut, M×N');
  assertSize(kernel, dBias, n, 'dBias, N');
  step.dispatch({
    shader: kernel,
    uniforms: params([m, n, accumulate ? 1 : 0]),
    bindings: [dOut, dBias],
    workgroups: [ceilDiv(n, 32)],
  });
}

// ---- variant choice ------------------------------------------------------------------------------------------

/** Where tuned variants are remembered, keyed by adapter (rt.adapter.key). */
export interface VariantCache {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

export function memoryVariantCache(): VariantCache {
  const map = new Map<string, string>();
  return { get: (key) => map.get(key), set: (key, value) => void map.set(key, value) };
}

/** Persists across page loads in localStorage; falls back to memory where there is none (Node, some workers). */
export function localStorageVariantCache(prefix = 'rlhf-lab/matmul-variant/'): VariantCache {
  const storage = (globalThis as { localStorage?: Storage }).localStorage;
  if (!storage) return memoryVariantCache();
  return {
    get: (key) => {
      try {
        return storage.getItem(prefix + key) ?? undefined;
      } catch {
        return undefined; // storage disabled by privacy settings
      }
    },
    set: (key, value) => {
      try {
        storage.setItem(prefix + key, value);
      } catch {
        // quota or privacy settings: the choice is simply not remembered
      }
    },
  };
}

export interface MatmulTuning {
  variant: MatmulVariant;
  /** Summed median time of the tuning shapes per variant (NaN when the cache held only a name). */
  msByVariant: Record<MatmulVariant, number>;
  cached: boolean;
}

const tuned = new WeakMap<GpuRuntime, MatmulVariant>();
const defaultCache = memoryVariantCache();

/** The variants this runtime can run (regblock needs suitable subgroups). */
export function matmulVariants(rt: GpuRuntime): MatmulVariant[] {
  return MATMUL_VARIANTS.filter((v) => v !== 'regblock' || regblockSupported(rt));
}

/** The variant matmul uses on this runtime: the tuned one, else regblock on software adapters (where it can run),
 *  tiled on GPUs. */
export function matmulVariant(rt: GpuRuntime): MatmulVariant {
  return tuned.get(rt) ?? (rt.adapter.software && regblockSupported(rt) ? 'regblock' : 'tiled');
}

function isVariant(v: unknown): v is MatmulVariant {
  return v === 'regblock' || v === 'tiled';
}

function parseCached(value: string | undefined): MatmulTuning | undefined {
  if (value === undefined) return undefined;
  if (isVariant(value)) return { variant: value, msByVariant: { regblock: NaN, tiled: NaN }, cached: true };
  try {
    const v = JSON.parse(value) as Partial<MatmulTuning>;
    if (!isVariant(v.variant)) return undefined;
    const ms = v.msByVariant ?? ({} as Partial<Record<MatmulVariant, number>>);
    return { variant: v.variant, msByVariant: { regblock: ms.regblock ?? NaN, tiled: ms.tiled ?? NaN }, cached: true };
  } catch {
    return undefined;
  }
}

/** Shapes timed by tuneMatmul: a square one and a wide, shallow one like the MLP and attention projections. */
const TUNING_SHAPES: readonly MatmulDims[] = [
  { m: 256, k: 256, n: 256 },
  { m: 512, k: 128, n: 512 },
];
const TUNING_RUNS = 3;

/**
 * Times the runtime's variants (median of 3 runs per shape after a warm-up that compiles the pipeline, summed
 * over the shapes; NaN for one it cannot run), makes the fastest this runtime's default and caches it under the
 * adapter's key; a cached choice is reused without timing.
 */
export async function tuneMatmul(rt: GpuRuntime, cache: VariantCache = defaultCache): Promise<MatmulTuning> {
  const available = matmulVariants(rt);
  const hit = parseCached(cache.get(rt.adapter.key));
  if (hit && available.includes(hit.variant)) {
    tuned.set(rt, hit.variant);
    return hit;
  }
  const msByVariant = { regblock: NaN, tiled: NaN };
  for (const variant of available) msByVariant[variant] = 0;
  for (const dims of TUNING_SHAPES) {
    const a = rt.tensor([dims.m, dims.k], 'tune/a');
    const b = rt.tensor([dims.k, dims.n], 'tune/b');
    const c = rt.tensor([dims.m, dims.n], 'tune/c');
    try {
      for (const variant of available) {
        const times: number[] = [];
        for (let run = 0; run <= TUNING_RUNS; run++) {
          const step = rt.step(`tune matmul ${variant}`);
          matmul(step, a, b, c, dims, { variant });
          const result = await step.submit({ profile: true });
          const ms = result.kernelTimes ? result.kernelTimes.reduce((s, t) => s + t.ms, 0) : result.wallMs!;
          if (run > 0) times.push(ms); // run 0 compiles the pipeline
        }
        times.sort((x, y) => x - y);
        msByVariant[variant] += times[times.length >> 1];
      }
    } finally {
      rt.free(a, b, c);
    }
  }
  const variant = available.reduce((best, v) => (msByVariant[v] < msByVariant[best] ? v : best));
  cache.set(rt.adapter.key, JSON.stringify({ variant, msByVariant }));
  tuned.set(rt, variant);
  return { variant, msByVariant, cached: false };
}
