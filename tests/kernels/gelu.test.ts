import { describe, expect } from 'vitest';
import { geluBackward, geluForward } from '../../src/kernels/gelu';
import * as ref from '../../src/reference/gelu';
import { gpuTest } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

// f32 tanh on GPUs is accurate to a few ulp; 1e-5 relative plus 1e-6 absolute covers it with margin.
const TOL = { atol: 1e-6, rtol: 1e-5 };

describe('gelu', () => {
  for (const n of [1, 17, 256, 257, 4099]) {
    gpuTest(`forward and backward match the float64 reference, n=${n}`, async ({ rt }) => {
      const x = normal(n, n, 3);
      const dy = normal(n, n + 1);
      const inp = rt.upload(x, [n], 'x');
      const dout = rt.upload(dy, [n], 'dy');
      const out = rt.tensor([n], 'y');
      const dinp = rt.tensor([n], 'dx');
      const step = rt.step('gelu');
      geluForward(step, inp, out);
      geluBackward(step, inp, dout, dinp);
      const [y, dx] = [step.read(out), step.read(dinp)];
      await step.submit();
      expectClose(await y, ref.geluForward(x), TOL, 'gelu forward');
      expectClose(await dx, ref.geluBackward(x, dy), TOL, 'gelu backward');
      rt.free(inp, dout, out, dinp);
    });
  }

  gpuTest('extreme inputs stay finite and saturate (±1e4, 0)', async ({ rt }) => {
    const x = Float32Array.from([-1e4, -30, -5, 0, 5, 30, 1e4]);
    const inp = rt.upload(x, [x.length], 'x');
    const dout = rt.upload(new Float32Array(x.length).fill(1), [x.length], 'dy');
    const out = rt.tensor([x.length], 'y');
    const dinp = rt.tensor([x.length], 'dx');
    const step = rt.step('gelu extremes');
    geluForward(step, inp, out);
    geluBackward(step, inp, dout, dinp);
    const [y, dx] = [step.read(out), step.read(dinp)];
    await step.submit();
    expectClose(await y, ref.geluForward(x), { atol: 1e-5, rtol: 1e-6 }, 'gelu forward extremes');
    expectClose(await dx, ref.geluBackward(x, new Float64Array(x.length).fill(1)), { atol: 1e-5, rtol: 1e-5 }, 'gelu backward extremes');
    rt.free(inp, dout, out, dinp);
  });

  gpuTest('backward accumulates into an existing gradient', async ({ rt }) => {
    const n = 300;
    const x = normal(n, 5);
    const dy = normal(n, 6);
    const prior = normal(n, 7);
    const inp = rt.upload(x, [n], 'x');
    const dout = rt.upload(dy, [n], 'dy');
    const dinp = rt.upload(prior, [n], 'dx');
    const step = rt.step('gelu accumulate');
    geluBackward(step, inp, dout, dinp, true);
    const dx = step.read(dinp);
    await step.submit();
    const expected = ref.geluBackward(x, dy).map((g, i) => g + prior[i]);
    expectClose(await dx, expected, TOL, 'accumulated gelu backward');
    rt.free(inp, dout, dinp);
  });

  gpuTest('mismatched sizes are rejected before anything runs', async ({ rt }) => {
    const a = rt.tensor([4], 'a');
    const b = rt.tensor([5], 'b');
    expect(() => geluForward(rt.step('bad'), a, b)).toThrow(/gelu_forward: b has 5 elements, expected 4/);
    rt.free(a, b);
  });
});
