// Float64 reference for GELU, GPT-2's tanh form (shaders/gelu_forward.wgsl, gelu_backward.wgsl).
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

// (N) → (N)
export function geluForward(inp: ArrayLike<number>): Float64Array {
  return Float64Array.from(inp, (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))));
}

// inp (N), dout (N) → dinp (N)
export function geluBackward(inp: ArrayLike<number>, dout: ArrayLike<number>): Float64Array {
  return Float64Array.from(inp, (x, i) => {
    const th = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3));
    const local = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    return dout[i] * local;
  });
}
