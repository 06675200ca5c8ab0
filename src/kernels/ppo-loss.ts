// Launcher for shaders/ppo_value_loss_forward_backward.wgsl: PPO's clipped value loss per token, fused with its
// gradient (one kernel, no separate backward). PPO's clipped policy loss is the group kernel
// (src/kernels/grpo-loss.ts, shaders/grpo_loss_forward_backward.wgsl) at ε_low = ε_high = ε and β = 0: op.ppoPolicyLoss.
// Shapes: N = B·T token positions. weights (N) is the per-token loss mask (0 prompt/padding, 1 response; any
// finite value ≥ 0) and gradScale the caller's normalisation (1/Σweights for a masked mean); the mean loss is
// Σlosses/Σweights and the clip fraction Σclipped/Σweights, reduced elsewhere. Weights live on the GPU and are
// not checked here.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { grid1d } from './grid';

function checkScalars(kernel: string, clip: number, gradScale: number): void {
  if (!(Number.isFinite(clip) && clip >= 0)) throw new Error(`${kernel}: clip must be a finite number ≥ 0, got ${clip}`);
  if (!Number.isFinite(gradScale)) throw new Error(`${kernel}: gradScale must be finite, got ${gradScale}`);
}

function checkTokens(kernel: string, tensors: readonly [Tensor, string][]): number {
  const N = tensors[0][0].size;
  if (N < 1) throw new Error(`${kernel}: ${tensors[0][0].label} (${tensors[0][1]}) is empty`);
  for (const [t, what] of tensors) {
    assertDType(kernel, t, 'f32');
    assertSize(kernel, t, N, `${what} (N)`);
  }
  return N;
}

/**
 * values (N), oldValues (N), returns (N), weights (N) → losses (N), dvalues (N), clipped (N).
 * vClip = oldV + clamp(v − oldV, ±clip); losses = w·½·max((v−R)², (vClip−R)²); dvalues = w·gradScale·(v − R)
 * where the unclipped term wins (ties included), else w·gradScale·(vClip − R)·[|v − oldV| < clip] (= 0);
 * clipped = w where the clipped term is strictly larger. Weight-0 tokens get exactly 0 everywhere.
 * values may be shaped (B,T,1) (a value head's output): only sizes are checked.
 */
export function ppoValueLossForwardBackward(
  step: Step,
  values: Tensor, // (N)
  oldValues: Tensor, // (N)
  returns: Tensor, // (N)
  weights: Tensor, // (N)
  losses: Tensor, // (N)
  dvalues: Tensor, // (N)
  clipped: Tensor, // (N)
  clip: number,
  gradScale: number,
): void {
  const k = 'ppo_value_loss_forward_backward';
  const N = checkTokens(k, [
    [values, 'values'],
    [oldValues, 'oldValues'],
    [returns, 'returns'],
    [weights, 'weights'],
    [losses, 'losses'],
    [dvalues, 'dvalues'],
    [clipped, 'clipped'],
  ]);
  checkScalars(k, clip, gradScale);
  step.dispatch({
    shader: k,
    uniforms: params([N], [clip, gradScale]),
    bindings: [values, oldValues, returns, weights, losses, dvalues, clipped],
    workgroups: grid1d(N, 256),
  });
}
