import { describe, expect } from 'vitest';
import { gradNorm, gradNormScratchSize } from '../../src/kernels/gradnorm';
import * as ref from '../../src/reference/gradnorm';
import { gpuTest } from '../helpers/gpu';
import { integers, normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

/** f32 unit roundoff. */
const U = 2 ** -24;

/**
 * Every term g² ≥ 0, so the summation error is relative: ≤ (1 + 2·(2 + 8))·u·Σg² for the square, the two Kahan
 * loops and the two 8-level trees (see reduce.test.ts), covered by (⌈log₂ N⌉ + 10)·u. The norm halves that and
 * adds WGSL's sqrt (allowed 2.5 ulp of 2u), and the clip factor adds a division (2.5 ulp) on top.
 */
function normTolerance(n: number): { norm: number; scale: number } {
  const sum = (Math.ceil(Math.log2(Math.max(2, n))) + 10) * U;
  const norm = sum / 2 + 5 * U;
  return { norm, scale: norm + 5 * U };
}

describe('grad_norm', () => {
  const cases: { n: number; chunk?: number }[] = [
    ...[1, 3, 255, 256, 257, 65537, 1_000_003].map((n) => ({ n })),
    { n: 65537, chunk: 256 }, // 257 partials: the final stage loops, with a ragged tail
  ];
  for (const { n, chunk } of cases) {
    gpuTest(`norm and clip factor match the float64 reference, n=${n}${chunk ? `, chunk=${chunk}` : ''}`, async ({ rt }) => {
      const g = normal(n, n, 0.01);
      const [norm] = ref.gradNorm(g, 0);
      // Clipping active (maxNorm = norm/2), inactive (2·norm) and disabled (0).
      const maxNorms = [norm / 2, 2 * norm, 0];
      const grads = rt.upload(g, [n], 'grads');
      const scratch = rt.tensor([gradNormScratchSize(n, chunk)], 'scratch');
      const clips = maxNorms.map((_, i) => rt.tensor([2], `clip${i}`));
      const step = rt.step('grad norm');
      maxNorms.forEach((maxNorm, i) => gradNorm(step, grads, clips[i], scratch, maxNorm, { chunk }));
      const reads = clips.map((c) => step.read(c));
      await step.submit();
      const tol = normTolerance(n);
      for (const [i, maxNorm] of maxNorms.entries()) {
        const got = await reads[i];
        const want = ref.gradNorm(g, maxNorm);
        expectClose([got[0]], [want[0]], { atol: 0, rtol: tol.norm }, `norm (maxNorm ${maxNorm})`);
        expectClose([got[1]], [want[1]], { atol: 0, rtol: tol.scale }, `clip factor (maxNorm ${maxNorm})`);
      }
      expect((await reads[0])[1], 'clipping active').toBeLessThan(0.51);
      expect((await reads[1])[1], 'below the threshold the factor is exactly 1').toBe(1);
      expect((await reads[2])[1], 'maxNorm 0 disables clipping').toBe(1);
      rt.free(grads, scratch, ...clips);
    });
  }

  gpuTest('integer gradients give the exact norm²: no element missed or doubled, n=1_000_003', async ({ rt }) => {
    // Integers 0..3: Σg² < 2^24, so every partial sum is exact and only sqrt rounds (a missing 3 would move the
    // norm by ~1.3e-6 relative, far outside the tolerance).
    const n = 1_000_003;
    const g = Float32Array.from(integers(n, 4, 9));
    const grads = rt.upload(g, [n], 'grads');
    const scratch = rt.tensor([gradNormScratchSize(n)], 'scratch');
    const clip = rt.tensor([2], 'clip');
    const step = rt.step('grad norm ints');
    gradNorm(step, grads, clip, scratch, 1);
    const c = step.read(clip);
    await step.submit();
    const want = ref.gradNorm(g, 1);
    expectClose((await c).slice(0, 1), want.slice(0, 1), { atol: 0, rtol: 5 * U }, 'integer norm');
    rt.free(grads, scratch, clip);
  });

  gpuTest('a zero gradient has norm 0 and factor 1', async ({ rt }) => {
    const n = 300;
    const grads = rt.upload(new Float32Array(n), [n], 'grads');
    const scratch = rt.tensor([gradNormScratchSize(n)], 'scratch');
    const clip = rt.upload([Number.NaN, Number.NaN], [2], 'clip');
    const step = rt.step('grad norm zero');
    gradNorm(step, grads, clip, scratch, 1);
    const c = step.read(clip);
    await step.submit();
    expect(Array.from(await c)).toEqual([0, 1]);
    rt.free(grads, scratch, clip);
  });

  gpuTest('shape, scratch and aliasing errors name the kernel', async ({ rt }) => {
    const grads = rt.tensor([50000], 'grads');
    const small = rt.tensor([2], 'small');
    const clip = rt.tensor([2], 'clip');
    const clip3 = rt.tensor([3], 'clip3');
    const step = rt.step('bad');
    expect(() => gradNorm(step, grads, clip3, small, 1)).toThrow(/grad_norm: clip3 \(\[norm, clip scale\]\) has 3 elements, expected 2/);
    expect(() => gradNorm(step, grads, clip, small, 1)).toThrow(/grad_norm: small \(scratch\) has 2 elements, needs 4/);
    expect(() => gradNorm(step, grads, clip, clip, 1)).toThrow(/grad_norm: clip \(clip\) shares a buffer/);
    expect(() => gradNorm(step, grads, clip, small, Number.POSITIVE_INFINITY)).toThrow(/grad_norm: maxNorm must be finite/);
    expect(step.dispatchCount).toBe(0);
    rt.free(grads, small, clip, clip3);
  });
});
