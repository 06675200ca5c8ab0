import { describe, expect } from 'vitest';
import { CEILING_ACCUMULATORS, CEILING_MADS_PER_ITER, ceilingFlops, ceilingFma } from '../../src/kernels/ceiling';
import { gpuTest } from '../helpers/gpu';
import { expectClose } from '../helpers/tolerance';

/**
 * The same arithmetic on the CPU in f32 (Math.fround after every operation): thread i's accumulator j, lane l
 * starts at f32(i)/65536 + l/4 + j and takes iters·4 steps of acc ← acc·a + b; the output is the sum of all 32.
 */
function ceilingCpu(n: number, iters: number, a: number, b: number): Float64Array {
  const f = Math.fround;
  const [fa, fb] = [f(a), f(b)];
  const steps = iters * (CEILING_MADS_PER_ITER / CEILING_ACCUMULATORS);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < CEILING_ACCUMULATORS; j++) {
      for (let l = 0; l < 4; l++) {
        let acc = f(f(f(i) * (1 / 65536) + l / 4) + j);
        for (let s = 0; s < steps; s++) acc = f(f(acc * fa) + fb);
        sum += acc;
      }
    }
    out[i] = sum;
  }
  return out;
}

// The recurrence is contractive (|a| < 1), so a per-step rounding difference (a GPU may fuse a*b+c into one
// rounding) is damped, not accumulated: a few f32 ulps of the ~30-magnitude sum, i.e. ~1e-6 relative; 1e-5
// leaves margin. A kernel doing 31 instead of 32 multiply-adds per round is off by ~1e-2 at these sizes.
const TOL = { atol: 1e-5, rtol: 1e-5 };

describe('ceiling_fma', () => {
  for (const [n, iters] of [
    [1, 0],
    [1, 1],
    [65, 3],
    [200, 2],
  ]) {
    gpuTest(`matches the same f32 arithmetic on the CPU, n=${n}, iters=${iters}`, async ({ rt }) => {
      const out = rt.tensor([n], 'ceiling out');
      const step = rt.step('ceiling');
      ceilingFma(step, out, { iters, a: 0.75, b: 0.3 });
      const y = step.read(out);
      await step.submit();
      expectClose(await y, ceilingCpu(n, iters, 0.75, 0.3), TOL, 'ceiling_fma output');
      rt.free(out);
    });
  }

  gpuTest('counts 256 FLOPs per thread per iteration and rejects bad arguments', async ({ rt }) => {
    expect(ceilingFlops(64, 10)).toBe(64 * 10 * 32 * 4 * 2);
    const out = rt.tensor([4], 'out');
    expect(() => ceilingFma(rt.step('bad'), out, { iters: 1.5 })).toThrow(/ceiling_fma: iters = 1.5/);
    expect(() => ceilingFma(rt.step('bad'), out, { iters: 1, a: 1 })).toThrow(/ceiling_fma: \|a\| = 1 must be < 1/);
    const ints = rt.tensor([4], 'ints', 'u32');
    expect(() => ceilingFma(rt.step('bad'), ints, { iters: 1 })).toThrow(/ceiling_fma: ints must be f32/);
    rt.free(out, ints);
  });
});
