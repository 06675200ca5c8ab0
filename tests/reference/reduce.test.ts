import { describe, expect, test } from 'vitest';
import { reduceSum, sumAbs } from '../../src/reference/reduce';

describe('reference reduce_sum', () => {
  test('sums, scales and takes the mean', () => {
    expect(reduceSum([1, 2, 3, 4])[0]).toBe(10);
    expect(reduceSum([1, 2, 3, 4], 1 / 4)[0]).toBe(2.5);
    expect(reduceSum([])[0]).toBe(0);
    expect(sumAbs([1, -2, 3])).toBe(6);
  });

  test('the gradient of scale·Σx is scale for every x (finite differences)', () => {
    const x = [0.3, -1.2, 2.5];
    const h = 1e-5;
    for (let i = 0; i < x.length; i++) {
      const up = x.map((v, j) => (j === i ? v + h : v));
      const down = x.map((v, j) => (j === i ? v - h : v));
      expect((reduceSum(up, 0.7)[0] - reduceSum(down, 0.7)[0]) / (2 * h)).toBeCloseTo(0.7, 9);
    }
  });
});
