import { describe, expect } from 'vitest';
import { adamwUpdate, type AdamWHyperparams } from '../../src/kernels/adamw';
import { gradNorm, gradNormScratchSize } from '../../src/kernels/gradnorm';
import { type AdamWConfig, type AdamWState, adamwStep } from '../../src/reference/adamw';
import * as refNorm from '../../src/reference/gradnorm';
import { gpuTest } from '../helpers/gpu';
import { normal, uniform } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

/**
 * f32 state against a float64 reference run from the same f32 start. Each step rounds p a few times (≤ ~3 ulp of
 * p, 2e-7·|p|), so five steps stay under 1e-6·|p|; the Adam direction m̂/(√v̂ + eps) is a ratio of f32 values with
 * relative error ~1e-6 (the clip factor's own error included), so it adds ≤ lr·1e-6·(m̂/√v̂ ≤ ~3) absolute.
 * m mixes gradients of both signs, so its error is ~u·|g|-sized in absolute terms rather than relative; v is a
 * sum of positive terms, relative.
 */
const P_TOL = { atol: 1e-7, rtol: 1e-6 };
const M_TOL = { atol: 1e-9, rtol: 1e-5 }; // gradients here are ~0.01
const V_TOL = { atol: 1e-15, rtol: 1e-5 };

const BASE: Omit<AdamWConfig, 'weightDecay'> = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8 };

describe('adamw_update', () => {
  for (const n of [1, 3, 257, 65537]) {
    for (const weightDecay of [0, 0.1]) {
      for (const clipping of [false, true]) {
        gpuTest(`5 steps match the float64 reference, n=${n}, wd=${weightDecay}, clipping ${clipping ? 'active' : 'off'}`, async ({ rt }) => {
          const cfg: AdamWConfig = { ...BASE, weightDecay };
          const steps = 5;
          const gs = Array.from({ length: steps }, (_, t) => normal(n, 100 * n + t, 0.01));
          // Half the smallest gradient norm: every step clips.
          const maxNorm = clipping ? 0.5 * Math.min(...gs.map((g) => refNorm.gradNorm(g, 0)[0])) : 0;
          const p0 = uniform(n, n, -1, 1);
          const params = rt.upload(p0, [n], 'params');
          const grads = rt.tensor([n], 'grads');
          const m = rt.upload(new Float32Array(n), [n], 'm');
          const v = rt.upload(new Float32Array(n), [n], 'v');
          const clip = rt.tensor([2], 'clip');
          const scratch = rt.tensor([gradNormScratchSize(n)], 'scratch');
          let state: AdamWState = { params: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n) };
          for (let t = 1; t <= steps; t++) {
            const g = gs[t - 1];
            rt.write(grads, Float32Array.from(g));
            const step = rt.step(`adamw t=${t}`);
            gradNorm(step, grads, clip, scratch, maxNorm);
            adamwUpdate(step, params, grads, m, v, clip, { ...cfg, t });
            const reads = [params, m, v, clip].map((x) => step.read(x));
            await step.submit();
            const [gp, gm, gv, gc] = await Promise.all(reads);
            const [, scale] = refNorm.gradNorm(g, maxNorm);
            if (clipping) expect(gc[1], `clip factor at t=${t}`).toBeLessThan(0.51);
            else expect(gc[1]).toBe(1);
            state = adamwStep(state.params, g, state.m, state.v, t, cfg, scale);
            expectClose(gp, state.params, P_TOL, `params at t=${t}`);
            expectClose(gm, state.m, M_TOL, `m at t=${t}`);
            expectClose(gv, state.v, V_TOL, `v at t=${t}`);
          }
          rt.free(params, grads, m, v, clip, scratch);
        });
      }
    }
  }

  gpuTest('each step moves a parameter by lr·sign(g) under a constant gradient (m̂/√v̂ = sign g)', async ({ rt }) => {
    const n = 500;
    const lr = 1e-3;
    const g = normal(n, 31);
    const p0 = uniform(n, 32, -1, 1);
    const params = rt.upload(p0, [n], 'params');
    const grads = rt.upload(g, [n], 'grads');
    const m = rt.upload(new Float32Array(n), [n], 'm');
    const v = rt.upload(new Float32Array(n), [n], 'v');
    const clip = rt.upload([0, 1], [2], 'clip');
    let before = Float64Array.from(p0);
    for (let t = 1; t <= 3; t++) {
      const step = rt.step(`adamw sign t=${t}`);
      adamwUpdate(step, params, grads, m, v, clip, { lr, t, weightDecay: 0, eps: 1e-12 });
      const read = step.read(params);
      await step.submit();
      const after = Float64Array.from(await read);
      // |p| < 1, so each stored p is within half an ulp (6e-8) of exact: Δp is lr·sign(g) within ~1.2e-7.
      expectClose(before.map((b, i) => b - after[i]), Float64Array.from(g, (x) => lr * Math.sign(x)), { atol: 1.5e-7, rtol: 0 }, `Δp at t=${t}`);
      before = after;
    }
    rt.free(params, grads, m, v, clip);
  });

  gpuTest('sub-ranges: decay and no-decay groups in one step; elements outside both stay untouched', async ({ rt }) => {
    const n = 1000;
    const decay = { offset: 10, length: 600 };
    const noDecay = { offset: 610, length: 380 };
    const p0 = uniform(n, 41, -1, 1);
    const g = normal(n, 42, 0.01);
    const params = rt.upload(p0, [n], 'params');
    const grads = rt.upload(g, [n], 'grads');
    const m = rt.upload(new Float32Array(n), [n], 'm');
    const v = rt.upload(new Float32Array(n), [n], 'v');
    const clip = rt.upload([0, 1], [2], 'clip');
    const step = rt.step('adamw groups');
    const hp: AdamWHyperparams = { ...BASE, t: 1 };
    adamwUpdate(step, params, grads, m, v, clip, { ...hp, weightDecay: 0.1 }, decay);
    adamwUpdate(step, params, grads, m, v, clip, { ...hp, weightDecay: 0 }, noDecay);
    const [rp, rm] = [step.read(params), step.read(m)];
    await step.submit();
    const [gp, gm] = [await rp, await rm];
    for (const [range, weightDecay] of [[decay, 0.1], [noDecay, 0]] as const) {
      const s = (a: ArrayLike<number>) => Array.prototype.slice.call(a, range.offset, range.offset + range.length) as number[];
      const want = adamwStep(s(p0), s(g), new Float64Array(range.length), new Float64Array(range.length), 1, { ...BASE, weightDecay });
      expectClose(s(gp), want.params, P_TOL, `params in [${range.offset}, +${range.length})`);
    }
    for (const i of [0, 9, 990, 999]) {
      expect(gp[i], `params[${i}] untouched`).toBe(p0[i]);
      expect(gm[i], `m[${i}] untouched`).toBe(0);
    }
    rt.free(params, grads, m, v, clip);
  });

  for (const [what, norm] of [['NaN', NaN], ['+Inf', Infinity], ['-Inf', -Infinity]] as const) {
    gpuTest(`a ${what} gradient norm skips the update: params, m and v keep their values`, async ({ rt }) => {
      const n = 300;
      const p0 = uniform(n, 51, -1, 1);
      const m0 = normal(n, 52, 0.01);
      const v0 = uniform(n, 53, 0, 1e-4);
      const params = rt.upload(p0, [n], 'params');
      const grads = rt.upload(normal(n, 54), [n], 'grads');
      const m = rt.upload(m0, [n], 'm');
      const v = rt.upload(v0, [n], 'v');
      const clip = rt.upload([norm, 1], [2], 'clip');
      const good = rt.upload([1, 1], [2], 'good clip');
      const step = rt.step(`adamw ${what}`);
      adamwUpdate(step, params, grads, m, v, clip, { ...BASE, weightDecay: 0.1, t: 3 });
      const reads = [params, m, v].map((x) => step.read(x));
      await step.submit();
      const [gp, gm, gv] = await Promise.all(reads);
      expect(Array.from(gp), 'params unchanged').toEqual(Array.from(p0));
      expect(Array.from(gm), 'm unchanged').toEqual(Array.from(m0));
      expect(Array.from(gv), 'v unchanged').toEqual(Array.from(v0));
      // The same dispatch with a finite norm does update (the guard is not simply skipping everything).
      const again = rt.step('adamw finite');
      adamwUpdate(again, params, grads, m, v, good, { ...BASE, weightDecay: 0.1, t: 3 });
      const moved = again.read(params);
      await again.submit();
      expect(Array.from(await moved)).not.toEqual(Array.from(p0));
      rt.free(params, grads, m, v, clip, good);
    });
  }

  gpuTest('shape, range and hyperparameter errors name the kernel', async ({ rt }) => {
    const [p, g, m, v] = ['p', 'g', 'm', 'v'].map((l) => rt.tensor([8], l));
    const short = rt.tensor([7], 'short');
    const clip = rt.tensor([2], 'clip');
    const clip1 = rt.tensor([1], 'clip1');
    const step = rt.step('bad');
    const hp = { lr: 1e-3, t: 1 };
    expect(() => adamwUpdate(step, p, short, m, v, clip, hp)).toThrow(/adamw_update: short has 7 elements, expected 8/);
    expect(() => adamwUpdate(step, p, g, m, v, clip1, hp)).toThrow(/adamw_update: clip1 \(\[norm, clip scale\]\) has 1 elements, expected 2/);
    expect(() => adamwUpdate(step, p, g, m, m, clip, hp)).toThrow(/adamw_update: params, grads, m, v and clip must be five different buffers/);
    expect(() => adamwUpdate(step, p, g, m, v, clip, { lr: 1e-3, t: 0 })).toThrow(/adamw_update: step t must be an integer ≥ 1, got 0/);
    expect(() => adamwUpdate(step, p, g, m, v, clip, { ...hp, beta2: 1 })).toThrow(/adamw_update: beta2 must be in \[0, 1\)/);
    expect(() => adamwUpdate(step, p, g, m, v, clip, hp, { offset: 4, length: 5 })).toThrow(/adamw_update: range \[4, 4 \+ 5\) is outside the 8-element arena/);
    expect(step.dispatchCount).toBe(0);
    rt.free(p, g, m, v, short, clip, clip1);
  });
});
