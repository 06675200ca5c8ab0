// Weights and a check the per-token loss kernels' tests share (tests/kernels/ppo-loss.test.ts: PPO's value loss;
// tests/kernels/grpo-loss.test.ts: PPO's policy loss on the group kernel).
import { expect } from 'vitest';

/** Weights: mostly 1, some fractional or above 1, every fifth token (from the fourth on) masked. */
export function maskWeights(N: number): Float32Array {
  return Float32Array.from({ length: N }, (_, n) => (n % 5 === 3 ? 0 : n % 4 === 0 ? 0.5 : n % 7 === 0 ? 2 : 1));
}

/** A masked token (weight 0) gets exactly 0 loss, gradient and clip count, whatever its inputs. */
export function expectMaskedZero(out: { losses: Float32Array; grad: Float32Array; clipped: Float32Array }, w: ArrayLike<number>, what: string) {
  for (let n = 0; n < w.length; n++) {
    if (w[n] !== 0) continue;
    expect([out.losses[n], out.grad[n], out.clipped[n]], `${what}: masked token ${n}`).toEqual([0, 0, 0]);
  }
}
