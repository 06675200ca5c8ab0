// Launcher for shaders/attention_decode.wgsl: causal attention of a few new tokens per row against one layer's
// KV cache (filled by kvCacheWrite, including this step's tokens), at per-row positions.
import { params, type Step, type Tensor } from '../gpu';
import { ATTENTION_MAX_HEAD_SIZE } from './limits';
import { assertDType, assertSize } from './checks';
import { MAX_WORKGROUPS_PER_DIM } from './grid';
import { cacheDims, newTokens } from './kv-cache';

export interface AttentionDecodeOptions {
  /** Token i of row b sits at position pos[b] + offset + i (default 0). */
  offset?: number;
  /**
   * Threads per workgroup, 16 or 64. Default: 16 on CPU-emulated adapters (each thread of a workgroup with barriers
   * costs them a coroutine, ~4× slower at 64), 64 on GPUs.
   */
  workgroupSize?: 16 | 64;
}

// qkv (B,Tn,3C), k_cache, v_cache (B,NH,maxT,HS), pos (B) u32 → out (B,Tn,C); token i of row b sits at pos[b]+offset+i
export function attentionDecode(
  step: Step,
  qkv: Tensor,
  kCache: Tensor,
  vCache: Tensor,
  pos: Tensor,
  out: Tensor,
  options: AttentionDecodeOptions = {},
): void {
  const { offset = 0, workgroupSize = step.rt.adapter.software ? 16 : 64 } = options;
  const k = 'attention_decode';
  const { B, NH, maxT, HS } = cacheDims(k, kCache, vCache);
  const C = NH * HS;
  if (HS > ATTENTION_MAX_HEAD_SIZE) throw new Error(`${k}: head size ${HS} exceeds the supported maximum ${ATTENTION_MAX_HEAD_SIZE}`);
  assertDType(k, qkv, 'f32');
  assertDType(k, out, 'f32');
  assertDType(k, pos, 'u32');
  if (pos.size !== B) throw new Error(`${k}: ${pos.label} must have B = ${B} elements, got ${pos.size}`);
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`${k}: offset must be a non-negative integer, got ${offset}`);
  const Tn = newTokens(k, qkv, B, 3 * C, 'qkv (B,Tn,3C)');
  assertSize(k, out, B * Tn * C, 'out (B,Tn,C)');
  if (Tn > MAX_WORKGROUPS_PER_DIM || B > MAX_WORKGROUPS_PER_DIM) throw new Error(`${k}: B = ${B}, Tn = ${Tn} over ${MAX_WORKGROUPS_PER_DIM}`);
  if (B * NH * maxT * HS > 0xffffffff) throw new Error(`${k}: the cache overflows u32 indexing`);
  if (workgroupSize !== 16 && workgroupSize !== 64) throw new Error(`${k}: workgroupSize must be 16 or 64, got ${workgroupSize}`);
  step.dispatch({
    shader: k,
    overrides: { HS, WG: workgroupSize, G: Math.sqrt(workgroupSize) },
    uniforms: params([Tn, C, NH, maxT, offset], [1 / Math.sqrt(HS)]),
    bindings: [qkv, kCache, vCache, pos, out],
    workgroups: [Tn, NH, B],
  });
}
