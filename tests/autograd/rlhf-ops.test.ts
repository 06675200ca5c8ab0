import { describe, expect } from 'vitest';
import * as op from '../../src/autograd/ops';
import { Tape } from '../../src/autograd/tape';
import type { Tensor } from '../../src/gpu';
import * as refDpo from '../../src/reference/preference-loss';
import * as refGrpo from '../../src/reference/grpo-loss';
import * as refLp from '../../src/reference/logprob';
import * as refMm from '../../src/reference/matmul';
import * as refPpo from '../../src/reference/ppo-loss';
import * as refRank from '../../src/reference/ranking-loss';
import { gpuTest } from '../helpers/gpu';
import { integers, normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

/** Errors relative to each gradient's largest entry: chains of ≤ 3 f32 kernels with reductions of ≤ 40 terms stay
 *  under ~1e-6 of it; 1e-5 leaves margin while a missing, doubled or mis-scaled contribution is off by O(1). */
function expectGrad(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  const scale = Array.from(want).reduce((s, x) => Math.max(s, Math.abs(x)), 0);
  expect(scale, `${what} is not trivially zero`).toBeGreaterThan(0);
  expectClose(got, want, { atol: 1e-5 * scale, rtol: 0 }, what);
}

const LOSS = { atol: 1e-6, rtol: 1e-5 }; // f32 forward chains vs float64, as in the kernel tests with margin
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0);

describe('RLHF loss ops on the tape', () => {
  gpuTest('logits → logprob → ppoPolicyLoss: d logits is the float64 chain (logprob backward ∘ PPO backward)', async ({ rt }) => {
    const [N, V, clip] = [24, 7, 0.2];
    const x = normal(N * V, 1, 1.5);
    const tokens = integers(N, V, 2);
    const lp = refLp.logprobForward(x, tokens, N, V);
    // Old log-probs a little off the new ones, ratios kept ≥ 1e-3 from 1 ± ε (f32 noise cannot flip a branch).
    const old = Float32Array.from(normal(N, 3, 0.3), (d, n) => lp[n] - d);
    old.forEach((o, n) => {
      const rho = Math.exp(lp[n] - o);
      if (Math.abs(rho - 1 + clip) < 1e-3 || Math.abs(rho - 1 - clip) < 1e-3) old[n] = o - 0.01;
    });
    const A = normal(N, 4);
    const w = Float32Array.from({ length: N }, (_, n) => (n % 6 === 0 ? 0 : 1));
    const gradScale = 1 / sum(w);
    const T: Tensor[] = [
      rt.upload(x, [N, V], 'logits'),
      rt.upload(tokens, [N], 'tokens', 'u32'),
      rt.upload(old, [N], 'oldLogp'),
      rt.upload(A, [N], 'advantages'),
      rt.upload(w, [N], 'weights'),
    ];
    const step = rt.step('ppo policy chain');
    const tape = new Tape(step);
    try {
      const logits = tape.input(T[0], 'logits', { requiresGrad: true });
      const logp = op.logprob(tape, logits, T[1]);
      const { losses, clipped } = op.ppoPolicyLoss(tape, logp, T[2], T[3], T[4], clip, gradScale);
      // The group kernel's clippedLow and clippedHigh rows: a token is in at most one, so Σ is the clip count.
      expect(clipped.shape).toEqual([2, N]);
      tape.backward();
      const reads = [tape.gradOf(logits)!, losses, clipped].map((t) => step.read(t));
      await step.submit();
      const [dlogits, l, rows] = await Promise.all(reads);
      const c = Float32Array.from({ length: N }, (_, n) => rows[n] + rows[N + n]);
      const want = refPpo.ppoPolicyLossForward(lp, old, A, w, clip);
      expectClose(l, want.losses, LOSS, 'policy losses');
      expect(Array.from(c)).toEqual(Array.from(want.clipped));
      // Low side: ρ < 1 − ε with A < 0; high side: ρ > 1 + ε with A > 0.
      for (let n = 0; n < N; n++) {
        if (rows[n] !== 0) expect(Math.exp(lp[n] - old[n]) < 1 - clip && A[n] < 0, `token ${n} clipped low`).toBe(true);
        if (rows[N + n] !== 0) expect(Math.exp(lp[n] - old[n]) > 1 + clip && A[n] > 0, `token ${n} clipped high`).toBe(true);
      }
      expect(sum(c), 'some tokens clipped, some not').toBeGreaterThan(1);
      expect(sum(c)).toBeLessThan(N / 2);
      const dlogp = refPpo.ppoPolicyLossBackward(lp, old, A, w, clip, gradScale);
      expectGrad(dlogits, refLp.logprobBackward(x, tokens, dlogp, N, V), 'd logits');
    } finally {
      tape.dispose();
      rt.free(...T);
    }
  });

  for (const beta of [0, 0.04]) {
    gpuTest(`logits → logprob → groupPolicyLoss (ε_low 0.2, ε_high 0.28, β = ${beta}): d logits is the float64 chain`, async ({ rt }) => {
      const [N, V] = [30, 7];
      const s = { epsLow: 0.2, epsHigh: 0.28, beta };
      const x = normal(N * V, 40, 1.5);
      const tokens = integers(N, V, 41);
      const lp = refLp.logprobForward(x, tokens, N, V);
      // Old log-probs off the new ones, ratios kept ≥ 1e-3 from the kinks 1 − ε_low and 1 + ε_high.
      const old = Float32Array.from(normal(N, 42, 0.3), (d, n) => lp[n] - d);
      old.forEach((o, n) => {
        const rho = Math.exp(lp[n] - o);
        if (Math.abs(rho - 1 + s.epsLow) < 1e-3 || Math.abs(rho - 1 - s.epsHigh) < 1e-3) old[n] = o - 0.01;
      });
      const refLogp = Float32Array.from(normal(N, 43, 0.5), (e, n) => lp[n] + e);
      // Five sequences of six positions; each sequence's advantage on its tokens; weights: the grpo aggregation's.
      const perSequence = normal(5, 44);
      const A = Float32Array.from({ length: N }, (_, n) => perSequence[Math.floor(n / 6)]);
      const w = Float32Array.from({ length: N }, (_, n) => (n % 6 < 2 ? 0 : 1 / (4 * 5)));
      const T: Tensor[] = [
        rt.upload(x, [N, V], 'logits'),
        rt.upload(tokens, [N], 'tokens', 'u32'),
        rt.upload(old, [N], 'oldLogp'),
        rt.upload(refLogp, [N], 'refLogp'),
        rt.upload(A, [N], 'advantages'),
        rt.upload(w, [N], 'weights'),
      ];
      const step = rt.step('group policy chain');
      const tape = new Tape(step);
      try {
        const logits = tape.input(T[0], 'logits', { requiresGrad: true });
        const logp = op.logprob(tape, logits, T[1]);
        const { losses, stats } = op.groupPolicyLoss(tape, logp, T[2], beta === 0 ? undefined : T[3], T[4], T[5], s, 1);
        expect(stats.shape).toEqual([3, N]);
        tape.backward();
        const reads = [tape.gradOf(logits)!, losses, stats].map((t) => step.read(t));
        await step.submit();
        const [dlogits, l, st] = await Promise.all(reads);
        const want = refGrpo.grpoLossForward(lp, old, refLogp, A, w, s);
        expectClose(l, want.losses, LOSS, 'group losses');
        expect(Array.from(st.subarray(0, N))).toEqual(Array.from(want.clippedLow, Math.fround));
        expect(Array.from(st.subarray(N, 2 * N))).toEqual(Array.from(want.clippedHigh, Math.fround));
        expectClose(st.subarray(2 * N), want.kl, LOSS, 'kl row');
        expect(sum(st.subarray(0, 2 * N)), 'some tokens clipped').toBeGreaterThan(0);
        const dlogp = refGrpo.grpoLossBackward(lp, old, refLogp, A, w, s, 1);
        expectGrad(dlogits, refLp.logprobBackward(x, tokens, dlogp, N, V), 'd logits');
      } finally {
        tape.dispose();
        rt.free(...T);
      }
    });
  }

  gpuTest('groupPolicyLoss on-policy (oldLogp = logp itself): ρ = 1, nothing clips, d logp = −A·w', async ({ rt }) => {
    const [N, V] = [12, 5];
    const x = normal(N * V, 50, 1.5);
    const tokens = integers(N, V, 51);
    const A = normal(N, 52, 3); // |A| large enough that any ρ ≠ 1 outside the clip range would clip
    const w = new Float32Array(N).fill(0.25);
    const T: Tensor[] = [rt.upload(x, [N, V], 'logits'), rt.upload(tokens, [N], 'tokens', 'u32'), rt.upload(A, [N], 'advantages'), rt.upload(w, [N], 'weights')];
    const step = rt.step('on-policy group chain');
    const tape = new Tape(step);
    try {
      const logits = tape.input(T[0], 'logits', { requiresGrad: true });
      const logp = op.logprob(tape, logits, T[1]);
      const { losses, stats } = op.groupPolicyLoss(tape, logp, logp.tensor, undefined, T[2], T[3], { epsLow: 0.2, epsHigh: 0.28, beta: 0 }, 1);
      expect(() => op.groupPolicyLoss(tape, logp, logp.tensor, undefined, T[2], T[3], { epsLow: 0.2, epsHigh: 0.28, beta: 0.1 }, 1)).toThrow(/β = 0.1 needs the reference/);
      tape.backward();
      const reads = [tape.gradOf(logits)!, losses, stats].map((t) => step.read(t));
      await step.submit();
      const [dlogits, l, st] = await Promise.all(reads);
      expectClose(l, Float64Array.from(A, (a, n) => -a * w[n]), LOSS, 'losses = −A·w at ρ = 1');
      expect(st.every((v) => v === 0)).toBe(true);
      const dlogp = Float64Array.from(A, (a, n) => -a * w[n]);
      expectGrad(dlogits, refLp.logprobBackward(x, tokens, dlogp, N, V), 'd logits');
    } finally {
      tape.dispose();
      rt.free(...T);
    }
  });

  gpuTest('logits → logprob → rlooPolicyLoss: d logits is REINFORCE’s −A_b·Σₜ log π chain (weights 1/B)', async ({ rt }) => {
    const [B, Tn, V] = [4, 5, 6];
    const N = B * Tn;
    const x = normal(N * V, 60, 1.5);
    const tokens = integers(N, V, 61);
    const mask = Float32Array.from({ length: N }, (_, n) => (n % Tn >= 1 + (Math.floor(n / Tn) % 2) ? 1 : 0));
    const perSequence = normal(B, 62);
    const A = Float32Array.from({ length: N }, (_, n) => perSequence[Math.floor(n / Tn)]);
    const w = Float32Array.from(mask, (m) => m / B);
    const T: Tensor[] = [rt.upload(x, [N, V], 'logits'), rt.upload(tokens, [N], 'tokens', 'u32'), rt.upload(A, [N], 'advantages'), rt.upload(w, [N], 'weights')];
    const step = rt.step('rloo chain');
    const tape = new Tape(step);
    try {
      const logits = tape.input(T[0], 'logits', { requiresGrad: true });
      const logp = op.logprob(tape, logits, T[1]);
      const losses = op.rlooPolicyLoss(tape, logp, T[2], T[3], 1);
      tape.backward();
      const reads = [tape.gradOf(logits)!, losses].map((t) => step.read(t));
      await step.submit();
      const [dlogits, l] = await Promise.all(reads);
      expectClose(l, Float64Array.from(A, (a, n) => -a * w[n]), LOSS, 'losses = −A·w');
      // The objective (1/B)·Σ_b −A_b·Σₜ log π: the independent reference's gradient over B.
      const dlogp = refGrpo.rlooLossBackward(mask, perSequence).map((v) => v / B);
      expectGrad(dlogits, refLp.logprobBackward(x, tokens, dlogp, N, V), 'd logits');
    } finally {
      tape.dispose();
      rt.free(...T);
    }
  });

  gpuTest('hidden (B,T,C) → linear value head (C→1) → ppoValueLoss: the head gradients are the float64 ones', async ({ rt }) => {
    const [B, Tn, C, clip] = [3, 5, 8, 0.2];
    const N = B * Tn;
    const h = normal(N * C, 10);
    const W = normal(C, 11, 0.5);
    const bias = Float32Array.of(0.3);
    const v = refMm.matmulForward(h, W, bias, { m: N, k: C, n: 1 });
    const oldV = Float32Array.from(normal(N, 12, 0.3), (d, n) => v[n] - d);
    oldV.forEach((o, n) => {
      if (Math.abs(Math.abs(v[n] - o) - clip) < 1e-3) oldV[n] = o - 0.01; // f32 noise in v cannot flip a branch
    });
    const R = normal(N, 13);
    R.forEach((r, n) => {
      const vc = oldV[n] + Math.min(Math.max(v[n] - oldV[n], -clip), clip);
      if (Math.abs(Math.abs(v[n] - r) - Math.abs(vc - r)) < 1e-3) R[n] = r + 0.05;
    });
    const w = Float32Array.from({ length: N }, (_, n) => (n % Tn < 2 ? 0 : 1)); // the first 2 positions: prompt
    const gradScale = 1 / sum(w);
    const T: Record<string, Tensor> = {
      h: rt.upload(h, [B, Tn, C], 'hidden'),
      W: rt.upload(W, [C, 1], 'W'),
      WGrad: rt.upload(new Float32Array(C), [C, 1], 'W grad'),
      b: rt.upload(bias, [1], 'b'),
      bGrad: rt.upload(new Float32Array(1), [1], 'b grad'),
      oldV: rt.upload(oldV, [N], 'oldValues'),
      R: rt.upload(R, [N], 'returns'),
      w: rt.upload(w, [N], 'weights'),
    };
    const step = rt.step('value head chain');
    const tape = new Tape(step);
    try {
      const values = op.linear(tape, tape.input(T.h, 'hidden'), tape.param(T.W, T.WGrad, 'W'), tape.param(T.b, T.bGrad, 'b'));
      expect(values.shape).toEqual([B, Tn, 1]);
      const { losses, clipped } = op.ppoValueLoss(tape, values, T.oldV, T.R, T.w, clip, gradScale);
      tape.backward();
      const reads = [T.WGrad, T.bGrad, losses, clipped].map((t) => step.read(t));
      await step.submit();
      const [dW, db, l, c] = await Promise.all(reads);
      const want = refPpo.ppoValueLossForward(v, oldV, R, w, clip);
      expectClose(l, want.losses, LOSS, 'value losses');
      expect(Array.from(c)).toEqual(Array.from(want.clipped));
      expect(sum(c), 'some tokens clipped').toBeGreaterThan(0);
      const dv = refPpo.ppoValueLossBackward(v, oldV, R, w, clip, gradScale);
      const head = refMm.matmulBackward(dv, h, W, { m: N, k: C, n: 1 });
      expectGrad(dW, head.db, 'dW (value head)');
      expectGrad(db, head.dbias, 'dbias (value head)');
    } finally {
      tape.dispose();
      rt.free(...Object.values(T));
    }
  });

  gpuTest('hidden (B,T,C) → linear reward head (C→1) → rankingLoss: the head gradients are the float64 ones', async ({ rt }) => {
    const sizes = [4, 2, 3]; // K per prompt
    const offsets = Uint32Array.from([0, 4, 6, 9]);
    const [B, Tn, C] = [9, 5, 8];
    const G = sizes.length;
    const h = normal(B * Tn * C, 20);
    const W = normal(C, 21, 0.5);
    const last = integers(B, Tn, 22);
    const scores = refMm.matmulForward(h, W, null, { m: B * Tn, k: C, n: 1 });
    const T: Record<string, Tensor> = {
      h: rt.upload(h, [B, Tn, C], 'hidden'),
      W: rt.upload(W, [C, 1], 'W'),
      WGrad: rt.upload(new Float32Array(C), [C, 1], 'W grad'),
      last: rt.upload(last, [B], 'last', 'u32'),
      offsets: rt.upload(offsets, [G + 1], 'offsets', 'u32'),
    };
    const step = rt.step('reward head chain');
    const tape = new Tape(step);
    try {
      const hidden = tape.input(T.h, 'hidden', { requiresGrad: true });
      const s = op.linear(tape, hidden, tape.param(T.W, T.WGrad, 'W'));
      const losses = op.rankingLoss(tape, s, T.last as Tensor<'u32'>, T.offsets as Tensor<'u32'>, 1 / G);
      expect(losses.shape).toEqual([G]);
      tape.backward();
      const reads = [T.WGrad, tape.gradOf(hidden)!, losses].map((t) => step.read(t));
      await step.submit();
      const [dW, dh, l] = await Promise.all(reads);
      expectClose(l, refRank.rankingLossForward(scores, last, offsets, Tn), LOSS, 'ranking losses');
      const ds = refRank.rankingLossBackward(scores, last, offsets, 1 / G, B, Tn);
      const head = refMm.matmulBackward(ds, h, W, { m: B * Tn, k: C, n: 1 });
      expectGrad(dW, head.db, 'dW (reward head)');
      expectGrad(dh, head.da, 'd hidden (only the last positions)');
    } finally {
      tape.dispose();
      rt.free(...Object.values(T));
    }
  });

  for (const loss of ['sigmoid', 'ipo'] as const) {
    gpuTest(`logits → logprob → preferenceLoss (${loss}): d logits is the float64 chain (logprob backward ∘ DPO backward)`, async ({ rt }) => {
      const offsets = Uint32Array.from([0, 3, 5, 9]); // K = 3, 2, 4
      const [B, Tn, V, beta] = [9, 6, 7, 0.5];
      const [G, N] = [offsets.length - 1, B * Tn];
      const x = normal(N * V, 30, 1.5);
      const tokens = integers(N, V, 31);
      const lp = refLp.logprobForward(x, tokens, N, V);
      const refLogp = Float32Array.from(normal(N, 32, 0.3), (d, n) => lp[n] - d);
      // Row b's response: positions 1 + b % 2 .. Tn − 1 − b % 3 (a prompt before it, padding after).
      const w = Float32Array.from({ length: N }, (_, n) => {
        const [b, t] = [Math.floor(n / Tn), n % Tn];
        return t >= 1 + (b % 2) && t < Tn - (b % 3) ? 1 : 0;
      });
      const T: Tensor[] = [
        rt.upload(x, [N, V], 'logits'),
        rt.upload(tokens, [N], 'tokens', 'u32'),
        rt.upload(refLogp, [N], 'refLogp'),
        rt.upload(w, [B, Tn], 'weights'),
        rt.upload(offsets, [G + 1], 'offsets', 'u32'),
      ];
      const step = rt.step('dpo chain');
      const tape = new Tape(step);
      try {
        const logits = tape.input(T[0], 'logits', { requiresGrad: true });
        const logp = op.logprob(tape, logits, T[1]);
        const { losses, rewards } = op.preferenceLoss(tape, logp, T[2], T[3], T[4] as Tensor<'u32'>, beta, loss, 1 / G);
        expect([losses.shape, rewards.shape]).toEqual([[G], [B]]);
        tape.backward();
        const reads = [tape.gradOf(logits)!, losses, rewards].map((t) => step.read(t));
        await step.submit();
        const [dlogits, l, r] = await Promise.all(reads);
        const want = refDpo.preferenceLossForward(lp, refLogp, w, offsets, beta, loss, B, Tn);
        expectClose(l, want.losses, LOSS, `${loss} losses`);
        expectClose(r, want.rewards, LOSS, `${loss} rewards`);
        const dlogp = refDpo.preferenceLossBackward(lp, refLogp, w, offsets, beta, loss, 1 / G, B, Tn);
        expectGrad(dlogits, refLp.logprobBackward(x, tokens, dlogp, N, V), 'd logits');
      } finally {
        tape.dispose();
        rt.free(...T);
      }
    });
  }
});
