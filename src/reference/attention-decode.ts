// Float64 reference for attention against a KV cache (the attention of shaders/decode_forward.wgsl, through
// src/reference/decode.ts): new token i of row b sits at
// position s = pos[b] + offset + i and attends to cache slots 0..s (which must already hold this step's keys).
// Layout: qkv (B,Tn,3C) is GPT-2's c_attn output (q at channels [0,C), head h at h·HS..(h+1)·HS); the caches are
// (B,NH,maxT,HS); out (B,Tn,C) heads concatenated. A query at s ≥ maxT produces no output (left 0 here).

export interface AttentionDecodeDims {
  B: number;
  Tn: number;
  NH: number;
  HS: number;
  maxT: number;
}

// qkv (B,Tn,3C), kCache, vCache (B,NH,maxT,HS), pos (B) → out (B,Tn,C)
export function attentionDecodeForward(
  qkv: ArrayLike<number>,
  kCache: ArrayLike<number>,
  vCache: ArrayLike<number>,
  pos: ArrayLike<number>,
  offset: number,
  dims: AttentionDecodeDims,
): Float64Array {
  const { B, Tn, NH, HS, maxT } = dims;
  const C = NH * HS;
  const scale = 1 / Math.sqrt(HS);
  const out = new Float64Array(B * Tn * C);
  const scores = new Float64Array(maxT);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tn; i++) {
      const s = pos[b] + offset + i;
      if (s >= maxT) continue;
      for (let h = 0; h < NH; h++) {
        const q = (b * Tn + i) * 3 * C + h * HS;
        const cache = (b * NH + h) * maxT * HS;
        let maxval = -Infinity;
        for (let j = 0; j <= s; j++) {
          let dot = 0;
          for (let d = 0; d < HS; d++) dot += qkv[q + d] * kCache[cache + j * HS + d];
          scores[j] = dot * scale;
          maxval = Math.max(maxval, scores[j]);
        }
        let sum = 0;
        for (let j = 0; j <= s; j++) sum += scores[j] = Math.exp(scores[j] - maxval);
        const o = (b * Tn + i) * C + h * HS;
        for (let j = 0; j <= s; j++) {
          for (let d = 0; d < HS; d++) out[o + d] += (scores[j] / sum) * vCache[cache + j * HS + d];
        }
      }
    }
  }
  return out;
}
