// Float64 reference for layer normalisation (shaders/layernorm_forward.wgsl, layernorm_backward.wgsl,
// layernorm_backward_weight.wgsl), as in llm.c's train_gpt2.c.
// Shapes: N = B·T rows, C channels.
export const LAYERNORM_EPS = 1e-5;

export interface LayernormForwardResult {
  out: Float64Array; // (N,C)
  mean: Float64Array; // (N)
  rstd: Float64Array; // (N)
}

// inp (N,C), weight (C), bias (C) → out (N,C), mean (N), rstd (N)
export function layernormForward(
  inp: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  N: number,
  C: number,
  eps = LAYERNORM_EPS,
): LayernormForwardResult {
  const out = new Float64Array(N * C);
  const mean = new Float64Array(N);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const x = n * C;
    let m = 0;
    for (let i = 0; i < C; i++) m += inp[x + i];
    m /= C;
    let v = 0;
    for (let i = 0; i < C; i++) v += (inp[x + i] - m) ** 2;
    v /= C;
    const s = 1 / Math.sqrt(v + eps);
    for (let i = 0; i < C; i++) out[x + i] = (inp[x + i] - m) * s * weight[i] + bias[i];
    mean[n] = m;
    rstd[n] = s;
  }
  return { out, mean, rstd };
}

export interface LayernormBackwardResult {
  dinp: Float64Array; // (N,C)
  dweight: Float64Array; // (C)
  dbias: Float64Array; // (C)
}

// dout (N,C), inp (N,C), weight (C), mean (N), rstd (N) → dinp (N,C), dweight (C), dbias (C)
export function layernormBackward(
  dout: ArrayLike<number>,
  inp: ArrayLike<number>,
  weight: ArrayLike<number>,
  mean: ArrayLike<number>,
  rstd: ArrayLike<number>,
  N: number,
  C: number,
): LayernormBackwardResult {
  const dinp = new Float64Array(N * C);
  const dweight = new Float64Array(C);
  const dbias = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const x = n * C;
    // The two row means that the normalisation couples every input to.
    let dnormMean = 0;
    let dnormNormMean = 0;
    for (let i = 0; i < C; i++) {
      const norm = (inp[x + i] - mean[n]) * rstd[n];
      const dnorm = weight[i] * dout[x + i];
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    for (let i = 0; i < C; i++) {
      const norm = (inp[x + i] - mean[n]) * rstd[n];
      const dnorm = weight[i] * dout[x + i];
      dbias[i] += dout[x + i];
      dweight[i] += norm * dout[x + i];
      dinp[x + i] = (dnorm - dnormMean - norm * dnormNormMean) * rstd[n];
    }
  }
  return { dinp, dweight, dbias };
}
