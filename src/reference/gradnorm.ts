// Float64 reference for the global gradient norm and clip factor (shaders/grad_norm.wgsl after reduce_sum.wgsl).

/** PyTorch's clip_grad_norm_ adds this to the norm before dividing. */
export const CLIP_EPS = 1e-6;

// grad (N) → clip (2) = [‖g‖₂, min(1, maxNorm / (‖g‖₂ + 1e-6))], the factor 1 when maxNorm ≤ 0 (no clipping)
export function gradNorm(grad: ArrayLike<number>, maxNorm: number): Float64Array {
  let sumSq = 0;
  for (let i = 0; i < grad.length; i++) sumSq += grad[i] * grad[i];
  const norm = Math.sqrt(sumSq);
  const scale = maxNorm > 0 ? Math.min(1, maxNorm / (norm + CLIP_EPS)) : 1;
  return Float64Array.of(norm, scale);
}
