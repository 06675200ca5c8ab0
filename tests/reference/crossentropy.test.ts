import { describe, expect, test } from 'vitest';
import { crossentropyBackward, crossentropyForward } from '../../src/reference/crossentropy';
import { expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

describe('reference crossentropy', () => {
  const [N, V] = [4, 6];
  const logits = Float64Array.from(normal(N * V, 1, 2));
  const targets = [2, 0, 5, 3];
  const weights = [1, 0, 0.5, 2]; // row 1 is masked out
  const gradScale = 1 / 3.5;
  const loss = () => gradScale * crossentropyForward(logits, targets, weights, N, V).reduce((a, b) => a + b, 0);

  test('dlogits matches central finite differences of gradScale·Σ losses', () => {
    expectGradient(crossentropyBackward(logits, targets, weights, gradScale, N, V), loss, logits, 'dcrossentropy/dlogits');
  });

  test('logits of ±1e4 stay finite (the row maximum is subtracted first): the closed form of a two-value row', () => {
    // Row [1e4, 1e4 − 1, −1e4], target 1: loss = log(1 + e⁻¹) + 1, where exp(1e4) alone would overflow to Infinity.
    const losses = crossentropyForward([1e4, 1e4 - 1, -1e4], [1], [1], 1, 3);
    expect(losses[0]).toBeCloseTo(Math.log(1 + Math.exp(-1)) + 1, 10);
  });

  test('the loss is −log softmax[target] and a masked row contributes nothing', () => {
    const losses = crossentropyForward(logits, targets, weights, N, V);
    const row = logits.subarray(0, V);
    const z = row.reduce((a, v) => a + Math.exp(v), 0);
    expect(losses[0]).toBeCloseTo(-Math.log(Math.exp(row[2]) / z), 12);
    expect(losses[1]).toBe(0);
    expect(crossentropyBackward(logits, targets, weights, gradScale, N, V).subarray(V, 2 * V).every((g) => g === 0)).toBe(true);
  });
});
