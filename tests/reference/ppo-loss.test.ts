import { describe, expect, test } from 'vitest';
import { ppoPolicyLossBackward, ppoPolicyLossForward, ppoValueLossBackward, ppoValueLossForward } from '../../src/reference/ppo-loss';
import { expectGradient } from '../helpers/finite-diff';
import { normal, rng } from '../helpers/random';

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

// PPO's losses as the trainer uses them: a masked mean over real tokens (weights = the 0/1 mask, gradScale = 1/N),
// against explicit loops written differently here; masked positions hold NaN, so reading one would show.
describe('reference PPO losses as masked means', () => {
  const clip = 0.2;
  const N = 60;
  const mask = Float64Array.from({ length: N }, (_, n) => (n % 7 === 2 || n % 11 === 5 ? 0 : 1));
  const count = sum(mask);
  const masked = (x: ArrayLike<number>) => Float64Array.from(x, (v, n) => (mask[n] === 1 ? v : NaN));
  const mean = (losses: ArrayLike<number>) => sum(Array.from(losses).filter((_, n) => mask[n] === 1)) / count;

  /** The mean loss and the clipped count are the loop's (summed losses, clipped tokens); both branches occur. */
  function expectLoop(got: { losses: Float64Array; clipped: Float64Array }, grad: Float64Array, loss: number, clipped: number) {
    expect(mean(got.losses)).toBeCloseTo(loss / count, 12);
    expect(sum(got.clipped)).toBe(clipped);
    expect(clipped / count).toBeGreaterThan(0.05);
    expect(clipped / count).toBeLessThan(0.95);
    grad.forEach((g, n) => expect(Number.isNaN(g), `gradient ${n} read a masked NaN`).toBe(false));
  }

  test('policy: loss and clip fraction match the loop, both branches exercised; logp = oldLogp clips nothing', () => {
    const random = rng(61);
    const oldLogp = masked(Float64Array.from(normal(N, 62), (x) => x - 2));
    const logp = Float64Array.from(oldLogp, (o) => o + 0.5 * (2 * random() - 1)); // ρ ∈ [e^−½, e^½]
    const A = masked(normal(N, 63));
    let loss = 0;
    let clipped = 0;
    for (let n = 0; n < N; n++) {
      if (mask[n] !== 1) continue;
      const ratio = Math.exp(logp[n]) / Math.exp(oldLogp[n]);
      const pg1 = -A[n] * ratio;
      const pg2 = -A[n] * Math.min(1 + clip, Math.max(1 - clip, ratio));
      loss += Math.max(pg1, pg2);
      if (pg2 > pg1) clipped += 1;
    }
    expectLoop(ppoPolicyLossForward(logp, oldLogp, A, mask, clip), ppoPolicyLossBackward(logp, oldLogp, A, mask, clip, 1 / count), loss, clipped);

    const same = ppoPolicyLossForward(oldLogp, oldLogp, A, mask, clip);
    expect(sum(same.clipped)).toBe(0);
    expect(mean(same.losses)).toBeCloseTo(-mean(A), 12);
    const dlogp = ppoPolicyLossBackward(oldLogp, oldLogp, A, mask, clip, 1 / count);
    dlogp.forEach((g, n) => expect(g).toBeCloseTo(mask[n] === 1 ? -A[n] / count : 0, 14));
  });

  test('value: loss and clip fraction match the loop, both branches exercised; values = oldValues clips nothing', () => {
    const random = rng(91);
    const oldV = masked(normal(N, 92));
    const R = masked(normal(N, 93));
    const v = Float64Array.from(oldV, (o) => o + 0.6 * (2 * random() - 1));
    let loss = 0;
    let clipped = 0;
    for (let n = 0; n < N; n++) {
      if (mask[n] !== 1) continue;
      let vClip = v[n];
      if (vClip > oldV[n] + clip) vClip = oldV[n] + clip;
      if (vClip < oldV[n] - clip) vClip = oldV[n] - clip;
      const l1 = (v[n] - R[n]) * (v[n] - R[n]);
      const l2 = (vClip - R[n]) * (vClip - R[n]);
      loss += 0.5 * Math.max(l1, l2);
      if (l2 > l1) clipped += 1;
    }
    expectLoop(ppoValueLossForward(v, oldV, R, mask, clip), ppoValueLossBackward(v, oldV, R, mask, clip, 1 / count), loss, clipped);
    expect(sum(ppoValueLossForward(oldV, oldV, R, mask, clip).clipped)).toBe(0);
  });
});
