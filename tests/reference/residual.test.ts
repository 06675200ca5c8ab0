import { describe, expect, test } from 'vitest';
import { residualAccumulate, residualBackward, residualForward } from '../../src/reference/residual';
import { dot, expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

describe('reference residual', () => {
  test('backward matches central finite differences for both branches', () => {
    const a = Float64Array.from(normal(33, 1));
    const b = Float64Array.from(normal(33, 2));
    const w = Float64Array.from(normal(33, 3));
    const { da, db } = residualBackward(w);
    expectGradient(da, () => dot(residualForward(a, b), w), a, 'dresidual/da');
    expectGradient(db, () => dot(residualForward(a, b), w), b, 'dresidual/db');
  });

  test('accumulate adds scale·dout to the existing gradient', () => {
    expect(Array.from(residualAccumulate([1, 2], [3, -4], 0.5))).toEqual([2.5, 0]);
  });
});
