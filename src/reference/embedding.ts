// Float64 reference for GPT-2's token + position embedding (shaders/embedding_forward.wgsl,
// embedding_backward_wte.wgsl, embedding_backward_wpe.wgsl), as in llm.c's encoder_forward/backward.
// Shapes: B batch, T sequence length, C channels, V vocabulary size, maxT ≥ T rows of the position table.

// tokens (B,T), wte (V,C), wpe (maxT,C) → out (B,T,C)
export function embeddingForward(
  tokens: ArrayLike<number>,
  wte: ArrayLike<number>,
  wpe: ArrayLike<number>,
  B: number,
  T: number,
  C: number,
): Float64Array {
  const out = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * C;
      const ix = tokens[b * T + t];
      for (let i = 0; i < C; i++) out[o + i] = wte[ix * C + i] + wpe[t * C + i];
    }
  }
  return out;
}

export interface EmbeddingBackwardResult {
  dwte: Float64Array; // (V,C)
  dwpe: Float64Array; // (T,C)
}

// dout (B,T,C), tokens (B,T) → dwte (V,C), dwpe (T,C)
export function embeddingBackward(
  dout: ArrayLike<number>,
  tokens: ArrayLike<number>,
  B: number,
  T: number,
  C: number,
  V: number,
): EmbeddingBackwardResult {
  const dwte = new Float64Array(V * C);
  const dwpe = new Float64Array(T * C);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * C;
      const ix = tokens[b * T + t];
      for (let i = 0; i < C; i++) {
        dwte[ix * C + i] += dout[o + i];
        dwpe[t * C + i] += dout[o + i];
      }
    }
  }
  return { dwte, dwpe };
}
