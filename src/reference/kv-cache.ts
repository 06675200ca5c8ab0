// Float64 reference for the KV-cache append (shaders/kv_cache_write.wgsl): token i of row b goes to slot
// s = pos[b] + offset + i of each head's (maxT,HS) block; slots ≥ maxT are dropped.
// Shapes: qkv (B,Tn,3C) GPT-2's c_attn output (k at channels [C,2C), v at [2C,3C)); caches (B,NH,maxT,HS).

// qkv (B,Tn,3C), pos (B), kCache, vCache (B,NH,maxT,HS) updated in place
export function kvCacheWrite(
  qkv: ArrayLike<number>,
  pos: ArrayLike<number>,
  offset: number,
  kCache: Float64Array,
  vCache: Float64Array,
  dims: { B: number; Tn: number; NH: number; HS: number; maxT: number },
): void {
  const { B, Tn, NH, HS, maxT } = dims;
  const C = NH * HS;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tn; i++) {
      const s = pos[b] + offset + i;
      if (s >= maxT) continue;
      for (let h = 0; h < NH; h++) {
        for (let d = 0; d < HS; d++) {
          const src = (b * Tn + i) * 3 * C + h * HS + d;
          const dst = ((b * NH + h) * maxT + s) * HS + d;
          kCache[dst] = qkv[src + C];
          vCache[dst] = qkv[src + 2 * C];
        }
      }
    }
  }
}
