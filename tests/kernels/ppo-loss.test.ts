import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { ppoValueLossForwardBackward } from '../../src/kernels/ppo-loss';
import * as ref from '../../src/reference/ppo-loss';
import { gpuTest } from '../helpers/gpu';
import { expectMaskedZero, maskWeights } from '../helpers/masked-loss';
import { normal, uniform } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// Value loss: v − R, v_clip − R (one rounding each) squared or scaled: ≲ 5 ulp, i.e. 3e-7 relative. Values up to
// ±1e3 keep the same relative bound.
const VALUE: Tolerance = { atol: 1e-7, rtol: 1e-6 };

const CLIP = 0.2;

/** values, oldValues, returns with |v − oldV| and the two value-loss terms ≥ 1e-3 away from their kinks. */
function valueInputs(N: number, seed: number, scale = 1) {
  const oldValues = normal(N, seed, scale);
  const values = Float32Array.from(normal(N, seed + 1, 0.3), (d, n) => oldValues[n] + d);
  const returns = normal(N, seed + 2, scale);
  for (let n = 0; n < N; n++) {
    const delta = values[n] - oldValues[n];
    if (Math.abs(Math.abs(delta) - CLIP) < 1e-3 * scale) values[n] += 0.01 * Math.max(scale / 10, 1);
    const dd = values[n] - oldValues[n];
    const vc = oldValues[n] + Math.min(Math.max(dd, -CLIP), CLIP);
    if (Math.abs(dd) > CLIP && Math.abs(Math.abs(values[n] - returns[n]) - Math.abs(vc - returns[n])) < 1e-3 * scale) returns[n] += 0.05;
  }
  return { values, oldValues, returns };
}

/** Runs the fused value-loss kernel on [values, oldValues, returns] and w. (PPO's policy loss is the group kernel:
 *  tests/kernels/grpo-loss.test.ts checks it at ε_low = ε_high, β = 0 against src/reference/ppo-loss.ts.) */
async function runKernel(rt: GpuRuntime, kind: 'value', inputs: Float32Array[], w: Float32Array, gradScale: number) {
  const N = w.length;
  const names = ['values', 'oldValues', 'returns'];
  const ins = inputs.map((x, i) => rt.upload(x, [N], names[i]));
  const weights = rt.upload(w, [N], 'weights');
  // Garbage in the outputs: every element must be written.
  const [losses, grad, clipped] = ['losses', 'grad', 'clipped'].map((l) => rt.upload(new Float32Array(N).fill(NaN), [N], l));
  const step = rt.step(kind);
  ppoValueLossForwardBackward(step, ins[0], ins[1], ins[2], weights, losses, grad, clipped, CLIP, gradScale);
  const reads = [losses, grad, clipped].map((t) => step.read(t));
  await step.submit();
  const [l, g, c] = (await Promise.all(reads)) as Float32Array[];
  rt.free(...ins, weights, losses, grad, clipped);
  return { losses: l, grad: g, clipped: c };
}

describe('ppo_value_loss_forward_backward', () => {
  for (const N of [1, 7, 257, 1000]) {
    gpuTest(`losses, dvalues and clipped match the float64 reference, N=${N}`, async ({ rt }) => {
      const { values, oldValues, returns } = valueInputs(N, 10 * N);
      const w = N === 1 ? Float32Array.of(2) : maskWeights(N);
      const gradScale = 1 / w.reduce((a, b) => a + b, 0);
      const out = await runKernel(rt, 'value', [values, oldValues, returns], w, gradScale);
      const want = ref.ppoValueLossForward(values, oldValues, returns, w, CLIP);
      expectClose(out.losses, want.losses, VALUE, 'value losses');
      expectClose(out.grad, ref.ppoValueLossBackward(values, oldValues, returns, w, CLIP, gradScale), VALUE, 'dvalues');
      expect(Array.from(out.clipped), 'clipped').toEqual(Array.from(want.clipped));
      expectMaskedZero(out, w, 'value');
      if (N >= 257) {
        const frac = want.clipped.filter((c) => c > 0).length / N;
        expect(frac, 'both branches are exercised').toBeGreaterThan(0.05);
        expect(frac).toBeLessThan(0.6);
      }
    });
  }

  gpuTest('hard inputs: values and returns ±1e3, masked tokens with non-finite inputs', async ({ rt }) => {
    const N = 64;
    const { values, oldValues, returns } = valueInputs(N, 77, 1e3);
    const w = maskWeights(N);
    values[3] = NaN; // masked (n % 5 === 3)
    returns[8] = Infinity;
    const out = await runKernel(rt, 'value', [values, oldValues, returns], w, 1 / 32);
    const want = ref.ppoValueLossForward(values, oldValues, returns, w, CLIP);
    expectClose(out.losses, want.losses, VALUE, 'value losses (±1e3)');
    expectClose(out.grad, ref.ppoValueLossBackward(values, oldValues, returns, w, CLIP, 1 / 32), VALUE, 'dvalues (±1e3)');
    expect(Array.from(out.clipped)).toEqual(Array.from(want.clipped));
    expectFinite(out.losses, 'value losses (±1e3)');
    expectMaskedZero(out, w, 'value (±1e3)');
  });

  gpuTest('a value that moves by less than ε is never counted as clipped (no rounding of oldV + (v − oldV))', async ({ rt }) => {
    // v − oldV inside (−ε, ε) for values where oldV + (v − oldV) ≠ v in f32: the loss is the unclipped one.
    const oldValues = uniform(300, 5, -100, 100);
    const values = Float32Array.from(uniform(300, 6, -0.19, 0.19), (d, n) => oldValues[n] + d);
    const returns = normal(300, 7, 50);
    const w = new Float32Array(300).fill(1);
    const out = await runKernel(rt, 'value', [values, oldValues, returns], w, 1);
    expect(out.clipped.every((c) => c === 0)).toBe(true);
    expectClose(out.grad, Float64Array.from(values, (v, n) => v - returns[n]), VALUE, 'dvalues = v − R');
  });

  gpuTest('wrong shapes and scalars are rejected before anything runs', async ({ rt }) => {
    const k = 'ppo_value_loss_forward_backward';
    const v = rt.tensor([2, 3, 1], 'values');
    const a = rt.tensor([6], 'a');
    const long = rt.tensor([7], 'long');
    const step = rt.step('bad');
    expect(() => ppoValueLossForwardBackward(step, v, a, long, a, a, a, a, CLIP, 1)).toThrow(new RegExp(`${k}: long \\(returns \\(N\\)\\) has 7 elements, expected 6`));
    expect(() => ppoValueLossForwardBackward(step, v, a, a, a, a, a, long, CLIP, 1)).toThrow(new RegExp(`${k}: long \\(clipped \\(N\\)\\)`));
    expect(() => ppoValueLossForwardBackward(step, v, a, a, a, a, a, a, NaN, 1)).toThrow(/clip must be a finite number ≥ 0/);
    expect(step.dispatchCount).toBe(0);
    rt.free(v, a, long);
  });
});
