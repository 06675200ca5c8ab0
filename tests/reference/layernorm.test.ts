import { describe, expect, test } from 'vitest';
import { layernormBackward, layernormForward } from '../../src/reference/layernorm';
import { dot, expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

describe('reference layernorm', () => {
  const [N, C] = [3, 7];
  const x = Float64Array.from(normal(N * C, 1, 2));
  const w = Float64Array.from(normal(C, 2));
  const b = Float64Array.from(normal(C, 3));
  const dy = Float64Array.from(normal(N * C, 4));
  const loss = () => dot(layernormForward(x, w, b, N, C).out, dy);
  const fwd = layernormForward(x, w, b, N, C);
  const grads = layernormBackward(dy, x, w, fwd.mean, fwd.rstd, N, C);

  test('forward normalises each row to mean 0, variance 1 before the affine map', () => {
    const plain = layernormForward(x, new Float64Array(C).fill(1), new Float64Array(C), N, C);
    for (let n = 0; n < N; n++) {
      const row = plain.out.subarray(n * C, (n + 1) * C);
      const m = row.reduce((a, v) => a + v, 0) / C;
      const v = row.reduce((a, u) => a + u * u, 0) / C;
      expect(Math.abs(m)).toBeLessThan(1e-12);
      expect(v).toBeCloseTo(1 - 1e-5 * plain.rstd[n] ** 2, 10);
    }
  });

  test('dinp matches central finite differences', () => {
    expectGradient(grads.dinp, loss, x, 'dlayernorm/dinp');
  });

  test('dweight matches central finite differences', () => {
    expectGradient(grads.dweight, loss, w, 'dlayernorm/dweight');
  });

  test('dbias matches central finite differences', () => {
    expectGradient(grads.dbias, loss, b, 'dlayernorm/dbias');
  });
});
