import { describe, test } from 'vitest';
import { geluBackward, geluForward } from '../../src/reference/gelu';
import { dot, expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

describe('reference gelu', () => {
  test('backward matches central finite differences', () => {
    const x = Float64Array.from(normal(64, 1, 2));
    const w = Float64Array.from(normal(64, 2));
    expectGradient(geluBackward(x, w), () => dot(geluForward(x), w), x, 'dgelu/dx');
  });
});
