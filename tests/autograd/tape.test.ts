import { describe, expect } from 'vitest';
import * as op from '../../src/autograd/ops';
import { Tape } from '../../src/autograd/tape';
import type { Tensor } from '../../src/gpu';
import * as refAttn from '../../src/reference/attention';
import * as refCe from '../../src/reference/crossentropy';
import * as refDrop from '../../src/reference/dropout';
import * as refGelu from '../../src/reference/gelu';
import * as refLn from '../../src/reference/layernorm';
import * as refLp from '../../src/reference/logprob';
import * as refMm from '../../src/reference/matmul';
import { gpuTest } from '../helpers/gpu';
import { integers, normal, uniform } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

/** Errors relative to each gradient's largest entry: small f32 chains (≤ 5 kernels, reductions ≤ 12 terms) stay
 *  under ~1e-6 of it; 1e-5 leaves margin while a missing or doubled contribution is off by O(1) of it. */
function expectGrad(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  const scale = Array.from(want).reduce((s, x) => Math.max(s, Math.abs(x)), 0);
  expect(scale, `${what} is not trivially zero`).toBeGreaterThan(0);
  expectClose(got, want, { atol: 1e-5 * scale, rtol: 0 }, what);
}

describe('autograd tape', () => {
  gpuTest('a tensor used twice gets both contributions (x + x, and attention applied twice)', async ({ rt }) => {
    const dims = { B: 2, T: 5, C: 8, NH: 2 };
    const n = dims.B * dims.T * dims.C;
    const qkvData = normal(3 * n, 1);
    const gData = normal(n, 2);
    const qkvT = rt.upload(qkvData, [dims.B, dims.T, 3 * dims.C], 'qkv');
    const xT = rt.upload(gData, [n], 'x');
    const g = rt.upload(gData, [n], 'seed');
    const step = rt.step('used twice');
    const tape = new Tape(step);
    try {
      const x = tape.input(xT, 'x', { requiresGrad: true });
      const y = op.add(tape, x, x);
      const qkv = tape.input(qkvT, 'qkv', { requiresGrad: true });
      const att = op.add(tape, op.attention(tape, qkv, dims.NH), op.attention(tape, qkv, dims.NH));
      tape.backward([
        { v: y, grad: g },
        { v: att, grad: g.reshape(att.shape) },
      ]);
      const [dx, dqkv] = [step.read(tape.gradOf(x)!), step.read(tape.gradOf(qkv)!)];
      await step.submit();
      expectGrad(await dx, gData.map((v) => 2 * v), 'd(x + x)/dx');
      const fwd = refAttn.attentionForward(qkvData, dims);
      const once = refAttn.attentionBackward(qkvData, fwd.att, gData, dims);
      expectGrad(await dqkv, once.map((v) => 2 * v), 'dqkv of attention used twice');
    } finally {
      tape.dispose();
      rt.free(qkvT, xT, g);
    }
  });

  gpuTest('layernorm → linear+GELU → tied-style matmulᵀ → logprob and cross-entropy: every gradient', async ({ rt }) => {
    const [N, C, H, V] = [6, 8, 12, 7];
    const x = normal(N * C, 10);
    const lnw = uniform(C, 11, 0.5, 1.5);
    const lnb = normal(C, 12, 0.1);
    const W = normal(C * H, 13, 0.4);
    const bW = normal(H, 14, 0.1);
    const E = normal(V * H, 15, 0.5);
    const tokens = integers(N, V, 16);
    const targets = integers(N, V, 17);
    const weights = Float32Array.from([1, 0, 2, 1, 0.5, 1]);
    const dlp = normal(N, 18);
    const prior = normal(C, 19); // what the ln weight's gradient view held before: contributions add to it
    const gradScale = 1 / 5.5;

    const T: Record<string, Tensor> = {
      x: rt.upload(x, [N, C], 'x'),
      lnw: rt.upload(lnw, [C], 'lnw'),
      lnwGrad: rt.upload(prior, [C], 'lnw grad'),
      lnb: rt.upload(lnb, [C], 'lnb'),
      W: rt.upload(W, [C, H], 'W'),
      WGrad: rt.upload(new Float32Array(C * H), [C, H], 'W grad'),
      bW: rt.upload(bW, [H], 'bW'),
      bWGrad: rt.upload(new Float32Array(H), [H], 'bW grad'),
      E: rt.upload(E, [V, H], 'E'),
      EGrad: rt.upload(new Float32Array(V * H), [V, H], 'E grad'),
      tokens: rt.upload(tokens, [N], 'tokens', 'u32'),
      targets: rt.upload(targets, [N], 'targets', 'u32'),
      weights: rt.upload(weights, [N], 'weights'),
      dlp: rt.upload(dlp, [N], 'dlogprobs'),
    };
    const step = rt.step('chain');
    const tape = new Tape(step);
    try {
      const vx = tape.input(T.x, 'x', { requiresGrad: true });
      const vlnw = tape.param(T.lnw, T.lnwGrad, 'lnw');
      const vlnb = tape.input(T.lnb, 'lnb', { requiresGrad: true }); // mixed with a parameter: zero-fill path
      const h = op.layernorm(tape, vx, vlnw, vlnb);
      const z = op.linear(tape, h, tape.param(T.W, T.WGrad, 'W'), tape.param(T.bW, T.bWGrad, 'bW'), { gelu: true });
      const logits = op.matmul(tape, z, tape.param(T.E, T.EGrad, 'E'), { transB: true });
      const lp = op.logprob(tape, logits, T.tokens);
      op.crossEntropy(tape, logits, T.targets, T.weights, gradScale);
      tape.backward([{ v: lp, grad: T.dlp }]);
      const reads = [tape.gradOf(vx)!, T.lnwGrad, tape.gradOf(vlnb)!, T.WGrad, T.bWGrad, T.EGrad, lp.tensor].map((t) => step.read(t));
      await step.submit();
      const [gx, glnw, glnb, gW, gbW, gE, glp] = await Promise.all(reads);

      // The same chain on the float64 references, backward by hand.
      const ln = refLn.layernormForward(x, lnw, lnb, N, C);
      const pre = refMm.matmulForward(ln.out, W, bW, { m: N, k: C, n: H });
      const zz = refGelu.geluForward(pre);
      const lg = refMm.matmulForward(zz, E, null, { m: N, k: H, n: V, transB: true });
      expectClose(glp, refLp.logprobForward(lg, tokens, N, V), { atol: 1e-5, rtol: 1e-5 }, 'logprobs');
      const dlogits = refLp.logprobBackward(lg, tokens, dlp, N, V);
      const dce = refCe.crossentropyBackward(lg, targets, weights, gradScale, N, V);
      dlogits.forEach((_, i) => (dlogits[i] += dce[i]));
      const head = refMm.matmulBackward(dlogits, zz, E, { m: N, k: H, n: V, transB: true });
      const dpre = refGelu.geluBackward(pre, head.da);
      const mlp = refMm.matmulBackward(dpre, ln.out, W, { m: N, k: C, n: H });
      const lnb_ = refLn.layernormBackward(mlp.da, x, lnw, ln.mean, ln.rstd, N, C);
      expectGrad(gE, head.db, 'dE (transposed operand)');
      expectGrad(gW, mlp.db, 'dW');
      expectGrad(gbW, mlp.dbias, 'dbias');
      expectGrad(gx, lnb_.dinp, 'dx');
      expectGrad(glnw, lnb_.dweight.map((g, i) => g + prior[i]), 'dlnw (accumulated onto the prior gradient)');
      expectGrad(glnb, lnb_.dbias, 'dlnb');
    } finally {
      tape.dispose();
      rt.free(...Object.values(T));
    }
  });

  gpuTest('dropout: the gradient is the forward mask times the upstream gradient; p = 0 is the identity', async ({ rt }) => {
    const n = 1000;
    const xData = normal(n, 30);
    const gData = normal(n, 31);
    const key = { seed: 3, step: 4, site: 5 };
    const xT = rt.upload(xData, [n], 'x');
    const g = rt.upload(gData, [n], 'seed');
    const step = rt.step('dropout');
    const tape = new Tape(step);
    try {
      const x = tape.input(xT, 'x', { requiresGrad: true });
      expect(op.dropout(tape, x, 0, key)).toBe(x);
      const y = op.dropout(tape, x, 0.25, key);
      tape.backward([{ v: y, grad: g }]);
      const [ry, rdx] = [step.read(y.tensor), step.read(tape.gradOf(x)!)];
      await step.submit();
      expectClose(await ry, refDrop.dropoutForward(xData, 0.25, key), { atol: 0, rtol: 3e-7 }, 'dropout forward');
      expectClose(await rdx, refDrop.dropoutBackward(gData, 0.25, key), { atol: 0, rtol: 3e-7 }, 'dropout gradient');
    } finally {
      tape.dispose();
      rt.free(xT, g);
    }
  });

  gpuTest('forward-only tapes record no backward; identical tapes reuse pooled buffers; misuse is an error', async ({ rt }) => {
    const [N, C] = [4, 8];
    const xT = rt.upload(normal(N * C, 40), [N, C], 'x');
    const w = rt.upload(uniform(C, 41, 0.5, 1.5), [C], 'w');
    const wg = rt.upload(new Float32Array(C), [C], 'w grad');
    const b = rt.upload(new Float32Array(C), [C], 'b');
    const bg = rt.upload(new Float32Array(C), [C], 'b grad');
    const run = async (grad: boolean) => {
      const step = rt.step('tape');
      const tape = new Tape(step, { grad });
      const x = tape.input(xT, 'x');
      let y = x;
      for (let i = 0; i < 4; i++) y = op.add(tape, y, op.layernorm(tape, y, tape.param(w, wg, 'w'), tape.param(b, bg, 'b')));
      if (grad) tape.backward([{ v: y, grad: xT }]);
      const dispatches = step.dispatchCount;
      await step.submit();
      tape.dispose();
      return dispatches;
    };
    try {
      expect(await run(false), 'forward only: 4 × (layernorm + residual)').toBe(8);
      expect(await run(true)).toBeGreaterThan(8);
      const allocations = rt.buffers.stats.allocations;
      await run(true);
      await run(false);
      expect(rt.buffers.stats.allocations, 'no new buffers for a repeated graph').toBe(allocations);

      const step = rt.step('misuse');
      const tape = new Tape(step, { grad: false });
      expect(() => tape.backward()).toThrow(/created with \{ grad: false \}/);
      const t2 = new Tape(step);
      const x = t2.input(xT, 'x', { requiresGrad: true });
      const y = op.layernorm(t2, x, t2.input(w, 'w'), t2.input(b, 'b'));
      t2.backward([{ v: y, grad: xT }]);
      expect(() => t2.backward()).toThrow(/Tape.backward: not allowed after backward\(\)/);
      expect(() => op.layernorm(t2, x, t2.input(w, 'w'), t2.input(b, 'b'))).toThrow(/Tape.alloc: not allowed after backward\(\)/);
      expect(() => t2.param(w, w, 'w')).toThrow(/parameter and gradient share a buffer/);
      tape.dispose();
      t2.dispose();
    } finally {
      rt.free(xT, w, wg, b, bg);
    }
  });
});
