import { describe, expect, test } from 'vitest';
import { dropoutBackward, dropoutForward, dropoutMask, pcgHash } from '../../src/reference/dropout';
import { dot, expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

describe('reference dropout', () => {
  test('backward matches central finite differences (the mask is fixed by its key)', () => {
    const key = { seed: 5, step: 2, site: 1 };
    const x = Float64Array.from(normal(64, 1));
    const w = Float64Array.from(normal(64, 2));
    expectGradient(dropoutBackward(w, 0.3, key), () => dot(dropoutForward(x, 0.3, key), w), x, 'ddropout/dx');
  });

  test('PCG hash matches known values of the 32-bit reference implementation', () => {
    // pcg_hash from Jarzynski & Olano (2020), computed in C with uint32_t arithmetic.
    expect(pcgHash(0)).toBe(129708002);
    expect(pcgHash(1)).toBe(2831084092);
    expect(pcgHash(0xffffffff)).toBe(3861530882);
  });

  for (const p of [0.1, 0.5, 0.9]) {
    test(`the kept fraction is 1 − p within 5σ, p=${p}`, () => {
      const n = 100_000;
      const keep = dropoutMask(n, p, { seed: 3, step: 11, site: 4 });
      const kept = keep.reduce((s, k) => s + k, 0) / n;
      const sigma = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(kept - (1 - p))).toBeLessThan(5 * sigma);
    });
  }

  test('p = 0 keeps everything', () => {
    expect(dropoutMask(1000, 0, { seed: 1, step: 1, site: 1 }).every((k) => k === 1)).toBe(true);
  });
});
