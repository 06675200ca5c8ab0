// Float64 reference for one KV-cache decode step of the whole GPT (shaders/decode_forward.wgsl): one new token per
// row, composed of the per-layer references — the embedding at the row's position, per block ln_1 → c_attn → the
// cache append → attention over cache slots 0..s → c_proj + residual → ln_2 → c_fc + GELU → c_proj + residual,
// then ln_f and the tied LM head.
// Row b reads the token at s = pos[b] + offset of its sequence and writes cache slot s of every layer; a row with
// s ≥ min(W, maxT) is skipped (its logits stay 0, its cache untouched).
// Shapes: tokens (B,W); pos (B); kCache[l], vCache[l] (B,NH,maxT,HS) per layer, updated in place; logits (B,V).
// Legend: B rows, W sequence width, C channels, NH heads, HS = C/NH, maxT cache slots, V vocabulary.
import { attentionDecodeForward } from './attention-decode';
import { embeddingDecodeForward } from './embedding-decode';
import type { GptShape, GptWeights } from './gpt';
import { kvCacheWrite } from './kv-cache';
import { layernormForward } from './layernorm';
import { matmulForward } from './matmul';
import { residualForward } from './residual';

// tokens (B,W), pos (B), kCache/vCache L × (B,NH,maxT,HS) → logits (B,V); caches get slot pos[b] + offset
export function decodeForward(
  shape: GptShape,
  weights: GptWeights,
  tokens: ArrayLike<number>,
  pos: ArrayLike<number>,
  offset: number,
  kCache: Float64Array[],
  vCache: Float64Array[],
  dims: { B: number; W: number; maxT: number },
): Float64Array {
  const { vocabSize: V, contextLength, nLayer: L, nHead: NH, dModel: C } = shape;
  const { B, W, maxT } = dims;
  const HS = C / NH;
  const w = (name: string) => weights[name];
  const logits = new Float64Array(B * V);
  const one = { B: 1, Tn: 1, NH, HS, maxT };
  for (let b = 0; b < B; b++) {
    const s = pos[b] + offset;
    if (s >= W || s >= maxT) continue;
    const row = Array.from(tokens).slice(b * W, (b + 1) * W);
    let x = embeddingDecodeForward(row, [pos[b]], offset, w('wte'), w('wpe'), { B: 1, W, Tn: 1, C, maxT: contextLength }); // (C)
    for (let l = 0; l < L; l++) {
      const h = (name: string) => w(`h.${l}.${name}`);
      const cacheRow = (c: Float64Array) => c.subarray(b * NH * maxT * HS, (b + 1) * NH * maxT * HS); // (NH,maxT,HS)
      const [k, v] = [cacheRow(kCache[l]), cacheRow(vCache[l])];
      const ln1 = layernormForward(x, h('ln_1.weight'), h('ln_1.bias'), 1, C).out;
      const qkv = matmulForward(ln1, h('attn.c_attn.weight'), h('attn.c_attn.bias'), { m: 1, k: C, n: 3 * C }); // (3C)
      kvCacheWrite(qkv, [pos[b]], offset, k, v, one);
      const att = attentionDecodeForward(qkv, k, v, [pos[b]], offset, one); // (C)
      x = residualForward(x, matmulForward(att, h('attn.c_proj.weight'), h('attn.c_proj.bias'), { m: 1, k: C, n: C }));
      const ln2 = layernormForward(x, h('ln_2.weight'), h('ln_2.bias'), 1, C).out;
      const f = matmulForward(ln2, h('mlp.c_fc.weight'), h('mlp.c_fc.bias'), { m: 1, k: C, n: 4 * C }, true); // (4C)
      x = residualForward(x, matmulForward(f, h('mlp.c_proj.weight'), h('mlp.c_proj.bias'), { m: 1, k: 4 * C, n: C }));
    }
    const lnf = layernormForward(x, w('ln_f.weight'), w('ln_f.bias'), 1, C).out;
    logits.set(matmulForward(lnf, w('wte'), null, { m: 1, k: C, n: V, transB: true }), b * V);
  }
  return logits;
}
