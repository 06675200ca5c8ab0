import { describe, expect, test } from 'vitest';
import { softmaxBackward, softmaxForward } from '../../src/reference/softmax';
import { dot, expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

describe('reference softmax', () => {
  test('logits of ±1e4 stay finite (the row maximum is subtracted first): the closed form of a two-value row', () => {
    // Row [1e4, 1e4 − 1, −1e4]: p = [1, e⁻¹, 0] / (1 + e⁻¹), where exp(1e4) alone would overflow to Infinity.
    const y = softmaxForward([1e4, 1e4 - 1, -1e4], 1, 3);
    const z = 1 + Math.exp(-1);
    [1 / z, Math.exp(-1) / z, 0].forEach((p, i) => expect(y[i], `column ${i}`).toBeCloseTo(p, 12));
  });

  test('rows sum to 1 and causal rows put 0 on masked columns', () => {
    const T = 4;
    const x = Float64Array.from(normal(2 * T * T, 1, 2));
    const y = softmaxForward(x, 2 * T, T, { causalT: T, scale: 0.5 });
    for (let r = 0; r < 2 * T; r++) {
      const row = y.subarray(r * T, (r + 1) * T);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      for (let c = (r % T) + 1; c < T; c++) expect(row[c]).toBe(0);
    }
  });

  for (const [name, rows, cols, options] of [
    ['plain', 3, 7, {}],
    ['scaled', 2, 5, { scale: 0.37 }],
    ['causal and scaled', 10, 5, { causalT: 5, scale: 1.7 }],
  ] as const) {
    test(`${name} backward matches central finite differences`, () => {
      const x = Float64Array.from(normal(rows * cols, rows + cols, 1.5));
      const w = Float64Array.from(normal(rows * cols, 99));
      const y = softmaxForward(x, rows, cols, options);
      const dx = softmaxBackward(y, w, rows, cols, options);
      expectGradient(dx, () => dot(softmaxForward(x, rows, cols, options), w), x, `dsoftmax/dx (${name})`);
    });
  }
});
