import { describe, expect, test } from 'vitest';
import { CLIP_EPS, gradNorm } from '../../src/reference/gradnorm';

describe('reference grad norm', () => {
  test('L2 norm and PyTorch clip_grad_norm_ factor', () => {
    const g = [3, 0, -4]; // ‖g‖ = 5
    expect(gradNorm(g, 1)[0]).toBe(5);
    expect(gradNorm(g, 1)[1]).toBeCloseTo(1 / (5 + CLIP_EPS), 15);
    expect(gradNorm(g, 10)[1]).toBe(1); // norm below the threshold: no clipping
    expect(gradNorm(g, 0)[1]).toBe(1); // maxNorm ≤ 0 disables clipping
    expect(gradNorm(g, -1)[1]).toBe(1);
    expect(Array.from(gradNorm([0, 0], 1))).toEqual([0, 1]);
  });

  test('clipped gradients have norm maxNorm (up to the 1e-6 guard)', () => {
    const g = [0.5, -7, 2, 11, -3];
    const [, scale] = gradNorm(g, 2);
    const [clippedNorm] = gradNorm(g.map((x) => x * scale), 0);
    expect(clippedNorm).toBeCloseTo(2, 6);
  });
});
