import { describe, expect } from 'vitest';
import { reduceScratchSize, reduceSum } from '../../src/kernels/reduce';
import * as ref from '../../src/reference/reduce';
import { gpuTest } from '../helpers/gpu';
import { integers, normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

/** f32 unit roundoff. */
const U = 2 ** -24;

/**
 * Summation error bound for the kernel's scheme. Each input passes through a Kahan-compensated per-thread loop
 * (≈ 2 roundings), an 8-level tree over 256 threads, and (past one chunk) the same again over the partials, then
 * ×scale: at most 2·(2 + 8) + 1 roundings, which ⌈log₂ N⌉ + 10 covers for every N here. So |err| ≤ (⌈log₂ N⌉ + 10)·u·Σ|x|·|scale|,
 * far tighter than a sequential f32 loop's N·u·Σ|x| (or its typical √N·u·Σ|x|), so a kernel that lost the tree
 * structure would fail here at large N.
 */
function sumTolerance(x: ArrayLike<number>, scale = 1): { atol: number; rtol: number } {
  const levels = Math.ceil(Math.log2(Math.max(2, x.length))) + 10;
  return { atol: levels * U * ref.sumAbs(x) * Math.abs(scale), rtol: U };
}

describe('reduce_sum', () => {
  // 16384 = one default chunk (a single dispatch); 16385 = two partials. The forced chunks give 257 partials (the
  // final stage loops, with a ragged tail) and 4 partials of 262144 (1024 elements per thread).
  const cases: { n: number; chunk?: number }[] = [
    ...[1, 3, 255, 256, 257, 16384, 16385, 65537, 1_000_003].map((n) => ({ n })),
    { n: 65537, chunk: 256 },
    { n: 1_000_003, chunk: 262144 },
  ];
  for (const { n, chunk } of cases) {
    gpuTest(`sum and mean match the float64 reference; integer data sums exactly, n=${n}${chunk ? `, chunk=${chunk}` : ''}`, async ({ rt }) => {
      const x = normal(n, n, 3);
      // Integers 0..3: every partial sum is an integer below 2^24, so any f32 summation order is exact and a
      // missed or doubled element shows up as a wrong integer.
      const k = Float32Array.from(integers(n, 4, n + 1));
      const inp = rt.upload(x, [n], 'x');
      const ints = rt.upload(k, [n], 'k');
      const sum = rt.tensor([1], 'sum');
      const mean = rt.tensor([1], 'mean');
      const intSum = rt.tensor([1], 'intSum');
      const scratch = rt.tensor([reduceScratchSize(n, chunk)], 'scratch');
      const step = rt.step('reduce');
      reduceSum(step, inp, sum, scratch, { chunk });
      reduceSum(step, inp, mean, scratch, { scale: 1 / n, chunk }); // rewrites the scratch: dispatches run in order
      reduceSum(step, ints, intSum, scratch, { chunk });
      expect(step.dispatchCount).toBe(reduceScratchSize(n, chunk) === 1 ? 3 : 6);
      const [s, m, si] = [step.read(sum), step.read(mean), step.read(intSum)];
      await step.submit();
      expectClose(await s, ref.reduceSum(x), sumTolerance(x), 'sum');
      expectClose(await m, ref.reduceSum(x, 1 / n), sumTolerance(x, 1 / n), 'mean');
      expect((await si)[0], 'integer sum').toBe(ref.reduceSum(k)[0]);
      rt.free(inp, ints, sum, mean, intSum, scratch);
    });
  }

  gpuTest('cancelling ±1e4 inputs stay within the bound and results are bitwise deterministic', async ({ rt }) => {
    const n = 100_003;
    const base = normal(n, 21, 1e4);
    // Pairs x, −x (one element apart) plus a small remainder: the exact sum is tiny next to Σ|x|.
    const x = base.map((v, i) => (i % 2 === 0 ? v : -base[i - 1] + 1e-3 * v));
    const inp = rt.upload(x, [n], 'x');
    const out1 = rt.tensor([1], 'out1');
    const out2 = rt.tensor([1], 'out2');
    const scratch = rt.tensor([reduceScratchSize(n)], 'scratch');
    const step = rt.step('reduce cancel');
    reduceSum(step, inp, out1, scratch);
    reduceSum(step, inp, out2, scratch);
    const [a, b] = [step.read(out1), step.read(out2)];
    await step.submit();
    expectClose(await a, ref.reduceSum(x), sumTolerance(x), 'cancelling sum');
    expect((await b)[0], 'same bits on a second run').toBe((await a)[0]);
    rt.free(inp, out1, out2, scratch);
  });

  gpuTest('an empty input sums to 0', async ({ rt }) => {
    const inp = rt.tensor([0], 'empty');
    const out = rt.upload([7], [1], 'out');
    const scratch = rt.tensor([reduceScratchSize(0)], 'scratch');
    const step = rt.step('reduce empty');
    reduceSum(step, inp, out, scratch);
    const s = step.read(out);
    await step.submit();
    expect((await s)[0]).toBe(0);
    rt.free(inp, out, scratch);
  });

  gpuTest('scratch sizes, shape and aliasing errors', async ({ rt }) => {
    expect(reduceScratchSize(1)).toBe(1);
    expect(reduceScratchSize(16384)).toBe(1);
    expect(reduceScratchSize(16385)).toBe(2);
    expect(reduceScratchSize(1_000_003)).toBe(62);
    expect(reduceScratchSize(500_000_000)).toBeLessThanOrEqual(1024);
    expect(reduceScratchSize(1000, 256)).toBe(4);
    expect(() => reduceScratchSize(1000, 100)).toThrow(/reduce_sum: chunk must be a positive multiple of 256, got 100/);
    const inp = rt.tensor([50000], 'inp');
    const out = rt.tensor([1], 'out');
    const out2 = rt.tensor([2], 'out2');
    const small = rt.tensor([2], 'small');
    const step = rt.step('bad');
    expect(() => reduceSum(step, inp, out2, small)).toThrow(/reduce_sum: out2 \(output\) has 2 elements, expected 1/);
    expect(() => reduceSum(step, inp, out, small)).toThrow(/reduce_sum: small \(scratch\) has 2 elements, needs 4/);
    expect(() => reduceSum(step, inp, out, out)).toThrow(/reduce_sum: output and the scratch tensor are the same buffer/);
    expect(() => reduceSum(step, out, out, small)).toThrow(/reduce_sum: input and output are the same buffer/);
    expect(step.dispatchCount).toBe(0);
    rt.free(inp, out, out2, small);
  });
});
