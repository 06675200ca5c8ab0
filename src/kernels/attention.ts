// Launchers for shaders/attention_forward.wgsl, attention_backward_dq.wgsl and attention_backward_dkv.wgsl:
// fused causal multi-head self-attention on GPT-2's packed qkv layout, flash-attention style (no T×T buffers).
import { params, type Step, type Tensor } from '../gpu';
import { assertSize } from './checks';
import { ceilDiv } from './grid';
import { ATTENTION_MAX_HEAD_SIZE } from './limits';

export interface AttentionDims {
  B: number;
  T: number;
  C: number;
  NH: number;
}


// Tile geometry. Each workgroup has 64 threads (one query or key each) that all read the same tile row at a time
// (a broadcast), so a tile is reused 64 times however tall it is; its height only sets how many keys pass
// between two barriers. Workgroup memory holds two tiles of rows × HS floats (plus two floats per row for dkv's
// lse and D) within TILE_FLOATS = 1024 floats (4 KiB, well under the 16 KiB limit, which leaves room for more
// workgroups per core on real GPUs): 64 rows up to HS = 8, 32 at HS = 16, 8 at HS = 64, 4 at HS = 128.
// It is kept small on purpose: SwiftShader's compile time grows ~1 ms per float of workgroup memory (it
// zero-fills workgroup memory with one unrolled store per element), and there is one pipeline per head size.
const THREADS = 64;
const TILE_FLOATS = 1024;
const MAX_TILE_ROWS = 64; // = MAX_BK in attention_forward.wgsl (its private score array)

function tileRows(floatsPerRow: number): number {
  return Math.min(MAX_TILE_ROWS, Math.floor(TILE_FLOATS / floatsPerRow));
}

function validate(kernel: string, dims: AttentionDims): number {
  const { B, T, C, NH } = dims;
  for (const [name, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${kernel}: ${name} must be a positive integer, got ${v}`);
  }
  if (C % NH !== 0) throw new Error(`${kernel}: C=${C} is not divisible by NH=${NH}`);
  const HS = C / NH;
  if (HS > ATTENTION_MAX_HEAD_SIZE) {
    throw new Error(`${kernel}: head size C/NH = ${HS} exceeds the supported maximum ${ATTENTION_MAX_HEAD_SIZE}`);
  }
  if (B * T * 3 * C > 0xffffffff) throw new Error(`${kernel}: B·T·3C = ${B * T * 3 * C} overflows u32 indexing`);
  return HS;
}

function uniforms(dims: AttentionDims, HS: number): ArrayBuffer {
  return params([dims.T, dims.C, dims.NH], [1 / Math.sqrt(HS)]);
}

// qkv (B,T,3C) → out (B,T,C), lse (B,NH,T) (the softmax log-denominators the backward needs)
export function attentionForward(step: Step, qkv: Tensor, out: Tensor, lse: Tensor, dims: AttentionDims): void {
  const kernel = 'attention_forward';
  const HS = validate(kernel, dims);
  const { B, T, C, NH } = dims;
  assertSize(kernel, qkv, B * T * 3 * C, 'qkv (B,T,3C)');
  assertSize(kernel, out, B * T * C, 'out (B,T,C)');
  assertSize(kernel, lse, B * NH * T, 'lse (B,NH,T)');
  step.dispatch({
    shader: kernel,
    overrides: { HS, BQ: THREADS, BK: tileRows(2 * HS) },
    uniforms: uniforms(dims, HS),
    bindings: [qkv, out, lse],
    workgroups: [ceilDiv(T, THREADS), NH, B],
  });
}

// qkv (B,T,3C), out (B,T,C), dout (B,T,C), lse (B,NH,T) from attentionForward → dqkv (B,T,3C), overwritten.
// Two dispatches: dq over query blocks, then dk/dv over key blocks; each writes its own channels of dqkv.
export function attentionBackward(step: Step, qkv: Tensor, out: Tensor, dout: Tensor, lse: Tensor, dqkv: Tensor, dims: AttentionDims): void {
  const kernel = 'attention_backward';
  const HS = validate(kernel, dims);
  const { B, T, C, NH } = dims;
  assertSize(kernel, qkv, B * T * 3 * C, 'qkv (B,T,3C)');
  assertSize(kernel, out, B * T * C, 'out (B,T,C)');
  assertSize(kernel, dout, B * T * C, 'dout (B,T,C)');
  assertSize(kernel, lse, B * NH * T, 'lse (B,NH,T)');
  assertSize(kernel, dqkv, B * T * 3 * C, 'dqkv (B,T,3C)');
  const u = uniforms(dims, HS);
  step.dispatch({
    shader: 'attention_backward_dq',
    overrides: { HS, BQ: THREADS, BK: tileRows(2 * HS) },
    uniforms: u,
    bindings: [qkv, out, dout, lse, dqkv],
    workgroups: [ceilDiv(T, THREADS), NH, B],
  });
  step.dispatch({
    shader: 'attention_backward_dkv',
    overrides: { HS, BKV: THREADS, BQ: tileRows(2 * HS + 2) },
    uniforms: u,
    bindings: [qkv, out, dout, lse, dqkv],
    workgroups: [ceilDiv(T, THREADS), NH, B],
  });
}
