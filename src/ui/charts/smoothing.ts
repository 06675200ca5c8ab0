// Exponential moving average for noisy training curves, as TensorBoard's smoothing slider does it: debiased, so
// the first points are not pulled toward 0 (s_i = m_i / (1 − α^(i+1)), m_i = α·m_(i−1) + (1 − α)·y_i). α = 0 is
// the raw series. Non-finite values are passed through and do not enter the average.

/** Where an average stopped, to go on with the points appended since (see emaSmooth's `from`). */
export interface EmaState {
  m: number;
  weight: number;
}

/**
 * The smoothed series in `out`. With `from` and the `state` left by an earlier call on the series' first `from`
 * points (and `out` holding their smoothed values), only the points after them are smoothed.
 */
export function emaSmooth(y: ArrayLike<number>, alpha: number, out: Float64Array = new Float64Array(y.length), from = 0, state: EmaState = { m: 0, weight: 0 }): Float64Array {
  if (!(alpha >= 0 && alpha < 1)) throw new Error(`emaSmooth: alpha must be in [0, 1), got ${alpha}`);
  let { m, weight } = state;
  for (let i = from; i < y.length; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    m = alpha * m + (1 - alpha) * v;
    weight = alpha * weight + (1 - alpha);
    out[i] = m / weight;
  }
  state.m = m;
  state.weight = weight;
  return out;
}
