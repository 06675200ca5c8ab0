import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { ppoPolicyLossForwardBackward, ppoValueLossForwardBackward } from '../../src/kernels/ppo-loss';
import * as ref from '../../src/reference/ppo-loss';
import { gpuTest } from '../helpers/gpu';
import { normal, uniform } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// Policy loss and gradient: ρ = exp(d) with |d| ≲ 1.5 (WGSL allows 3 + 2|d| ulp, ≲ 4e-7 relative; d itself is an
// exact f32 difference here), then two or three f32 products (≤ 2e-7): 2e-6 relative leaves margin, the atol only
// covers products that round to tiny values (A ≈ 0). A wrong branch is off by O(1).
const POLICY: Tolerance = { atol: 1e-7, rtol: 2e-6 };
// d = ±30: exp's allowance grows to 63 ulp (3.8e-6 relative) — the loss ~1e16 is still checked to 1e-5 relative.
const POLICY_HARD: Tolerance = { atol: 1e-7, rtol: 1e-5 };
// Value loss: v − R, v_clip − R (one rounding each) squared or scaled: ≲ 5 ulp, i.e. 3e-7 relative. Values up to
// ±1e3 keep the same relative bound.
const VALUE: Tolerance = { atol: 1e-7, rtol: 1e-6 };

const CLIP = 0.2;

/** Weights: mostly 1, some fractional or above 1, every fifth token (from the fourth on) masked. */
function maskWeights(N: number): Float32Array {
  return Float32Array.from({ length: N }, (_, n) => (n % 5 === 3 ? 0 : n % 4 === 0 ? 0.5 : n % 7 === 0 ? 2 : 1));
}

/** logp, oldLogp with ρ = e^(logp − oldLogp) spread over [0.4, 2.5] but ≥ 1e-3 away from 1 ± ε (no kink ties). */
function policyInputs(N: number, seed: number) {
  const oldLogp = Float32Array.from(normal(N, seed, 1), (x) => x - 3);
  const logp = Float32Array.from(normal(N, seed + 1, 0.3), (d, n) => oldLogp[n] + d);
  logp.forEach((x, n) => {
    const rho = Math.exp(x - oldLogp[n]);
    if (Math.abs(rho - (1 - CLIP)) < 1e-3 || Math.abs(rho - (1 + CLIP)) < 1e-3) logp[n] = x + 0.01;
  });
  return { logp, oldLogp, advantages: normal(N, seed + 2) };
}

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

type Kind = 'policy' | 'value';

/** Runs one fused PPO kernel on [a, b, c, w] (logp/oldLogp/advantages or values/oldValues/returns). */
async function runKernel(rt: GpuRuntime, kind: Kind, inputs: Float32Array[], w: Float32Array, gradScale: number) {
  const N = w.length;
  const names = kind === 'policy' ? ['logp', 'oldLogp', 'advantages'] : ['values', 'oldValues', 'returns'];
  const ins = inputs.map((x, i) => rt.upload(x, [N], names[i]));
  const weights = rt.upload(w, [N], 'weights');
  // Garbage in the outputs: every element must be written.
  const [losses, grad, clipped] = ['losses', 'grad', 'clipped'].map((l) => rt.upload(new Float32Array(N).fill(NaN), [N], l));
  const step = rt.step(kind);
  const launch = kind === 'policy' ? ppoPolicyLossForwardBackward : ppoValueLossForwardBackward;
  launch(step, ins[0], ins[1], ins[2], weights, losses, grad, clipped, CLIP, gradScale);
  const reads = [losses, grad, clipped].map((t) => step.read(t));
  await step.submit();
  const [l, g, c] = (await Promise.all(reads)) as Float32Array[];
  rt.free(...ins, weights, losses, grad, clipped);
  return { losses: l, grad: g, clipped: c };
}

function expectMaskedZero(out: { losses: Float32Array; grad: Float32Array; clipped: Float32Array }, w: ArrayLike<number>, what: string) {
  for (let n = 0; n < w.length; n++) {
    if (w[n] !== 0) continue;
    expect([out.losses[n], out.grad[n], out.clipped[n]], `${what}: masked token ${n}`).toEqual([0, 0, 0]);
  }
}

describe('ppo_policy_loss_forward_backward', () => {
  for (const N of [1, 7, 257, 1000]) {
    gpuTest(`losses, dlogp and clipped match the float64 reference, N=${N}`, async ({ rt }) => {
      const { logp, oldLogp, advantages } = policyInputs(N, N);
      const w = N === 1 ? Float32Array.of(1) : maskWeights(N);
      const gradScale = 1 / w.reduce((a, b) => a + b, 0);
      const out = await runKernel(rt, 'policy', [logp, oldLogp, advantages], w, gradScale);
      const want = ref.ppoPolicyLossForward(logp, oldLogp, advantages, w, CLIP);
      expectClose(out.losses, want.losses, POLICY, 'policy losses');
      expectClose(out.grad, ref.ppoPolicyLossBackward(logp, oldLogp, advantages, w, CLIP, gradScale), POLICY, 'dlogp');
      expect(Array.from(out.clipped), 'clipped').toEqual(Array.from(want.clipped));
      expectMaskedZero(out, w, 'policy');
      if (N >= 257) {
        const frac = want.clipped.filter((c) => c > 0).length / N;
        expect(frac, 'both branches are exercised').toBeGreaterThan(0.1);
        expect(frac).toBeLessThan(0.6);
      }
    });
  }

  gpuTest('hard inputs: advantages ±1e3 with logp − oldLogp = ±30, masked tokens with non-finite inputs', async ({ rt }) => {
    // Every combination of d ∈ {−30, +30} and A ∈ {−1e3, +1e3}, at weights 1 and 0, plus masked NaN/Inf rows.
    const ds = [30, 30, -30, -30, 30, -30, 0.1, 0.1];
    const As = [1e3, -1e3, 1e3, -1e3, -1e3, 1e3, NaN, 1];
    const oldLogp = Float32Array.from(ds, (d) => (d > 0 ? -40 : -5));
    const logp = Float32Array.from(ds, (d, n) => oldLogp[n] + d);
    logp[7] = Infinity;
    const advantages = Float32Array.from(As);
    const w = Float32Array.from([1, 1, 1, 1, 0, 0, 0, 0]);
    const gradScale = 0.25;
    const out = await runKernel(rt, 'policy', [logp, oldLogp, advantages], w, gradScale);
    const want = ref.ppoPolicyLossForward(logp, oldLogp, advantages, w, CLIP);
    expectClose(out.losses, want.losses, POLICY_HARD, 'policy losses (hard)');
    expectClose(out.grad, ref.ppoPolicyLossBackward(logp, oldLogp, advantages, w, CLIP, gradScale), POLICY_HARD, 'dlogp (hard)');
    expectFinite(out.losses, 'policy losses (hard)');
    expectFinite(out.grad, 'dlogp (hard)');
    // Exactly what happens: A > 0 with ρ = e^30 is clipped (loss −1.2e3, gradient 0); A < 0 with ρ = e^30 is not
    // (loss 1e3·e^30 ≈ 1.07e16, a huge but finite gradient ≈ 2.67e15); A < 0 with ρ = e^−30 is clipped (loss 800).
    expect(Array.from(out.clipped)).toEqual([1, 0, 0, 1, 0, 0, 0, 0]);
    expect(out.losses[0]).toBeCloseTo(-1200, 3);
    expect(out.grad[0]).toBe(0);
    expect(out.losses[1]).toBeGreaterThan(1e16);
    expect(out.losses[3]).toBeCloseTo(800, 3);
    expect(out.grad[3]).toBe(0);
    expectMaskedZero(out, w, 'policy (hard)');
  });

  gpuTest('a ratio past f32 (logp − oldLogp = ±100) saturates at e^88 instead of overflowing; A = 0 gives 0', async ({ rt }) => {
    const ds = [100, 100, 100, -100, -100, 95, 89, 100];
    const As = [-1e3, 1e3, 0, 1e3, -1e3, -1e-30, -1e-30, -1e3];
    const oldLogp = Float32Array.from(ds, (d) => (d > 0 ? -100 : 0));
    const logp = Float32Array.from(ds, (d, n) => oldLogp[n] + d);
    const advantages = Float32Array.from(As);
    const w = Float32Array.from([1, 1, 1, 1, 1, 1, 1, 0]);
    const out = await runKernel(rt, 'policy', [logp, oldLogp, advantages], w, 0.5);
    expectFinite(out.losses, 'saturated losses');
    expectFinite(out.grad, 'saturated dlogp');
    const E88 = Math.exp(88);
    // A = −1e3, ρ = e^100: loss 1e3·e^100 and gradient 500·e^100 both pass f32's range → +e^88 each.
    expectClose([out.losses[0], out.grad[0]], [E88, E88], { atol: 0, rtol: 1e-4 }, 'saturated unclipped branch');
    // A = +1e3, ρ = e^100: clipped; A = 0: nothing; A = +1e3, ρ = e^−100: ≈ −3.7e−41 (or 0 where f32 flushes
    // denormals); A = −1e3, ρ = e^−100: clipped.
    const want = ref.ppoPolicyLossForward(logp, oldLogp, advantages, w, CLIP);
    const dwant = ref.ppoPolicyLossBackward(logp, oldLogp, advantages, w, CLIP, 0.5);
    expectClose(out.losses.subarray(1, 5), want.losses.subarray(1, 5), { atol: 1e-30, rtol: 1e-6 }, 'losses beside the overflow');
    expectClose(out.grad.subarray(1, 5), dwant.subarray(1, 5), { atol: 1e-30, rtol: 1e-6 }, 'dlogp beside the overflow');
    // A tiny A keeps 1e−30·e^95 ≈ 1.8e11 and 1e−30·e^89 ≈ 4.5e8 in range: exact, via logs (exp of ~26 and ~20).
    expectClose(out.losses.subarray(5, 7), want.losses.subarray(5, 7), { atol: 0, rtol: 2e-5 }, 'tiny A, huge ρ');
    expectClose(out.grad.subarray(5, 7), dwant.subarray(5, 7), { atol: 0, rtol: 2e-5 }, 'tiny A, huge ρ gradient');
    expect(Array.from(out.clipped)).toEqual([0, 1, 0, 0, 1, 0, 0, 0]);
    expectMaskedZero(out, w, 'policy (overflow)');
  });

  gpuTest('wrong shapes and scalars are rejected before anything runs', async ({ rt }) => {
    const k = 'ppo_policy_loss_forward_backward';
    const a = rt.tensor([4], 'a');
    const short = rt.tensor([3], 'short');
    const u = rt.tensor([4], 'u32-advantages', 'u32');
    const empty = rt.tensor([0], 'empty');
    const step = rt.step('bad');
    expect(() => ppoPolicyLossForwardBackward(step, a, a, a, short, a, a, a, CLIP, 1)).toThrow(new RegExp(`${k}: short \\(weights \\(N\\)\\) has 3 elements, expected 4`));
    expect(() => ppoPolicyLossForwardBackward(step, a, a, a, a, a, short, a, CLIP, 1)).toThrow(new RegExp(`${k}: short \\(dlogp \\(N\\)\\) has 3 elements`));
    expect(() => ppoPolicyLossForwardBackward(step, a, a, u, a, a, a, a, CLIP, 1)).toThrow(new RegExp(`${k}: u32-advantages must be f32`));
    expect(() => ppoPolicyLossForwardBackward(step, empty, empty, empty, empty, empty, empty, empty, CLIP, 1)).toThrow(new RegExp(`${k}: empty \\(logp\\) is empty`));
    expect(() => ppoPolicyLossForwardBackward(step, a, a, a, a, a, a, a, -0.1, 1)).toThrow(/clip must be a finite number ≥ 0/);
    expect(() => ppoPolicyLossForwardBackward(step, a, a, a, a, a, a, a, CLIP, Infinity)).toThrow(/gradScale must be finite/);
    expect(step.dispatchCount).toBe(0);
    rt.free(a, short, u, empty);
  });
});

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
