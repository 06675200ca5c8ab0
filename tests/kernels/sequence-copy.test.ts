import { describe, expect } from 'vitest';
import { sequenceCopy } from '../../src/kernels/sequence-copy';
import { gpuTest } from '../helpers/gpu';
import { integers, normal } from '../helpers/random';

describe('sequence_copy', () => {
  for (const [B, Ws, Wd] of [
    [1, 1, 1],
    [3, 20, 7],
    [5, 33, 33],
    [17, 129, 128],
  ]) {
    gpuTest(`copies the first Wd columns of each row bit for bit: B=${B} Ws=${Ws} Wd=${Wd}`, async ({ rt }) => {
      const ids = integers(B * Ws, 1 << 30, B + Ws);
      const src = rt.upload(ids, [B, Ws], 'src', 'u32');
      const dst = rt.tensor([B, Wd], 'dst', 'u32');
      const step = rt.step('sequence copy');
      sequenceCopy(step, src, dst);
      const got = step.read(dst);
      await step.submit();
      const expected = Uint32Array.from({ length: B * Wd }, (_, i) => ids[Math.floor(i / Wd) * Ws + (i % Wd)]);
      expect(Array.from(await got)).toEqual(Array.from(expected));
      rt.free(src, dst);
    });
  }

  gpuTest('f32 data (NaN payloads included) is copied exactly', async ({ rt }) => {
    const x = normal(12, 1);
    x[3] = NaN;
    x[7] = -0;
    const src = rt.upload(x, [3, 4], 'src');
    const dst = rt.tensor([3, 2], 'dst');
    const step = rt.step('sequence copy f32');
    sequenceCopy(step, src, dst);
    const got = step.read(dst);
    await step.submit();
    expect(Array.from(await got)).toEqual([x[0], x[1], x[4], x[5], x[8], x[9]]);
    rt.free(src, dst);
  });

  gpuTest('bad shapes are rejected before anything runs', async ({ rt }) => {
    const src = rt.tensor([2, 5], 'src', 'u32');
    const wide = rt.tensor([2, 6], 'wide', 'u32');
    const rows = rt.tensor([3, 2], 'rows', 'u32');
    const f = rt.tensor([2, 2], 'f');
    const step = rt.step('bad');
    expect(() => sequenceCopy(step, src, wide)).toThrow(/sequence_copy: wide is 6 wide, wider than src \(5\)/);
    expect(() => sequenceCopy(step, src, rows)).toThrow(/sequence_copy: rows has 3 rows, src has 2/);
    expect(() => sequenceCopy(step, src, f)).toThrow(/sequence_copy: src is u32, f is f32/);
    expect(() => sequenceCopy(step, src, src.reshape([10]))).toThrow(/must have shape \(B,W\)/);
    expect(step.dispatchCount).toBe(0);
    rt.free(src, wide, rows, f);
  });
});
