import { describe, expect } from 'vitest';
import { dropoutBackward, dropoutForward } from '../../src/kernels/dropout';
import * as ref from '../../src/reference/dropout';
import { gpuTest } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

// out = x·scale with scale = 1/(1−p) rounded to f32 once: one rounding of the scale plus one of the product,
// ≤ 2 ulp ≈ 2.4e-7 relative.
const TOL = { atol: 0, rtol: 3e-7 };

describe('dropout', () => {
  const cases: [number, number, ref.DropoutKey][] = [
    [1, 0.5, { seed: 1, step: 0, site: 0 }],
    [257, 0.1, { seed: 7, step: 3, site: 2 }],
    [4099, 0.5, { seed: 0xffffffff, step: 123456, site: 17 }],
    [70000, 0.9, { seed: 42, step: 1, site: 5 }],
  ];
  for (const [n, p, key] of cases) {
    gpuTest(`mask equals the reference hash exactly; forward and backward match, n=${n}, p=${p}`, async ({ rt }) => {
      const x = normal(n, n);
      const dy = normal(n, n + 1);
      const prior = normal(n, n + 2);
      const inp = rt.upload(x, [n], 'x');
      const dout = rt.upload(dy, [n], 'dy');
      const out = rt.tensor([n], 'y');
      const dinp = rt.tensor([n], 'dx');
      const dacc = rt.upload(prior, [n], 'dx acc');
      const step = rt.step('dropout');
      dropoutForward(step, inp, out, p, key);
      dropoutBackward(step, dout, dinp, p, key);
      dropoutBackward(step, dout, dacc, p, key, true);
      const [y, dx, da] = [step.read(out), step.read(dinp), step.read(dacc)];
      await step.submit();
      const keep = ref.dropoutMask(n, p, key);
      const gy = await y;
      // Exact mask: zero exactly where the reference drops, non-zero (x is never 0 here) where it keeps.
      for (let i = 0; i < n; i++) {
        if ((gy[i] !== 0) !== (keep[i] === 1)) expect.fail(`element ${i}: GPU ${gy[i] !== 0 ? 'kept' : 'dropped'}, reference ${keep[i] ? 'kept' : 'dropped'}`);
      }
      expectClose(gy, ref.dropoutForward(x, p, key), TOL, 'dropout forward');
      expectClose(await dx, ref.dropoutBackward(dy, p, key), TOL, 'dropout backward');
      expectClose(await da, ref.dropoutBackward(dy, p, key).map((g, i) => g + prior[i]), { atol: 1e-6, rtol: 1e-6 }, 'accumulated backward');
      rt.free(inp, dout, out, dinp, dacc);
    });
  }

  gpuTest('p = 0 is the identity; another step or site draws another mask', async ({ rt }) => {
    const n = 1000;
    const x = normal(n, 3);
    const inp = rt.upload(x, [n], 'x');
    const [o0, o1, o2] = ['p0', 'step1', 'site1'].map((l) => rt.tensor([n], l));
    const step = rt.step('dropout keys');
    dropoutForward(step, inp, o0, 0, { seed: 9, step: 0, site: 0 });
    dropoutForward(step, inp, o1, 0.5, { seed: 9, step: 1, site: 0 });
    dropoutForward(step, inp, o2, 0.5, { seed: 9, step: 0, site: 1 });
    const reads = [o0, o1, o2].map((t) => step.read(t));
    await step.submit();
    const [y0, y1, y2] = await Promise.all(reads);
    expect(Array.from(y0)).toEqual(Array.from(x));
    let differ = 0;
    for (let i = 0; i < n; i++) if ((y1[i] === 0) !== (y2[i] === 0)) differ++;
    // Independent masks at p = 0.5 disagree on half the elements (±5σ = ±80 of 500).
    expect(differ).toBeGreaterThan(420);
    expect(differ).toBeLessThan(580);
    rt.free(inp, o0, o1, o2);
  });

  gpuTest('bad p, keys and shapes are rejected naming the kernel', async ({ rt }) => {
    const a = rt.tensor([4], 'a');
    const b = rt.tensor([5], 'b');
    const c = rt.tensor([4], 'c');
    const step = rt.step('bad');
    const key = { seed: 1, step: 0, site: 0 };
    expect(() => dropoutForward(step, a, b, 0.1, key)).toThrow(/dropout_forward: b has 5 elements, expected 4/);
    expect(() => dropoutForward(step, a, c, 1, key)).toThrow(/dropout_forward: p must be in \[0, 1\), got 1/);
    expect(() => dropoutBackward(step, a, a.view([4], 0, 'a2'), 0.1, key)).toThrow(/dropout_backward: dout and dinp are the same buffer/);
    expect(() => dropoutBackward(step, a, b.view([4], 0, 'b4'), 0.1, { ...key, seed: -1 })).toThrow(/dropout_backward: seed = -1 is not a u32/);
    expect(step.dispatchCount).toBe(0);
    rt.free(a, b, c);
  });
});
