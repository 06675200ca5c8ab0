import { describe, expect } from 'vitest';
import { residualBackward, residualForward } from '../../src/kernels/residual';
import * as ref from '../../src/reference/residual';
import { gpuTest } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

// WGSL's f32 + and × are correctly rounded, so one operation on exact f32 inputs is within half an ulp of the
// float64 value: |err| ≤ 2⁻²⁴·|exact|. Scales 1 and 0.5 make scale·dout exact, leaving a single rounding.
const ONE_ROUNDING = { atol: 0, rtol: 6e-8 };
// Scale 0.1 is rounded to f32 (≤ 2⁻²⁴ relative) and the product is rounded once more.
const TWO_ROUNDINGS = { atol: 0, rtol: 1.2e-7 };

describe('residual', () => {
  for (const n of [1, 17, 256, 257, 65537]) {
    gpuTest(`forward and backward into both branches match the float64 reference, n=${n}`, async ({ rt }) => {
      const a = normal(n, n, 2);
      const b = normal(n, n + 1);
      const dy = normal(n, n + 2);
      const priorA = normal(n, n + 3);
      const priorB = normal(n, n + 4);
      const ta = rt.upload(a, [n], 'a');
      const tb = rt.upload(b, [n], 'b');
      const out = rt.tensor([n], 'out');
      const dout = rt.upload(dy, [n], 'dout');
      const da = rt.upload(priorA, [n], 'da');
      const db = rt.upload(priorB, [n], 'db');
      const step = rt.step('residual');
      residualForward(step, ta, tb, out);
      residualBackward(step, dout, da); // da += dout
      residualBackward(step, dout, db, { scale: 0.5 }); // db += 0.5·dout
      const [y, ga, gb] = [step.read(out), step.read(da), step.read(db)];
      await step.submit();
      expectClose(await y, ref.residualForward(a, b), ONE_ROUNDING, 'residual forward');
      const { da: refDa, db: refDb } = ref.residualBackward(dy);
      expectClose(await ga, refDa.map((g, i) => g + priorA[i]), ONE_ROUNDING, 'residual backward da');
      expectClose(await gb, ref.residualAccumulate(priorB, refDb, 0.5), ONE_ROUNDING, 'residual backward db (scale 0.5)');
      rt.free(ta, tb, out, dout, da, db);
    });
  }

  gpuTest('backward without accumulate overwrites the gradient with scale·dout', async ({ rt }) => {
    const n = 1000;
    const dy = normal(n, 11, 1e4); // large values: the result must not depend on what was in dinp
    const dout = rt.upload(dy, [n], 'dout');
    const dinp = rt.upload(new Float32Array(n).fill(Number.NaN), [n], 'dinp');
    const step = rt.step('residual overwrite');
    residualBackward(step, dout, dinp, { scale: 0.1, accumulate: false });
    const dx = step.read(dinp);
    await step.submit();
    expectClose(await dx, ref.residualAccumulate(new Float64Array(n), dy, 0.1), TWO_ROUNDINGS, 'residual backward overwrite');
    rt.free(dout, dinp);
  });

  gpuTest('shape and aliasing errors name the kernel', async ({ rt }) => {
    const a = rt.tensor([4], 'a');
    const b = rt.tensor([5], 'b');
    const c = rt.tensor([4], 'c');
    const step = rt.step('bad');
    expect(() => residualForward(step, a, b, c)).toThrow(/residual_forward: b has 5 elements, expected 4/);
    expect(() => residualBackward(step, a, b)).toThrow(/residual_backward: b has 5 elements, expected 4/);
    expect(() => residualBackward(step, a, a)).toThrow(/residual_backward: dout and dinp are the same buffer/);
    expect(() => residualBackward(step, a, c, { scale: Number.NaN })).toThrow(/residual_backward: scale must be finite/);
    expect(step.dispatchCount).toBe(0);
    rt.free(a, b, c);
  });
});
