import { describe, expect, test } from 'vitest';
import { ppoPolicyLossBackward, ppoPolicyLossForward, ppoValueLossBackward, ppoValueLossForward } from '../../src/reference/ppo-loss';
import { expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0);

describe('reference PPO losses', () => {
  const N = 40;
  const clip = 0.2;
  const weights = Float64Array.from({ length: N }, (_, n) => (n % 5 === 3 ? 0 : n % 4 === 0 ? 0.5 : 1));
  const gradScale = 1 / sum(weights);

  test('policy: dlogp matches central finite differences of gradScale·Σ losses, away from the clip kinks', () => {
    const oldLogp = Float64Array.from(normal(N, 1, 1), (x) => x - 3);
    const d = Float64Array.from(normal(N, 2, 0.3));
    // Keep ρ = e^d at least 1e-3 from 1 ± ε so the h = 1e-5 steps never cross a kink.
    d.forEach((x, n) => {
      for (const edge of [Math.log(1 - clip), Math.log(1 + clip)]) if (Math.abs(x - edge) < 1e-3) d[n] = edge + 0.01;
    });
    const logp = Float64Array.from(oldLogp, (x, n) => x + d[n]);
    const A = Float64Array.from(normal(N, 3));
    const loss = () => gradScale * sum(ppoPolicyLossForward(logp, oldLogp, A, weights, clip).losses);
    const dlogp = ppoPolicyLossBackward(logp, oldLogp, A, weights, clip, gradScale);
    expectGradient(dlogp, loss, logp, 'dppo_policy/dlogp');
    // Both branches are exercised, and clipped tokens have exactly zero gradient.
    const { clipped } = ppoPolicyLossForward(logp, oldLogp, A, weights, clip);
    const nClipped = Array.from(clipped).filter((c) => c > 0).length;
    expect(nClipped).toBeGreaterThan(3);
    expect(nClipped).toBeLessThan(N - 10);
    clipped.forEach((c, n) => {
      if (c > 0) expect(dlogp[n]).toBe(0);
    });
  });

  test('policy: the surrogate by cases (inside the range, clipped above and below, ties, masked)', () => {
    const e = 0.2;
    const logp = [Math.log(1.1), Math.log(1.5), Math.log(1.5), Math.log(0.5), Math.log(0.5), 0, 0];
    const old = [0, 0, 0, 0, 0, 0, 5];
    const A = [2, 2, -2, 2, -2, 0, 3];
    const w = [1, 1, 1, 1, 1, 1, 0];
    const { losses, clipped } = ppoPolicyLossForward(logp, old, A, w, e);
    const dlogp = ppoPolicyLossBackward(logp, old, A, w, e, 1);
    const want = [-2 * 1.1, -2 * 1.2, 2 * 1.5, -2 * 0.5, 2 * 0.8, 0, 0];
    want.forEach((v, n) => expect(losses[n]).toBeCloseTo(v, 12));
    expect(Array.from(clipped)).toEqual([0, 1, 0, 0, 1, 0, 0]);
    [-2 * 1.1, 0, 2 * 1.5, -2 * 0.5, 0, 0, 0].forEach((v, n) => expect(dlogp[n]).toBeCloseTo(v, 12));
  });

  test('value: dvalues matches central finite differences of gradScale·Σ losses, away from the kinks', () => {
    const oldV = Float64Array.from(normal(N, 4));
    const delta = Float64Array.from(normal(N, 5, 0.3));
    const R = Float64Array.from(normal(N, 6));
    // Keep |v − oldV| at least 1e-3 from ε, and the two squared terms apart, so no step crosses a kink.
    delta.forEach((x, n) => {
      if (Math.abs(Math.abs(x) - clip) < 1e-3) delta[n] = x + 0.01;
    });
    const v = Float64Array.from(oldV, (x, n) => x + delta[n]);
    v.forEach((x, n) => {
      const vc = oldV[n] + Math.min(Math.max(x - oldV[n], -clip), clip);
      if (Math.abs(Math.abs(x - R[n]) - Math.abs(vc - R[n])) < 1e-3 && Math.abs(x - oldV[n]) > clip) R[n] += 0.05;
    });
    const loss = () => gradScale * sum(ppoValueLossForward(v, oldV, R, weights, clip).losses);
    const dv = ppoValueLossBackward(v, oldV, R, weights, clip, gradScale);
    expectGradient(dv, loss, v, 'dppo_value/dvalues');
    const { clipped } = ppoValueLossForward(v, oldV, R, weights, clip);
    const nClipped = Array.from(clipped).filter((c) => c > 0).length;
    expect(nClipped).toBeGreaterThan(2);
    clipped.forEach((c, n) => {
      if (c > 0) expect(dv[n]).toBe(0);
    });
  });

  test('value: the clipped loss by cases', () => {
    // v far above oldV (clipped to oldV + ε): the clipped term wins when R is above v, the unclipped one when below.
    const v = [1, 1, 0.1, 5];
    const oldV = [0, 0, 0, 0];
    const R = [3, -1, 2, 0];
    const w = [1, 1, 2, 0];
    const { losses, clipped } = ppoValueLossForward(v, oldV, R, w, 0.2);
    const dv = ppoValueLossBackward(v, oldV, R, w, 0.2, 0.5);
    [0.5 * 2.8 ** 2, 0.5 * 4, 2 * 0.5 * 1.9 ** 2, 0].forEach((x, n) => expect(losses[n]).toBeCloseTo(x, 12));
    expect(Array.from(clipped)).toEqual([1, 0, 0, 0]);
    [0, 0.5 * 2, 2 * 0.5 * -1.9, 0].forEach((x, n) => expect(dv[n]).toBeCloseTo(x, 12));
  });
});
