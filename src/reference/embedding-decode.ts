// Float64 reference for the embedding at per-row positions (shaders/embedding_decode.wgsl):
//   s = pos[b] + offset + i,  out[b,i,:] = wte[tokens[b,s], :] + wpe[s, :]  (rows with s ≥ min(W, maxT) stay 0).
// Shapes: tokens (B,W) each row's sequence buffer, wte (V,C), wpe (maxT,C), out (B,Tn,C).

// tokens (B,W), pos (B), wte (V,C), wpe (maxT,C) → out (B,Tn,C)
export function embeddingDecodeForward(
  tokens: ArrayLike<number>,
  pos: ArrayLike<number>,
  offset: number,
  wte: ArrayLike<number>,
  wpe: ArrayLike<number>,
  dims: { B: number; W: number; Tn: number; C: number; maxT: number },
): Float64Array {
  const { B, W, Tn, C, maxT } = dims;
  const out = new Float64Array(B * Tn * C);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tn; i++) {
      const s = pos[b] + offset + i;
      if (s >= W || s >= maxT) continue;
      const id = tokens[b * W + s];
      for (let c = 0; c < C; c++) out[(b * Tn + i) * C + c] = wte[id * C + c] + wpe[s * C + c];
    }
  }
  return out;
}
