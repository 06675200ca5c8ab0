import { describe, expect, test } from 'vitest';
import { rankingLossBackward, rankingLossForward } from '../../src/reference/ranking-loss';
import { expectGradient } from '../helpers/finite-diff';
import { integers, normal } from '../helpers/random';

describe('reference ranking loss', () => {
  test('dscores matches central finite differences of gradScale·Σ losses (zero away from the last positions)', () => {
    const sizes = [2, 3, 5, 4];
    const offsets = [0];
    for (const k of sizes) offsets.push(offsets[offsets.length - 1] + k);
    const B = offsets[offsets.length - 1];
    const T = 3;
    const scores = Float64Array.from(normal(B * T, 1, 2));
    const last = integers(B, T, 2);
    const gradScale = 1 / sizes.length;
    const loss = () => gradScale * rankingLossForward(scores, last, offsets, T).reduce((a, b) => a + b, 0);
    const dscores = rankingLossBackward(scores, last, offsets, gradScale, B, T);
    expectGradient(dscores, loss, scores, 'dranking/dscores');
    dscores.forEach((g, i) => {
      if (i % T !== last[Math.floor(i / T)]) expect(g).toBe(0);
    });
  });

  test('the loss is the mean of −log σ(r_i − r_j) over the C(K,2) pairs, stable for gaps of ±1e4', () => {
    const r = [2, 0.5, -1];
    const logSig = (x: number) => -Math.log1p(Math.exp(-x));
    const want = -(logSig(2 - 0.5) + logSig(2 + 1) + logSig(0.5 + 1)) / 3;
    expect(rankingLossForward(r, [0, 0, 0], [0, 3], 1)[0]).toBeCloseTo(want, 14);
    // Correct order by 1e4: loss e^−1e4 = 0; reversed: exactly the gap; its gradient saturates at ∓1/C(K,2).
    expect(Array.from(rankingLossForward([5e3, -5e3, -5e3, 5e3], [0, 0, 0, 0], [0, 2, 4], 1))).toEqual([0, 1e4]);
    expect(Array.from(rankingLossBackward([5e3, -5e3, -5e3, 5e3], [0, 0, 0, 0], [0, 2, 4], 1, 4, 1))).toEqual([0, 0, -1, 1]);
  });
});
