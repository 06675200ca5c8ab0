import { describe, expect, test } from 'vitest';
import { rankingLossBackward, rankingLossForward } from '../../src/reference/ranking-loss';
import { expectGradient } from '../helpers/finite-diff';
import { integers, normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

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

  test('one ranking of K = 2…9 matches the explicit pair loop; equal rewards give log 2 and push best up, worst down', () => {
    for (let K = 2; K <= 9; K++) {
      // One group of K rows with T = 1: the rewards are the scores.
      const loss = (r: Float64Array) => rankingLossForward(r, new Uint32Array(K), [0, K], 1)[0];
      const grad = (r: Float64Array) => rankingLossBackward(r, new Uint32Array(K), [0, K], 1, K, 1);
      const r = Float64Array.from(normal(K, 120 + K, 2));
      let sum = 0;
      let pairs = 0;
      for (let i = 0; i < K; i++) {
        for (let j = i + 1; j < K; j++) {
          sum += -Math.log(1 / (1 + Math.exp(-(r[i] - r[j]))));
          pairs += 1;
        }
      }
      expect(loss(r), `K=${K}`).toBeCloseTo(sum / pairs, 12);
      expectGradient(grad(r), () => loss(r), r, `dloss/dr K=${K}`);

      const flat = new Float64Array(K).fill(0.7);
      expect(loss(flat)).toBeCloseTo(Math.LN2, 14);
      // each pair contributes σ(0) = ½: dr_i = (½·i − ½·(K−1−i)) / C(K,2)
      const want = Array.from({ length: K }, (_, i) => (0.5 * i - 0.5 * (K - 1 - i)) / pairs);
      expectClose(grad(flat), want, { atol: 1e-12, rtol: 1e-10 }, `dr K=${K}`);
    }
  });
});
