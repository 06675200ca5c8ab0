// Launcher for shaders/kv_cache_write.wgsl: appends this step's keys and values (from c_attn's packed qkv output)
// to one layer's KV cache, at per-row positions (rows of a generation batch stand at different positions).
import { params, type Step, type Tensor } from '../gpu';
import { assertDType } from './checks';
import { grid1d } from './grid';

/** B, NH, maxT, HS of a (B,NH,maxT,HS) cache pair (each head's rows contiguous, as decode_forward reads them), checked. */
function cacheDims(kernel: string, kCache: Tensor, vCache: Tensor): { B: number; NH: number; maxT: number; HS: number } {
  for (const t of [kCache, vCache]) {
    assertDType(kernel, t, 'f32');
    if (t.shape.length !== 4) throw new Error(`${kernel}: ${t.label} must have shape (B,NH,maxT,HS), got [${t.shape}]`);
  }
  if (kCache.shape.some((d, i) => d !== vCache.shape[i])) {
    throw new Error(`${kernel}: ${kCache.label} [${kCache.shape}] and ${vCache.label} [${vCache.shape}] differ`);
  }
  const [B, NH, maxT, HS] = kCache.shape;
  if ([B, NH, maxT, HS].some((d) => d < 1)) throw new Error(`${kernel}: ${kCache.label} has an empty dimension [${kCache.shape}]`);
  return { B, NH, maxT, HS };
}

/** Tn, the new tokens per row, from a (B,Tn,3C) tensor's size. */
function newTokens(kernel: string, t: Tensor, B: number, width: number, what: string): number {
  const Tn = t.size / (B * width);
  if (!Number.isInteger(Tn) || Tn < 1) {
    throw new Error(`${kernel}: ${t.label} (${what}) has ${t.size} elements, not a positive multiple of ${B}·${width} = ${B * width}`);
  }
  return Tn;
}

// qkv (B,Tn,3C), pos (B) u32 → k_cache, v_cache (B,NH,maxT,HS) at slots pos[b]+offset .. +Tn−1 (slots ≥ maxT skipped)
export function kvCacheWrite(step: Step, qkv: Tensor, pos: Tensor, kCache: Tensor, vCache: Tensor, offset = 0): void {
  const k = 'kv_cache_write';
  const { B, NH, maxT, HS } = cacheDims(k, kCache, vCache);
  const C = NH * HS;
  assertDType(k, qkv, 'f32');
  assertDType(k, pos, 'u32');
  if (pos.size !== B) throw new Error(`${k}: ${pos.label} must have B = ${B} elements, got ${pos.size}`);
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`${k}: offset must be a non-negative integer, got ${offset}`);
  if (kCache.buffer === vCache.buffer && kCache.byteOffset === vCache.byteOffset) throw new Error(`${k}: the key and value caches are the same tensor`);
  const Tn = newTokens(k, qkv, B, 3 * C, 'qkv (B,Tn,3C)');
  step.dispatch({
    shader: k,
    uniforms: params([B, Tn, C, NH, maxT, offset]),
    bindings: [qkv, pos, kCache, vCache],
    workgroups: grid1d(B * Tn * C, 256),
  });
}
