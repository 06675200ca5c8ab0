// Launcher for shaders/reduce_sum.wgsl: out[0] = scale·Σx in a fixed-order (deterministic) two-stage tree.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { MAX_WORKGROUPS_PER_DIM } from './grid';

const WG = 256;
/**
 * Each stage-1 thread sums at least this many elements: the workgroup tree and its barriers then cost little next
 * to the loads. It matters most on CPU emulations (SwiftShader pays ~1 ms per workgroup with barriers); on a GPU
 * 64 loads per thread, four in flight at a time, still stream at full bandwidth.
 */
const MIN_PER_THREAD = 64;
/**
 * At most this many stage-1 workgroups (partials): 1024 × 256 threads fill even a big GPU, and the
 * single-workgroup final stage reads ≤ 4 partials per thread. Past 1024·64·256 ≈ 16.8M elements the chunk grows
 * instead (each thread's Kahan-compensated loop gets longer, which costs little accuracy).
 */
const MAX_PARTIALS = 1024;

export interface ReducePlan {
  /** Elements per stage-1 workgroup, a multiple of 256. */
  chunk: number;
  /** Stage-1 workgroups = partials. */
  groups: number;
}

/**
 * How a reduction of n elements splits into chunks. `chunk` (a multiple of 256) overrides the default choice:
 * for tuning, and for tests that need many partials at a small n.
 */
export function reducePlan(n: number, chunk?: number): ReducePlan {
  if (chunk !== undefined) {
    if (!Number.isInteger(chunk) || chunk < WG || chunk % WG !== 0) {
      throw new Error(`reduce_sum: chunk must be a positive multiple of ${WG}, got ${chunk}`);
    }
  } else {
    const target = Math.max(1, Math.min(MAX_PARTIALS, Math.ceil(n / (MIN_PER_THREAD * WG))));
    chunk = Math.max(WG, Math.ceil(n / target / WG) * WG);
  }
  const groups = Math.max(1, Math.ceil(n / chunk));
  if (groups > MAX_WORKGROUPS_PER_DIM) throw new Error(`reduce_sum: ${groups} chunks of ${chunk} exceed ${MAX_WORKGROUPS_PER_DIM} workgroups`);
  return { chunk, groups };
}

/**
 * Elements of the scratch tensor reduceSum (and gradNorm) need for n inputs: one partial per stage-1 workgroup.
 * A scratch tensor at least this big may be shared by every reduction of up to n elements. When it is 1,
 * reduceSum is a single dispatch and does not touch the scratch tensor.
 */
export function reduceScratchSize(n: number, chunk?: number): number {
  return reducePlan(n, chunk).groups;
}

/**
 * Stage 1 of a sum (or a sum of squares): one partial per chunk of inp into scratch[0 .. G), G = plan.groups.
 * Shared with gradNorm, whose final stage (grad_norm.wgsl) turns the partials into the norm and clip factor.
 */
// inp (N) → scratch (≥ G)
export function reducePartials(step: Step, inp: Tensor, scratch: Tensor, plan: ReducePlan, options: { square?: boolean; kernel?: string } = {}): void {
  const { square = false, kernel = 'reduce_sum' } = options;
  if (scratch.size < plan.groups) {
    throw new Error(`${kernel}: ${scratch.label} (scratch) has ${scratch.size} elements, needs ${plan.groups} for ${inp.size} inputs`);
  }
  if (inp.buffer === scratch.buffer) throw new Error(`${kernel}: ${inp.label} and the scratch tensor are the same buffer`);
  step.dispatch({
    shader: 'reduce_sum',
    overrides: square ? { SQUARE: true } : undefined, // one pipeline for plain sums, stage 1 or not
    uniforms: params([inp.size, plan.chunk], [1]),
    bindings: [inp, scratch],
    workgroups: [plan.groups],
  });
}

export interface ReduceOptions {
  /** out[0] = scale·Σx; 1/N gives the mean. Default 1. */
  scale?: number;
  /** Elements per stage-1 workgroup (a multiple of 256); default chosen from N. See reducePlan. */
  chunk?: number;
}

// inp (N) → out (1), with scratch (≥ reduceScratchSize(N)) for the partials
export function reduceSum(step: Step, inp: Tensor, out: Tensor, scratch: Tensor, options: ReduceOptions = {}): void {
  const { scale = 1 } = options;
  const kernel = 'reduce_sum';
  assertSize(kernel, out, 1, 'output');
  for (const t of [inp, out, scratch]) assertDType(kernel, t, 'f32');
  if (!Number.isFinite(scale)) throw new Error(`${kernel}: scale must be finite, got ${scale}`);
  if (inp.buffer === out.buffer) throw new Error(`${kernel}: input and output are the same buffer (${out.label})`);
  const plan = reducePlan(inp.size, options.chunk);
  if (plan.groups === 1) {
    // One chunk: a single workgroup writes the final value directly.
    step.dispatch({ shader: kernel, uniforms: params([inp.size, plan.chunk], [scale]), bindings: [inp, out], workgroups: [1] });
    return;
  }
  if (out.buffer === scratch.buffer) throw new Error(`${kernel}: output and the scratch tensor are the same buffer`);
  reducePartials(step, inp, scratch, plan);
  // Stage 2: one workgroup over the partials (its chunk covers them all); the scale is applied once, here.
  step.dispatch({
    shader: kernel,
    uniforms: params([plan.groups, Math.ceil(plan.groups / WG) * WG], [scale]),
    bindings: [scratch, out],
    workgroups: [1],
  });
}
