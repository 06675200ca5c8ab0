// Launcher for shaders/crossentropy_forward_backward.wgsl: softmax cross-entropy and its gradient in one pass.
// Shapes: N = B·T rows, V vocabulary.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { grid1d } from './grid';
import { type RowOptions, rowGeometry } from './rows';

/**
 * logits (N,V), targets (N) u32, weights (N) → losses (N), dlogits (N,V).
 * losses[n] = weights[n]·(logsumexp − logits[n,target]); dlogits = weights[n]·gradScale·(softmax − onehot).
 * Rows with weight 0 get exactly 0 loss and gradient. gradScale is the caller's normalisation (e.g. 1/Σweights);
 * the mean loss is Σlosses/Σweights, reduced elsewhere. Targets live on the GPU and are not checked here: a
 * target ≥ V in a row with weight ≠ 0 produces NaN loss and gradient.
 * options.variant: 'tree' (a workgroup of 256 threads per row) or 'serial' (a thread per row), see rows.ts.
 */
export function crossentropyForwardBackward(
  step: Step,
  logits: Tensor, // (N,V)
  targets: Tensor, // (N) u32
  weights: Tensor, // (N)
  losses: Tensor, // (N)
  dlogits: Tensor, // (N,V)
  gradScale: number,
  options: RowOptions = {},
): void {
  const k = 'crossentropy_forward_backward';
  assertDType(k, targets, 'u32');
  for (const t of [logits, weights, losses, dlogits]) assertDType(k, t, 'f32');
  const N = targets.size;
  if (N < 1) throw new Error(`${k}: ${targets.label} (targets) is empty`);
  if (logits.size % N !== 0) throw new Error(`${k}: ${logits.label} has ${logits.size} elements, not N·V for N = ${N} targets`);
  const V = logits.size / N;
  if (V < 1) throw new Error(`${k}: ${logits.label} (logits) is empty`);
  if (logits.shape.length > 1 && logits.shape[logits.shape.length - 1] !== V) {
    throw new Error(`${k}: ${logits.label} has shape [${logits.shape}], expected last dimension V = ${V} for N = ${N} targets`);
  }
  assertSize(k, weights, N, 'weights (N)');
  assertSize(k, losses, N, 'losses (N)');
  assertSize(k, dlogits, N * V, 'dlogits (N,V)');
  if (!Number.isFinite(gradScale)) throw new Error(`${k}: gradScale must be finite, got ${gradScale}`);
  const { WG, TPR } = rowGeometry(k, options, step, { WG: 256, TPR: 256 });
  step.dispatch({
    shader: k,
    overrides: { WG, TPR },
    uniforms: params([N, V], [gradScale]),
    bindings: [logits, targets, weights, losses, dlogits],
    workgroups: grid1d(N, WG / TPR), // WG/TPR rows per workgroup
  });
}
