// Exponential moving average for noisy training curves, as TensorBoard's smoothing slider does it: debiased, so
// the first points are not pulled toward 0 (s_i = m_i / (1 − α^(i+1)), m_i = α·m_(i−1) + (1 − α)·y_i). α = 0 is
// the raw series. Non-finite values are passed through and do not enter the average.

export function emaSmooth(y: ArrayLike<number>, alpha: number, out = new Float64Array(y.length)): Float64Array {
  if (!(alpha >= 0 && alpha < 1)) throw new Error(`emaSmooth: alpha must be in [0, 1), got ${alpha}`);
  let m = 0;
  let weight = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    m = alpha * m + (1 - alpha) * v;
    weight = alpha * weight + (1 - alpha);
    out[i] = m / weight;
  }
  return out;
}
