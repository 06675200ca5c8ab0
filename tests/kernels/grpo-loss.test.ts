import { describe, expect } from 'vitest';
import type { GpuRuntime, Tensor } from '../../src/gpu';
import { grpoLossForwardBackward, type GrpoLossScalars, rlooLossForwardBackward } from '../../src/kernels/grpo-loss';
import * as ref from '../../src/reference/grpo-loss';
import * as refPpo from '../../src/reference/ppo-loss';
import { aggregationWeights, type LossAggregation } from '../../src/rlhf/loss-aggregation';
import { seededRandom } from '../../src/model/data';
import { gpuTest } from '../helpers/gpu';
import { expectMaskedZero as expectPpoMaskedZero, maskWeights } from '../helpers/masked-loss';
import { normal } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// Each output is a sum of a surrogate term and a KL term that may cancel, so errors are bounded relative to the sum
// of their magnitudes (expectClose's `scale`). Surrogate: ρ = exp(d), |d| ≲ 1.5 (WGSL allows 3 + 2|d| ulp, ≲ 4e-7;
// d is an exact f32 difference here), then two or three products: ≲ 1e-6, as for PPO. KL: on |e| ≤ 1 a 12-step
// Horner series (≲ 24 roundings on terms at most twice k3: ≲ 3e-6 worst case); above 1, exp(e) (3 + 2e ulp) minus
// e + 1 cancels at most 3.8× (≲ 2.3e-6); below −1 a sum of positives. 5e-6 covers every bound; a wrong branch or
// sign is off by O(1). The atol only allows for denormals, which some GPUs flush to 0.
const GRPO: Tolerance = { atol: 1e-30, rtol: 5e-6 };
// d = ±30 and e = ±30: exp's allowance grows to 63 ulp (3.8e-6 relative), the KL's cancellation is nil there.
const GRPO_HARD: Tolerance = { atol: 1e-30, rtol: 1e-5 };
// RLOO: dlogp = w·|A·gradScale|·exp(0) and losses = w·|A|: two roundings of a product (2.4e-7).
const RLOO: Tolerance = { atol: 0, rtol: 5e-7 };

const EPS_LOW = 0.2;
const EPS_HIGH = 0.28;

interface Batch {
  B: number;
  T: number;
  mask: Float32Array;
}

/**
 * B rows of T positions, each a prompt then a response (the packed layout of src/rlhf/sequences.ts): the first rows
 * have responses of 0 tokens, all T, and 1 token; the rest random prompt and response lengths.
 */
function raggedBatch(B: number, T: number, seed: number): Batch {
  const random = seededRandom(seed);
  const mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const prompt = b === 1 ? 0 : Math.floor(random() * T);
    const length = b === 0 && B > 1 ? 0 : b === 1 ? T : b === 2 ? 1 : Math.floor(random() * (T - prompt + 1));
    mask.fill(1, b * T + prompt, b * T + prompt + length);
  }
  return { B, T, mask };
}

/** logp, oldLogp with ρ = e^(logp − oldLogp) over ~[0.4, 2.5] and ≥ 1e-3 from the kinks 1 − epsLow, 1 + epsHigh (no kink ties). */
function ratioInputs(N: number, seed: number, epsLow: number, epsHigh: number) {
  const oldLogp = Float32Array.from(normal(N, seed, 1), (x) => x - 3);
  const logp = Float32Array.from(normal(N, seed + 1, 0.3), (d, n) => oldLogp[n] + d);
  logp.forEach((x, n) => {
    const rho = Math.exp(x - oldLogp[n]);
    if (Math.abs(rho - (1 - epsLow)) < 1e-3 || Math.abs(rho - (1 + epsHigh)) < 1e-3) logp[n] = x + 0.01;
  });
  return { logp, oldLogp };
}

/**
 * logp, oldLogp as ratioInputs at ε_low, ε_high; refLogp = logp + e with e ~ N(0, 0.8²) (all three k3 branches:
 * e < −1, |e| ≤ 1, e > 1); each sequence's advantage on its tokens. Tokens outside responses hold NaN in every
 * input: reading one would show.
 */
function tokenInputs(batch: Batch, seed: number) {
  const N = batch.B * batch.T;
  const { logp, oldLogp } = ratioInputs(N, seed, EPS_LOW, EPS_HIGH);
  const refLogp = Float32Array.from(normal(N, seed + 2, 0.8), (e, n) => logp[n] + e);
  const perSequence = normal(batch.B, seed + 3);
  const advantages = Float32Array.from(batch.mask, (_, n) => perSequence[Math.floor(n / batch.T)]);
  for (const x of [oldLogp, logp, refLogp, advantages]) batch.mask.forEach((m, n) => m === 0 && (x[n] = NaN));
  return { logp, oldLogp, refLogp, advantages };
}

interface Out {
  losses: Float32Array;
  dlogp: Float32Array;
  clippedLow: Float32Array;
  clippedHigh: Float32Array;
  kl: Float32Array;
}

/** Runs the GRPO kernel (refLogp as given: an array to upload, or 'logp' to bind logp itself). */
async function runGrpo(
  rt: GpuRuntime,
  x: { logp: Float32Array; oldLogp: Float32Array; refLogp: Float32Array | 'logp'; advantages: Float32Array },
  w: Float32Array,
  scalars: GrpoLossScalars,
): Promise<Out> {
  const N = w.length;
  const logp = rt.upload(x.logp, [N], 'logp');
  const oldLogp = rt.upload(x.oldLogp, [N], 'oldLogp');
  const refLogp = x.refLogp === 'logp' ? logp : rt.upload(x.refLogp, [x.refLogp.length], 'refLogp');
  const advantages = rt.upload(x.advantages, [N], 'advantages');
  const weights = rt.upload(w, [N], 'weights');
  // Garbage in the outputs: every element must be written.
  const losses = rt.upload(new Float32Array(N).fill(NaN), [N], 'losses');
  const dlogp = rt.upload(new Float32Array(N).fill(NaN), [N], 'dlogp');
  const stats = rt.upload(new Float32Array(3 * N).fill(NaN), [3, N], 'stats');
  const step = rt.step('grpo');
  grpoLossForwardBackward(step, logp, oldLogp, refLogp, advantages, weights, losses, dlogp, stats, scalars);
  const reads = [losses, dlogp, stats].map((t) => step.read(t));
  await step.submit();
  const [l, g, s] = (await Promise.all(reads)) as Float32Array[];
  const inputs: Tensor[] = [logp, oldLogp, advantages, weights, ...(refLogp === logp ? [] : [refLogp])];
  rt.free(...inputs, losses, dlogp, stats);
  return { losses: l, dlogp: g, clippedLow: s.subarray(0, N), clippedHigh: s.subarray(N, 2 * N), kl: s.subarray(2 * N) };
}

function expectMaskedZero(out: Out, w: ArrayLike<number>, what: string) {
  for (let n = 0; n < w.length; n++) {
    if (w[n] !== 0) continue;
    const got = [out.losses[n], out.dlogp[n], out.clippedLow[n], out.clippedHigh[n], out.kl[n]];
    expect(got, `${what}: weight-0 token ${n}`).toEqual([0, 0, 0, 0, 0]);
  }
}

/** The kernel's five outputs against the float64 reference, each sum checked relative to its terms' magnitudes. */
type Inputs = [logp: ArrayLike<number>, oldLogp: ArrayLike<number>, refLogp: ArrayLike<number>, advantages: ArrayLike<number>, weights: ArrayLike<number>];

function expectReference(out: Out, x: Inputs, s: ref.GrpoScalars, gradScale: number, tol: Tolerance, what: string) {
  const [logp, oldLogp, refLogp, A, w] = x;
  const want = ref.grpoLossForward(logp, oldLogp, refLogp, A, w, s);
  const dwant = ref.grpoLossBackward(logp, oldLogp, refLogp, A, w, s, gradScale);
  // The two terms of each sum separately: the surrogate (β = 0) and the KL (A = 0).
  const zeroA = new Float64Array(A.length);
  const surrogate = ref.grpoLossForward(logp, oldLogp, refLogp, A, w, { ...s, beta: 0 }).losses;
  const klTerm = ref.grpoLossForward(logp, oldLogp, refLogp, zeroA, w, s).losses;
  const dsurrogate = ref.grpoLossBackward(logp, oldLogp, refLogp, A, w, { ...s, beta: 0 }, gradScale);
  const dklTerm = ref.grpoLossBackward(logp, oldLogp, refLogp, zeroA, w, s, gradScale);
  const magnitude = (a: Float64Array, b: Float64Array) => a.map((v, n) => Math.abs(v) + Math.abs(b[n]));
  expectClose(out.losses, want.losses, tol, `${what}: losses`, magnitude(surrogate, klTerm));
  expectClose(out.dlogp, dwant, tol, `${what}: dlogp`, magnitude(dsurrogate, dklTerm));
  expectClose(out.kl, want.kl, tol, `${what}: kl`);
  expect(Array.from(out.clippedLow), `${what}: clippedLow`).toEqual(Array.from(want.clippedLow, Math.fround));
  expect(Array.from(out.clippedHigh), `${what}: clippedHigh`).toEqual(Array.from(want.clippedHigh, Math.fround));
}

describe('grpo_loss_forward_backward', () => {
  const shapes: [number, number, LossAggregation][] = [
    [1, 1, 'dapo'],
    [3, 5, 'grpo'],
    [16, 17, 'dr_grpo'],
    [40, 25, 'grpo'],
  ];
  for (const [B, T, lossType] of shapes) {
    for (const beta of [0, 0.04]) {
      gpuTest(`matches the float64 reference: (B,T) = (${B},${T}) ragged, ${lossType} weights, β = ${beta}`, async ({ rt }) => {
        const batch = raggedBatch(B, T, B * T);
        const x = tokenInputs(batch, 3 * B * T);
        const w = aggregationWeights(batch.mask, T, lossType, T);
        const s = { epsLow: EPS_LOW, epsHigh: EPS_HIGH, beta };
        const gradScale = 0.75;
        const out = await runGrpo(rt, x, w, { ...s, gradScale });
        expectReference(out, [x.logp, x.oldLogp, x.refLogp, x.advantages, w], s, gradScale, GRPO, `(${B},${T}) β=${beta}`);
        expectMaskedZero(out, w, `(${B},${T})`);
        if (B * T >= 257) {
          // Every branch is exercised: both clip sides, and the three ways of computing k3.
          const real = Array.from(w.keys()).filter((n) => w[n] > 0);
          const e = real.map((n) => x.refLogp[n] - x.logp[n]);
          expect(real.filter((n) => out.clippedLow[n] > 0).length).toBeGreaterThan(3);
          expect(real.filter((n) => out.clippedHigh[n] > 0).length).toBeGreaterThan(3);
          expect(real.filter((n) => out.clippedLow[n] + out.clippedHigh[n] === 0).length).toBeGreaterThan(real.length / 2);
          for (const count of [e.filter((v) => v < -1).length, e.filter((v) => Math.abs(v) <= 1).length, e.filter((v) => v > 1).length]) {
            expect(count).toBeGreaterThan(3);
          }
        }
      });
    }
  }

  gpuTest('k3 near e = 0 keeps its relative accuracy (the series, not exp(e) − e − 1); e = ±1 edges', async ({ rt }) => {
    const e = [1e-4, -1e-4, 3e-3, -3e-3, 0.05, -0.05, 1, -1, Math.fround(1 + 2 ** -23), Math.fround(-1 - 2 ** -23), 0];
    const N = e.length;
    const logp = new Float32Array(N).fill(-2);
    const refLogp = Float32Array.from(e, (v) => -2 + v);
    const w = new Float32Array(N).fill(1);
    const x = { logp, oldLogp: logp, refLogp, advantages: new Float32Array(N) };
    const s = { epsLow: EPS_LOW, epsHigh: EPS_HIGH, beta: 2 };
    const out = await runGrpo(rt, x, w, { ...s, gradScale: 1 });
    expectReference(out, [logp, logp, refLogp, x.advantages, w], s, 1, GRPO, 'small e');
    expect(out.kl[N - 1]).toBe(0);
  });

  gpuTest('β = 0 reads no refLogp: a 3-element NaN tensor, or logp itself, changes nothing and kl is 0', async ({ rt }) => {
    const batch = raggedBatch(6, 9, 4);
    const x = tokenInputs(batch, 40);
    const w = aggregationWeights(batch.mask, 9, 'dapo', 9);
    const s = { epsLow: EPS_LOW, epsHigh: EPS_HIGH, beta: 0 };
    const small = await runGrpo(rt, { ...x, refLogp: Float32Array.of(NaN, NaN, NaN) }, w, { ...s, gradScale: 1 });
    const same = await runGrpo(rt, { ...x, refLogp: 'logp' }, w, { ...s, gradScale: 1 });
    expectReference(small, [x.logp, x.oldLogp, x.refLogp, x.advantages, w], s, 1, GRPO, 'β = 0');
    expect(same).toEqual(small);
    expect(small.kl.every((k) => k === 0)).toBe(true);
  });

  gpuTest('hard inputs: A = ±1e3, logp − oldLogp = ±30, refLogp − logp = ±30; weight-0 rows with NaN/Inf inputs', async ({ rt }) => {
    const ds = [30, 30, -30, -30, 0.1, 0.1, 30, -30, 0.1, 0.1, 0.1];
    const es = [30, -30, 30, -30, 30, -30, 0.5, 0.5, 1, 1, 1];
    const As = [1e3, -1e3, 1e3, -1e3, 1e3, -1e3, -1e3, 1e3, NaN, 1, 1];
    const oldLogp = Float32Array.from(ds, (d) => (d > 0 ? -40 : -5));
    const logp = Float32Array.from(ds, (d, n) => oldLogp[n] + d);
    const refLogp = Float32Array.from(es, (e, n) => logp[n] + e);
    refLogp[9] = Infinity;
    logp[10] = NaN;
    const advantages = Float32Array.from(As);
    const w = Float32Array.from([1, 1, 0.5, 2, 1, 1, 1, 1, 0, 0, 0]);
    const s = { epsLow: EPS_LOW, epsHigh: EPS_HIGH, beta: 0.1 };
    const out = await runGrpo(rt, { logp, oldLogp, refLogp, advantages }, w, { ...s, gradScale: 0.25 });
    expectReference(out, [logp, oldLogp, refLogp, advantages, w], s, 0.25, GRPO_HARD, 'hard');
    for (const [name, v] of Object.entries(out)) expectFinite(v, `hard: ${name}`);
    // A > 0 with ρ = e^30 clips high (gradient: the KL's only); A < 0 with ρ = e^−30 clips low.
    expect(Array.from(out.clippedHigh.subarray(0, 8))).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(out.clippedLow.subarray(0, 8))).toEqual([0, 0, 0, 2, 0, 0, 0, 0]);
    expect(out.kl[0]).toBeCloseTo(Math.exp(30) - 31, -8); // ≈ 1.07e13
    expectMaskedZero(out, w, 'hard');
  });

  gpuTest('exponentials past f32 (d, e = ±100) saturate at e^88 instead of overflowing', async ({ rt }) => {
    // 0: ρ = e^100, A < 0 — unclipped surrogate saturates; 1: e = 100 — k3 saturates (loss, kl, gradient);
    // 2: both at once — each output holds two saturated terms, < 3.4e38; 3: e = −100 — k3 = 99 exactly;
    // 4: a weight-0 row with e = 1000.
    const ds = [100, 0, 100, 0, 0];
    const es = [0, 100, 100, -100, 1000];
    const oldLogp = Float32Array.from(ds, (d) => -100 - d);
    const logp = Float32Array.from(ds, (d, n) => oldLogp[n] + d);
    const refLogp = Float32Array.from(es, (e, n) => logp[n] + e);
    const advantages = Float32Array.from([-1e3, 1, -1e3, 1, 1]);
    const w = Float32Array.from([1, 1, 1, 1, 0]);
    const out = await runGrpo(rt, { logp, oldLogp, refLogp, advantages }, w, { epsLow: EPS_LOW, epsHigh: EPS_HIGH, beta: 1, gradScale: 0.5 });
    for (const [name, v] of Object.entries(out)) expectFinite(v, `saturated: ${name}`);
    const E88 = Math.exp(88);
    const SAT = { atol: 0, rtol: 1e-4 };
    expectClose([out.losses[0], out.dlogp[0], out.kl[0]], [E88, E88, 0], SAT, 'ratio explosion');
    expectClose([out.losses[1], out.dlogp[1], out.kl[1]], [E88, -E88, E88], SAT, 'KL explosion');
    expectClose([out.losses[2], out.kl[2]], [2 * E88, E88], SAT, 'both');
    // Row 3: loss −A + k3 = −1 + 99; gradient gradScale·(−A + (1 − e^−100)) = 0.
    expectClose([out.losses[3], out.kl[3], out.dlogp[3]], [98, 99, 0], { atol: 1e-6, rtol: 1e-6 }, 'e = −100');
    expectMaskedZero(out, w, 'saturated');
  });

  gpuTest('wrong shapes and scalars are rejected before anything runs', async ({ rt }) => {
    const k = 'grpo_loss_forward_backward';
    const a = rt.tensor([4], 'a');
    const short = rt.tensor([3], 'short');
    const stats = rt.tensor([3, 4], 'stats');
    const u = rt.tensor([4], 'u32-advantages', 'u32');
    const empty = rt.tensor([0], 'empty');
    const o = rt.tensor([4], 'out');
    const step = rt.step('bad');
    const ok: GrpoLossScalars = { beta: 0.1, gradScale: 1 };
    const dl = rt.tensor([4], 'dlogp');
    expect(() => grpoLossForwardBackward(step, a, a, a, a, short, o, dl, stats, ok)).toThrow(new RegExp(`${k}: short \\(weights \\(N\\)\\) has 3 elements, expected 4`));
    expect(() => grpoLossForwardBackward(step, a, a, short, a, a, o, dl, stats, ok)).toThrow(new RegExp(`${k}: short \\(refLogp \\(N\\)\\) has 3 elements`));
    expect(() => grpoLossForwardBackward(step, a, a, a, a, a, o, dl, a, ok)).toThrow(new RegExp(`${k}: a \\(stats \\(3,N\\)\\) has 4 elements, expected 12`));
    expect(() => grpoLossForwardBackward(step, a, a, a, u, a, o, dl, stats, ok)).toThrow(new RegExp(`${k}: u32-advantages must be f32`));
    expect(() => grpoLossForwardBackward(step, empty, empty, empty, empty, empty, empty, empty, empty, ok)).toThrow(new RegExp(`${k}: empty \\(logp\\) is empty`));
    expect(() => grpoLossForwardBackward(step, a, a, a, a, a, o, dl, stats, { ...ok, epsLow: -0.1 })).toThrow(/epsLow must be a finite number ≥ 0/);
    expect(() => grpoLossForwardBackward(step, a, a, a, a, a, o, dl, stats, { ...ok, epsHigh: Infinity })).toThrow(/epsHigh must be a finite number ≥ 0/);
    expect(() => grpoLossForwardBackward(step, a, a, a, a, a, o, dl, stats, { ...ok, beta: NaN })).toThrow(/beta must be a finite number ≥ 0/);
    expect(() => grpoLossForwardBackward(step, a, a, a, a, a, o, dl, stats, { ...ok, gradScale: Infinity })).toThrow(/gradScale must be finite/);
    expect(() => grpoLossForwardBackward(step, a, a, o, a, a, o, dl, stats, { ...ok, beta: 0 })).toThrow(new RegExp(`${k}: out \\(refLogp\\) overlaps the output out`));
    expect(() => rlooLossForwardBackward(step, dl, a, a, o, dl, stats, 1)).toThrow(/^rloo_loss \(grpo_loss_forward_backward\): dlogp \(logp\) overlaps the output dlogp/);
    expect(() => rlooLossForwardBackward(step, a, a, short, o, dl, stats, 1)).toThrow(/^rloo_loss \(grpo_loss_forward_backward\): short \(weights \(N\)\)/);
    expect(step.dispatchCount).toBe(0);
    // At β = 0 refLogp's size is not checked.
    grpoLossForwardBackward(step, a, a, short, a, a, o, dl, stats, { ...ok, beta: 0 });
    expect(step.dispatchCount).toBe(1);
    rt.free(a, short, stats, u, empty, o, dl);
  });
});

// PPO's clipped surrogate is this kernel at ε_low = ε_high = ε and β = 0 (op.ppoPolicyLoss; its own shader was
// retired after a bit-for-bit comparison): the cases of the retired kernel's tests, against PPO's independent float64
// reference (src/reference/ppo-loss.ts), its clip count the sum of the two clip rows.
// Policy loss and gradient: ρ = exp(d) with |d| ≲ 1.5 (WGSL allows 3 + 2|d| ulp, ≲ 4e-7 relative; d itself is an
// exact f32 difference here), then two or three f32 products (≤ 2e-7): 2e-6 relative leaves margin, the atol only
// covers products that round to tiny values (A ≈ 0). A wrong branch is off by O(1).
const POLICY: Tolerance = { atol: 1e-7, rtol: 2e-6 };
// d = ±30: exp's allowance grows to 63 ulp (3.8e-6 relative) — the loss ~1e16 is still checked to 1e-5 relative.
const POLICY_HARD: Tolerance = { atol: 1e-7, rtol: 1e-5 };
const CLIP = 0.2;

/** ratioInputs at ε each side, and advantages. */
function policyInputs(N: number, seed: number) {
  return { ...ratioInputs(N, seed, CLIP, CLIP), advantages: normal(N, seed + 2) };
}

/** The kernel as PPO runs it: ε each side, β = 0, refLogp bound to logp; clipped = clippedLow + clippedHigh. */
async function runPpo(rt: GpuRuntime, x: { logp: Float32Array; oldLogp: Float32Array; advantages: Float32Array }, w: Float32Array, gradScale: number) {
  const out = await runGrpo(rt, { ...x, refLogp: 'logp' }, w, { epsLow: CLIP, epsHigh: CLIP, beta: 0, gradScale });
  expect(out.kl.every((k) => k === 0), 'β = 0: the kl row is 0').toBe(true);
  expect(Array.from(out.clippedLow).some((v, n) => v !== 0 && out.clippedHigh[n] !== 0), 'a token clips on one side only').toBe(false);
  return { losses: out.losses, grad: out.dlogp, clipped: Float32Array.from(out.clippedLow, (v, n) => v + out.clippedHigh[n]) };
}

describe('PPO’s clipped surrogate: the group kernel at ε_low = ε_high = ε, β = 0', () => {
  for (const N of [1, 7, 257, 1000]) {
    gpuTest(`losses, dlogp and clipped match PPO’s float64 reference, N=${N}`, async ({ rt }) => {
      const { logp, oldLogp, advantages } = policyInputs(N, N);
      const w = N === 1 ? Float32Array.of(1) : maskWeights(N);
      const gradScale = 1 / w.reduce((a, b) => a + b, 0);
      const out = await runPpo(rt, { logp, oldLogp, advantages }, w, gradScale);
      const want = refPpo.ppoPolicyLossForward(logp, oldLogp, advantages, w, CLIP);
      expectClose(out.losses, want.losses, POLICY, 'policy losses');
      expectClose(out.grad, refPpo.ppoPolicyLossBackward(logp, oldLogp, advantages, w, CLIP, gradScale), POLICY, 'dlogp');
      expect(Array.from(out.clipped), 'clipped').toEqual(Array.from(want.clipped));
      expectPpoMaskedZero(out, w, 'policy');
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
    const out = await runPpo(rt, { logp, oldLogp, advantages }, w, gradScale);
    const want = refPpo.ppoPolicyLossForward(logp, oldLogp, advantages, w, CLIP);
    expectClose(out.losses, want.losses, POLICY_HARD, 'policy losses (hard)');
    expectClose(out.grad, refPpo.ppoPolicyLossBackward(logp, oldLogp, advantages, w, CLIP, gradScale), POLICY_HARD, 'dlogp (hard)');
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
    expectPpoMaskedZero(out, w, 'policy (hard)');
  });

  gpuTest('a ratio past f32 (logp − oldLogp = ±100) saturates at e^88 instead of overflowing; A = 0 gives 0', async ({ rt }) => {
    const ds = [100, 100, 100, -100, -100, 95, 89, 100];
    const As = [-1e3, 1e3, 0, 1e3, -1e3, -1e-30, -1e-30, -1e3];
    const oldLogp = Float32Array.from(ds, (d) => (d > 0 ? -100 : 0));
    const logp = Float32Array.from(ds, (d, n) => oldLogp[n] + d);
    const advantages = Float32Array.from(As);
    const w = Float32Array.from([1, 1, 1, 1, 1, 1, 1, 0]);
    const out = await runPpo(rt, { logp, oldLogp, advantages }, w, 0.5);
    expectFinite(out.losses, 'saturated losses');
    expectFinite(out.grad, 'saturated dlogp');
    const E88 = Math.exp(88);
    // A = −1e3, ρ = e^100: loss 1e3·e^100 and gradient 500·e^100 both pass f32's range → +e^88 each.
    expectClose([out.losses[0], out.grad[0]], [E88, E88], { atol: 0, rtol: 1e-4 }, 'saturated unclipped branch');
    // A = +1e3, ρ = e^100: clipped; A = 0: nothing; A = +1e3, ρ = e^−100: ≈ −3.7e−41 (or 0 where f32 flushes
    // denormals); A = −1e3, ρ = e^−100: clipped.
    const want = refPpo.ppoPolicyLossForward(logp, oldLogp, advantages, w, CLIP);
    const dwant = refPpo.ppoPolicyLossBackward(logp, oldLogp, advantages, w, CLIP, 0.5);
    expectClose(out.losses.subarray(1, 5), want.losses.subarray(1, 5), { atol: 1e-30, rtol: 1e-6 }, 'losses beside the overflow');
    expectClose(out.grad.subarray(1, 5), dwant.subarray(1, 5), { atol: 1e-30, rtol: 1e-6 }, 'dlogp beside the overflow');
    // A tiny A keeps 1e−30·e^95 ≈ 1.8e11 and 1e−30·e^89 ≈ 4.5e8 in range: exact, via logs (exp of ~26 and ~20).
    expectClose(out.losses.subarray(5, 7), want.losses.subarray(5, 7), { atol: 0, rtol: 2e-5 }, 'tiny A, huge ρ');
    expectClose(out.grad.subarray(5, 7), dwant.subarray(5, 7), { atol: 0, rtol: 2e-5 }, 'tiny A, huge ρ gradient');
    expect(Array.from(out.clipped)).toEqual([0, 1, 0, 0, 1, 0, 0, 0]);
    expectPpoMaskedZero(out, w, 'policy (overflow)');
  });
});

describe('rloo_loss (the GRPO kernel at ρ = 1, β = 0)', () => {
  gpuTest('dlogp is the gradient of the independent REINFORCE reference −A·Σlogp; losses −A·w; stats 0', async ({ rt }) => {
    const B = 24;
    const T = 13;
    const batch = raggedBatch(B, T, 99);
    const N = B * T;
    const logp = Float32Array.from(normal(N, 100, 1), (x, n) => (batch.mask[n] === 1 ? x - 3 : NaN));
    const perSequence = normal(B, 101);
    const advantages = Float32Array.from(batch.mask, (m, n) => (m === 1 ? perSequence[Math.floor(n / T)] : NaN));
    const w = aggregationWeights(batch.mask, T, 'sequence_sum', T);
    const gradScale = 1.5;
    const t = [logp, advantages, w].map((a, i) => rt.upload(a, [N], ['logp', 'advantages', 'weights'][i]));
    const [losses, dlogp] = ['losses', 'dlogp'].map((l) => rt.upload(new Float32Array(N).fill(NaN), [N], l));
    const stats = rt.upload(new Float32Array(3 * N).fill(NaN), [3, N], 'stats');
    const step = rt.step('rloo');
    rlooLossForwardBackward(step, t[0], t[1], t[2], losses, dlogp, stats, gradScale);
    const reads = [losses, dlogp, stats].map((r) => step.read(r));
    await step.submit();
    const [l, g, s] = (await Promise.all(reads)) as Float32Array[];
    rt.free(...t, losses, dlogp, stats);
    // The objective is gradScale·(1/B)·Σ_b (−A_b·Σ_t logp): the reference's gradient times gradScale/B.
    const want = ref.rlooLossBackward(batch.mask, perSequence).map((v) => (gradScale / B) * v);
    expectClose(g, want, RLOO, 'dlogp vs d(−A·Σlogp)');
    expectClose(l, Float64Array.from(w, (wn, n) => (wn === 0 ? 0 : -advantages[n] * wn)), RLOO, 'losses = −A·w');
    expect(s.every((v) => v === 0)).toBe(true);
    batch.mask.forEach((m, n) => m === 0 && expect([l[n], g[n]]).toEqual([0, 0]));
  });
});
