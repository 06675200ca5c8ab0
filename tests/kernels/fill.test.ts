import { describe, expect } from 'vitest';
import { fillConstant } from '../../src/kernels/fill';
import { gpuTest } from '../helpers/gpu';
import { normal } from '../helpers/random';

describe('fill_constant', () => {
  for (const n of [1, 255, 257, 70000]) {
    gpuTest(`sets every element, and only the viewed ones, n=${n}`, async ({ rt }) => {
      // A view 256 bytes into a larger buffer: the elements before and after it keep their values.
      const before = normal(n + 128, n);
      const buf = rt.upload(before, [n + 128], 'buf');
      const view = buf.view([n], 256, 'view');
      const step = rt.step('fill');
      fillConstant(step, view, -2.5);
      const read = step.read(buf);
      await step.submit();
      const got = await read;
      for (let i = 0; i < n + 128; i++) {
        const want = i >= 64 && i < 64 + n ? -2.5 : before[i];
        if (got[i] !== want) expect.fail(`element ${i} is ${got[i]}, expected ${want}`);
      }
      rt.free(buf);
    });
  }

  gpuTest('rejects non-f32 tensors and non-finite values', async ({ rt }) => {
    const u = rt.tensor([4], 'u', 'u32');
    const f = rt.tensor([4], 'f');
    expect(() => fillConstant(rt.step('bad'), u, 0)).toThrow(/fill_constant: u must be f32, got u32/);
    expect(() => fillConstant(rt.step('bad'), f, NaN)).toThrow(/fill_constant: value must be finite, got NaN/);
    rt.free(u, f);
  });
});
