import { describe, expect, test } from 'vitest';
import { geluForward } from '../../src/reference/gelu';
import { matmulBackward, matmulForward, type MatmulShape } from '../../src/reference/matmul';
import { dot, expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

describe('reference matmul', () => {
  test('forward on a hand-computed case: transposes, bias and batch', () => {
    // A = [[1, 2], [3, 4]], B = [[5, 6], [7, 8]], A·B = [[19, 22], [43, 50]].
    const a = [1, 2, 3, 4];
    const b = [5, 6, 7, 8];
    const aT = [1, 3, 2, 4];
    const bT = [5, 7, 6, 8];
    const dims = { m: 2, k: 2, n: 2 };
    expect([...matmulForward(a, b, null, dims)]).toEqual([19, 22, 43, 50]);
    expect([...matmulForward(aT, b, null, { ...dims, transA: true })]).toEqual([19, 22, 43, 50]);
    expect([...matmulForward(a, bT, null, { ...dims, transB: true })]).toEqual([19, 22, 43, 50]);
    expect([...matmulForward(aT, bT, [1, -1], { ...dims, transA: true, transB: true })]).toEqual([20, 21, 44, 49]);
    // Two batches sharing B (stride 0): the second A is 2·A.
    const batched = matmulForward([...a, ...a.map((x) => 2 * x)], b, null, { ...dims, batch: 2, strideB: 0 });
    expect([...batched]).toEqual([19, 22, 43, 50, 38, 44, 86, 100]);
    expectClose(matmulForward(a, b, null, dims, true), geluForward([19, 22, 43, 50]), { atol: 0, rtol: 0 }, 'gelu epilogue');
  });

  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      test(`backward matches central finite differences, transA=${transA} transB=${transB}`, () => {
        const shape: MatmulShape = { m: 3, k: 4, n: 5, batch: 2, transA, transB };
        const a = Float64Array.from(normal(2 * 3 * 4, 1));
        const b = Float64Array.from(normal(2 * 4 * 5, 2));
        const bias = Float64Array.from(normal(5, 3));
        const w = Float64Array.from(normal(2 * 3 * 5, 4));
        const loss = () => dot(matmulForward(a, b, bias, shape), w);
        const { da, db, dbias } = matmulBackward(w, a, b, shape);
        expectGradient(da, loss, a, 'dA');
        expectGradient(db, loss, b, 'dB');
        expectGradient(dbias, loss, bias, 'dbias');
      });
    }
  }

  test('backward sums the gradient of a matrix shared by every batch (stride 0)', () => {
    const shape: MatmulShape = { m: 2, k: 3, n: 4, batch: 3, strideB: 0, transB: true };
    const a = Float64Array.from(normal(3 * 2 * 3, 5));
    const b = Float64Array.from(normal(4 * 3, 6));
    const w = Float64Array.from(normal(3 * 2 * 4, 7));
    const loss = () => dot(matmulForward(a, b, null, shape), w);
    const { da, db } = matmulBackward(w, a, b, shape);
    expectGradient(da, loss, a, 'dA');
    expectGradient(db, loss, b, 'dB (shared)');
  });
});
