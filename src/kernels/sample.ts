// Launcher for shaders/sample_forward.wgsl: temperature / top-k / top-p sampling with a seeded counter-based RNG,
// writing each row's token and its log-probability into the row's sequence buffer (see the shader's header for the
// exact semantics; src/reference/sample.ts implements the same in float64).
import { params, type Step, type Tensor } from '../gpu';
import { assertDType } from './checks';
import { grid1d } from './grid';

export interface SampleOptions {
  /** τ ≥ 0; 0 is greedy (argmax, lowest index on ties). */
  temperature: number;
  /** Keep the k most likely tokens; 0 (default) or ≥ V is off. */
  topK?: number;
  /** Keep the smallest most-likely set with mass ≥ p, in (0, 1]; 1 (default) is off. */
  topP?: number;
  /** Row b samples position q = pos[b] + offset (default 0): its RNG counter and its column in ids/logprobs. */
  offset?: number;
  /**
   * false (default): logits (B,V) or (B,1,V) hold one row per batch row (cached decoding).
   * true: logits (B,Tl,V) hold every position; row b reads position q − 1 (a full-context forward).
   */
  gather?: boolean;
  /**
   * Threads per row, 16 or 64. Default: 64 on GPUs once V ≥ 512 (fewer columns per thread), else 16 — always 16
   * on CPU-emulated adapters, where each thread of a workgroup with barriers costs a coroutine.
   */
  workgroupSize?: 16 | 64;
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/**
 * logits (B,V) | (B,1,V) | gather: (B,Tl,V), pos (B) u32, streams (B,2) u32 → ids (B,W) u32, logprobs (B,W), written
 * at column pos[b]+offset. streams[b] = (seed, row counter) is row b's RNG stream: its draw at position q depends on
 * (seed, row counter, q) only, never on the batch or on how many draws came before.
 */
export function sampleForward(step: Step, logits: Tensor, pos: Tensor, streams: Tensor, ids: Tensor, logprobs: Tensor, options: SampleOptions): void {
  const k = 'sample_forward';
  assertDType(k, logits, 'f32');
  assertDType(k, pos, 'u32');
  assertDType(k, streams, 'u32');
  assertDType(k, ids, 'u32');
  assertDType(k, logprobs, 'f32');
  const { temperature, topK = 0, topP = 1, offset = 0, gather = false } = options;
  if (!(Number.isFinite(temperature) && temperature >= 0)) throw new Error(`${k}: temperature must be ≥ 0, got ${temperature}`);
  if (!isU32(topK)) throw new Error(`${k}: topK must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`${k}: topP must be in (0, 1], got ${topP}`);
  if (!isU32(offset)) throw new Error(`${k}: offset must be a u32, got ${offset}`);

  const ls = logits.shape;
  let B: number, Tl: number, V: number;
  if (gather) {
    if (ls.length !== 3) throw new Error(`${k}: with gather, ${logits.label} must have shape (B,Tl,V), got [${ls}]`);
    [B, Tl, V] = ls;
  } else if (ls.length === 2 || (ls.length === 3 && ls[1] === 1)) {
    [B, V] = [ls[0], ls[ls.length - 1]];
    Tl = 1;
  } else {
    throw new Error(`${k}: ${logits.label} must have shape (B,V) or (B,1,V) (or use gather), got [${ls}]`);
  }
  if (V < 1 || B < 1 || Tl < 1) throw new Error(`${k}: ${logits.label} has an empty dimension [${ls}]`);
  if (pos.shape.length !== 1 || pos.size !== B) throw new Error(`${k}: ${pos.label} must have shape (B) = (${B}), got [${pos.shape}]`);
  if (streams.shape.length !== 2 || streams.shape[0] !== B || streams.shape[1] !== 2) throw new Error(`${k}: ${streams.label} must have shape (B,2) = (${B},2), got [${streams.shape}]`);
  for (const t of [ids, logprobs]) {
    if (t.shape.length !== 2 || t.shape[0] !== B) throw new Error(`${k}: ${t.label} must have shape (B,W) with B = ${B}, got [${t.shape}]`);
  }
  const W = ids.shape[1];
  if (logprobs.shape[1] !== W) throw new Error(`${k}: ${logprobs.label} has width ${logprobs.shape[1]}, ${ids.label} has ${W}`);
  if (B * Tl * V > 0xffffffff) throw new Error(`${k}: B·Tl·V = ${B * Tl * V} overflows u32 indexing`);
  const WG = options.workgroupSize ?? (V >= 512 && !step.rt.adapter.software ? 64 : 16);
  if (WG !== 16 && WG !== 64) throw new Error(`${k}: workgroupSize must be 16 or 64, got ${WG}`);
  step.dispatch({
    shader: k,
    overrides: { WG, G: Math.sqrt(WG) },
    uniforms: params([B, Tl, V, W, offset, gather ? 1 : 0, topK], [temperature, topP]),
    bindings: [logits, pos, ids, logprobs, streams],
    workgroups: grid1d(B, 1), // one workgroup per row
  });
}
