// Float64 reference for shaders/reduce_sum.wgsl. A plain float64 loop: its error (≤ N·2⁻⁵³·Σ|x|) is far below the
// f32 kernel's, so it serves as the exact value.

// inp (N) → out (1) = scale·Σx
export function reduceSum(inp: ArrayLike<number>, scale = 1): Float64Array {
  let sum = 0;
  for (let i = 0; i < inp.length; i++) sum += inp[i];
  return Float64Array.of(scale * sum);
}

// inp (N) → Σ|x|, the scale of the rounding error of any floating-point sum of inp
export function sumAbs(inp: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < inp.length; i++) sum += Math.abs(inp[i]);
  return sum;
}
