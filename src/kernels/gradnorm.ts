// Launcher for shaders/grad_norm.wgsl (after reduce_sum.wgsl's sum-of-squares partials): the global L2 norm of the
// gradient arena and the clip factor AdamW reads on the GPU.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { reducePartials, reducePlan } from './reduce';

/** Elements of scratch gradNorm needs for n gradient values (the same partials as reduceSum; chunk likewise). */
export function gradNormScratchSize(n: number, chunk?: number): number {
  return reducePlan(n, chunk).groups;
}

export interface GradNormOptions {
  /** Elements per stage-1 workgroup (a multiple of 256); default chosen from N. See reducePlan. */
  chunk?: number;
}

/**
 * clip = [‖g‖₂, min(1, maxNorm / (‖g‖₂ + 1e-6))], PyTorch's clip_grad_norm_ factor; maxNorm ≤ 0 disables
 * clipping (factor 1). Two dispatches: partial sums of g² into scratch, then one workgroup finishes.
 */
// grads (N), scratch (≥ gradNormScratchSize(N)) → clip (2)
export function gradNorm(step: Step, grads: Tensor, clip: Tensor, scratch: Tensor, maxNorm: number, options: GradNormOptions = {}): void {
  const kernel = 'grad_norm';
  assertSize(kernel, clip, 2, '[norm, clip scale]');
  for (const t of [grads, clip, scratch]) assertDType(kernel, t, 'f32');
  if (!Number.isFinite(maxNorm)) throw new Error(`${kernel}: maxNorm must be finite (≤ 0 disables clipping), got ${maxNorm}`);
  if (clip.buffer === grads.buffer || clip.buffer === scratch.buffer) {
    throw new Error(`${kernel}: clip (${clip.label}) shares a buffer with the gradients or the scratch tensor`);
  }
  const plan = reducePlan(grads.size, options.chunk);
  reducePartials(step, grads, scratch, plan, { square: true, kernel });
  step.dispatch({ shader: kernel, uniforms: params([plan.groups], [maxNorm]), bindings: [scratch, clip], workgroups: [1] });
}
