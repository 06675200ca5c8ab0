// Float64 reference for row softmax (shaders/softmax_forward.wgsl, softmax_backward.wgsl), plain and causal.
// Causal: rows come in blocks of T; row r is query t = r % T and its columns c > t are masked (probability 0).

export interface SoftmaxOptions {
  /** Block length T of the causal mask; 0 or absent for a plain softmax. */
  causalT?: number;
  /** Inputs are multiplied by `scale` before the softmax (default 1). */
  scale?: number;
}

/** Number of visible columns of row r. */
function visible(r: number, cols: number, causalT: number): number {
  return causalT > 0 ? Math.min(cols, (r % causalT) + 1) : cols;
}

// inp (rows, cols) → out (rows, cols)
export function softmaxForward(inp: ArrayLike<number>, rows: number, cols: number, options: SoftmaxOptions = {}): Float64Array {
  const { causalT = 0, scale = 1 } = options;
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const n = visible(r, cols, causalT);
    let maxval = -Infinity;
    for (let c = 0; c < n; c++) maxval = Math.max(maxval, scale * inp[base + c]);
    let sum = 0;
    for (let c = 0; c < n; c++) {
      out[base + c] = Math.exp(scale * inp[base + c] - maxval);
      sum += out[base + c];
    }
    for (let c = 0; c < n; c++) out[base + c] /= sum;
    // masked columns stay 0
  }
  return out;
}

// out (rows, cols) = softmaxForward(inp), dout (rows, cols) → dinp (rows, cols)
export function softmaxBackward(
  out: ArrayLike<number>,
  dout: ArrayLike<number>,
  rows: number,
  cols: number,
  options: SoftmaxOptions = {},
): Float64Array {
  const { causalT = 0, scale = 1 } = options;
  const dinp = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const n = visible(r, cols, causalT);
    // dy_i/dx_j = s·y_i·(δ_ij − y_j)  ⇒  dx_j = s·y_j·(dy_j − Σ_i dy_i·y_i)
    let dot = 0;
    for (let c = 0; c < n; c++) dot += dout[base + c] * out[base + c];
    for (let c = 0; c < n; c++) dinp[base + c] = scale * out[base + c] * (dout[base + c] - dot);
  }
  return dinp;
}
