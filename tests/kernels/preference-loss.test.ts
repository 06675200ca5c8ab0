import { describe, expect, test } from 'vitest';
import type { GpuRuntime, Tensor } from '../../src/gpu';
import { PREFERENCE_MAX_K, preferenceLossForwardBackward, type PreferenceLoss, validatePreferenceGroups } from '../../src/kernels/preference-loss';
import * as ref from '../../src/reference/preference-loss';
import { gpuTest } from '../helpers/gpu';
import { integers, normal, rng, uniform } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

const EPS = 2 ** -24; // f32 unit roundoff

function offsetsOf(sizes: readonly number[]): Uint32Array {
  const offsets = new Uint32Array(sizes.length + 1);
  sizes.forEach((k, g) => (offsets[g + 1] = offsets[g] + k));
  return offsets;
}

interface Inputs {
  logp: Float32Array; // (B·T), NaN where w = 0: the kernel must never read it
  refLogp: Float32Array; // (B·T), NaN where w = 0
  w: Float32Array; // (B·T)
}

/**
 * Row b: a prompt of 0..T/3 positions (w = 0), then a response of ≥ 1 positions (w = 1, or in (0, 1] when `soft`),
 * then padding (w = 0). Log-probs around −2, the reference policy's 0.3 off; `extreme` adds ±1e3 to each row's
 * log-ratio at one response position (log-ratios of ±1e3, gaps up to 2e3).
 */
function inputs(B: number, T: number, seed: number, opts: { soft?: boolean; extreme?: boolean } = {}): Inputs {
  const start = integers(B, Math.floor(T / 3) + 1, seed);
  const len = integers(B, T, seed + 1);
  const logp = normal(B * T, seed + 2, 1).map((x) => x - 2);
  const diff = normal(B * T, seed + 3, 0.3);
  const soft = uniform(B * T, seed + 4, 0.05, 1);
  const coin = rng(seed + 5);
  const w = new Float32Array(B * T);
  const refLogp = new Float32Array(B * T).fill(NaN);
  for (let b = 0; b < B; b++) {
    const from = b * T + start[b];
    const to = Math.min(from + 1 + len[b], (b + 1) * T);
    w.fill(1, from, to);
    if (opts.extreme) diff[from] += coin() < 0.5 ? -1e3 : 1e3;
  }
  for (let i = 0; i < B * T; i++) {
    if (w[i] === 0) logp[i] = NaN;
    else {
      if (opts.soft) w[i] = soft[i];
      refLogp[i] = logp[i] - diff[i];
    }
  }
  return { logp, refLogp, w };
}

/**
 * Bounds on the f32 kernel's errors against float64 on the same f32 inputs. Each z_b sums its terms w·(logp − ref)
 * (one rounding each for the difference and the product) in 16 lanes of ⌈T/16⌉ sequential adds and a 4-level tree:
 * |δz| ≤ γ·S with γ = (⌈T/16⌉ + 6)·ε and S the largest Σ_t |w·(logp − ref)|, so |δh| ≤ 2γS for a pair's gap.
 * Through the pair terms: ℓ is β-Lipschitz in h (sigmoid) or 2·max|h − 1/(2β)| ≤ 2·(zSpan + 1/(2β)) (IPO), ℓ' is
 * β²/4- (sigmoid) or 2-Lipschitz (IPO). On top, each f32 exp/log/sum rounds: ≤ 2K ≤ 32 roundings of same-signed
 * terms for a loss (rtol 4e-6), and ≤ K − 1 ≤ 15 of mixed sign, each ≤ max|ℓ'|, for a gradient coefficient.
 */
function tolerances(loss: PreferenceLoss, beta: number, T: number, x: Inputs, rewards: Float64Array, gradScale: number) {
  const S = Math.max(...Array.from(rewards, (_, b) => {
    let s = 0;
    for (let i = b * T; i < (b + 1) * T; i++) if (x.w[i] !== 0) s += Math.abs(x.w[i] * (x.logp[i] - x.refLogp[i]));
    return s;
  }));
  const z = Array.from(rewards, (r) => r / beta);
  const zSpan = Math.max(...z) - Math.min(...z);
  const dh = 2 * (Math.ceil(T / 16) + 6) * EPS * S;
  const lip = loss === 'sigmoid' ? beta : 2 * (zSpan + 1 / (2 * beta)); // max |ℓ'|
  const lip2 = loss === 'sigmoid' ? (beta * beta) / 4 : 2; // max |ℓ''|
  const losses: Tolerance = { atol: lip * dh + 1e-7, rtol: 4e-6 };
  const rewardsTol: Tolerance = { atol: (beta * dh) / 2, rtol: 2 * EPS }; // β·δz, then the product's rounding
  const dlogp: Tolerance = { atol: gradScale * (lip2 * dh + 16 * EPS * lip), rtol: 4e-6 };
  return { losses, rewards: rewardsTol, dlogp };
}

async function run(rt: GpuRuntime, x: Inputs, offsets: Uint32Array, T: number, beta: number, loss: PreferenceLoss, gradScale: number) {
  const G = offsets.length - 1;
  const B = x.w.length / T;
  const t = {
    logp: rt.upload(x.logp, [B, T], 'logp'),
    refLogp: rt.upload(x.refLogp, [B, T], 'refLogp'),
    w: rt.upload(x.w, [B, T], 'weights'),
    offsets: rt.upload(offsets, [G + 1], 'offsets', 'u32'),
    // garbage: every element must be written
    losses: rt.upload(new Float32Array(G).fill(NaN), [G], 'losses'),
    rewards: rt.upload(new Float32Array(B).fill(NaN), [B], 'rewards'),
    dlogp: rt.upload(new Float32Array(B * T).fill(NaN), [B, T], 'dlogp'),
  };
  const step = rt.step('dpo loss');
  preferenceLossForwardBackward(step, t.logp, t.refLogp, t.w, t.offsets, t.losses, t.rewards, t.dlogp, beta, loss, gradScale);
  const reads = [t.losses, t.rewards, t.dlogp].map((x) => step.read(x));
  await step.submit();
  const [losses, rewards, dlogp] = await Promise.all(reads);
  rt.free(...Object.values(t));
  return { losses, rewards, dlogp };
}

describe('preference_loss_forward_backward', () => {
  const uneven = [3, 2, 9, 4, 7, 5, 8, 6]; // K = 2..9
  // 300 groups of K = 2..4: 300 workgroups, more than one workgroup's worth of groups.
  const many = Array.from({ length: 300 }, (_, g) => 2 + (g % 3));
  interface Case {
    sizes: number[];
    T: number;
    soft?: boolean; // weights in (0, 1] on the response
    extreme?: boolean; // log-ratios of ±1e3
  }
  const cases: Case[] = [
    { sizes: [2], T: 1 },
    { sizes: uneven, T: 33 },
    { sizes: uneven, T: 33, soft: true },
    { sizes: [PREFERENCE_MAX_K, 2, 11], T: 40 },
    { sizes: many, T: 5 },
    { sizes: [9, 2, 5], T: 33, extreme: true },
  ];
  for (const loss of ['sigmoid', 'ipo'] as const) {
    for (const c of cases) {
      // IPO's loss is quadratic in the gap: ±1e3 log-ratios are a sigmoid-only stress test.
      if (c.extreme && loss === 'ipo') continue;
      const B = c.sizes.reduce((a, b) => a + b, 0);
      const label = `${loss}, G=${c.sizes.length} B=${B} T=${c.T}${c.soft ? ' soft weights' : ''}${c.extreme ? ' log-ratios ±1e3' : ''}`;
      gpuTest(`losses, rewards and dlogp match the float64 reference, ${label}`, async ({ rt }) => {
        const offsets = offsetsOf(c.sizes);
        validatePreferenceGroups(offsets, B);
        const x = inputs(B, c.T, c.sizes.length * 100 + c.T, c);
        const [beta, gradScale] = [0.1, 1 / c.sizes.length];
        const out = await run(rt, x, offsets, c.T, beta, loss, gradScale);
        const want = ref.preferenceLossForward(x.logp, x.refLogp, x.w, offsets, beta, loss, B, c.T);
        const tol = tolerances(loss, beta, c.T, x, want.rewards, gradScale);
        expectClose(out.losses, want.losses, tol.losses, `${loss} losses`);
        expectClose(out.rewards, want.rewards, tol.rewards, `${loss} rewards`);
        expectClose(out.dlogp, ref.preferenceLossBackward(x.logp, x.refLogp, x.w, offsets, beta, loss, gradScale, B, c.T), tol.dlogp, `${loss} dlogp`);
        for (const [v, what] of [[out.losses, 'losses'], [out.rewards, 'rewards'], [out.dlogp, 'dlogp']] as const) expectFinite(v, what);
        // Exactly +0 where w = 0 (not merely close, nor −0).
        for (let i = 0; i < B * c.T; i++) if (x.w[i] === 0) expect(Object.is(out.dlogp[i], 0), `dlogp[${i}]`).toBe(true);
      });
    }
  }

  gpuTest('malformed groups (K = 1, K > PREFERENCE_MAX_K, rows past B) give NaN in their group only; other groups are exact', async ({ rt }) => {
    const [T, beta, loss] = [3, 0.5, 'sigmoid'] as const;
    // group 0: K = 1; group 1: rows 1..2; group 2: K = 17; group 3: rows 20..21; group 4: rows 22..25, past B = 24.
    const offsets = Uint32Array.from([0, 1, 3, 20, 22, 26]);
    const B = 24;
    const x = inputs(B, T, 5);
    const out = await run(rt, x, offsets, T, beta, loss, 1);
    const bad = (b: number) => b === 0 || (b >= 3 && b < 20) || b >= 22;
    expect(Array.from(out.losses, Number.isNaN)).toEqual([true, false, true, false, true]);
    for (let b = 0; b < B; b++) {
      expect(Number.isNaN(out.rewards[b]), `rewards[${b}]`).toBe(bad(b));
      for (let i = b * T; i < (b + 1) * T; i++) {
        if (x.w[i] === 0) expect(Object.is(out.dlogp[i], 0), `dlogp[${i}]`).toBe(true);
        else expect(Number.isNaN(out.dlogp[i]), `dlogp[${i}]`).toBe(bad(b));
      }
    }
    // The valid groups against the reference on their own rows.
    for (const [g, lo] of [[1, 1], [3, 20]]) {
      const rows = (a: ArrayLike<number>) => Array.from(a).slice(lo * T, (lo + 2) * T);
      const [lp, rl, w] = [rows(x.logp), rows(x.refLogp), rows(x.w)];
      const want = ref.preferenceLossForward(lp, rl, w, [0, 2], beta, loss, 2, T);
      const tol = tolerances(loss, beta, T, { logp: Float32Array.from(lp), refLogp: Float32Array.from(rl), w: Float32Array.from(w) }, want.rewards, 1);
      expectClose([out.losses[g]], want.losses, tol.losses, `group ${g} loss`);
      expectClose(out.rewards.slice(lo, lo + 2), want.rewards, tol.rewards, `group ${g} rewards`);
      expectClose(out.dlogp.slice(lo * T, (lo + 2) * T), ref.preferenceLossBackward(lp, rl, w, [0, 2], beta, loss, 1, 2, T), tol.dlogp, `group ${g} dlogp`);
    }
  });

  gpuTest('rows outside every group get NaN rewards and a zero gradient', async ({ rt }) => {
    const T = 2;
    const x = inputs(5, T, 6);
    const out = await run(rt, x, Uint32Array.from([1, 3]), T, 0.1, 'ipo', 1); // rows 0, 3 and 4 are in no group
    expect(Number.isNaN(out.losses[0])).toBe(false);
    expect(Array.from(out.rewards, Number.isNaN)).toEqual([true, false, false, true, true]);
    for (const b of [0, 3, 4]) expect(Array.from(out.dlogp.slice(b * T, (b + 1) * T), (v) => Object.is(v, 0))).toEqual([true, true]);
  });

  gpuTest('wrong shapes and arguments are rejected before anything runs', async ({ rt }) => {
    const k = 'preference_loss_forward_backward';
    const [B, T, G] = [4, 3, 2];
    const logp = rt.tensor([B, T], 'logp');
    const odd = rt.tensor([B * T + 1], 'odd-logp');
    const transposed = rt.tensor([T, B], 'transposed-weights');
    const short = rt.tensor([B * T - 1], 'short-ref');
    const offsets = rt.tensor([G + 1], 'offsets', 'u32');
    const foffsets = rt.tensor([G + 1], 'f32-offsets');
    const one = rt.tensor([1], 'one-offset', 'u32');
    const losses = rt.tensor([G], 'losses');
    const rewards = rt.tensor([B], 'rewards');
    const empty = rt.tensor([0], 'no-rewards');
    const dlogp = rt.tensor([B * T], 'dlogp');
    const step = rt.step('bad');
    type Args = Partial<Record<'logp' | 'refLogp' | 'w' | 'offsets' | 'losses' | 'rewards' | 'dlogp', Tensor>>;
    // Valid arguments but for those named in `o`.
    const call = (o: Args, beta = 0.1, loss = 'sigmoid', gradScale = 1) => () =>
      preferenceLossForwardBackward(
        step,
        o.logp ?? logp,
        o.refLogp ?? logp,
        o.w ?? logp,
        o.offsets ?? offsets,
        o.losses ?? losses,
        o.rewards ?? rewards,
        o.dlogp ?? dlogp,
        beta,
        loss as PreferenceLoss,
        gradScale,
      );
    expect(call({ offsets: foffsets })).toThrow(new RegExp(`${k}: f32-offsets must be u32, got f32`));
    expect(call({ rewards: empty })).toThrow(new RegExp(`${k}: no-rewards \\(rewards\\) is empty`));
    expect(call({ logp: odd })).toThrow(new RegExp(`${k}: odd-logp has 13 elements, not B·T for B = 4 sequences`));
    expect(call({ w: transposed })).toThrow(new RegExp(`${k}: transposed-weights has shape \\[3,4\\], expected first dimension B = 4`));
    expect(call({ refLogp: short })).toThrow(new RegExp(`${k}: short-ref \\(refLogp \\(B·T\\)\\) has 11 elements, expected 12`));
    expect(call({ dlogp: losses })).toThrow(new RegExp(`${k}: losses \\(dlogp \\(B·T\\)\\) has 2 elements, expected 12`));
    expect(call({ offsets: one })).toThrow(new RegExp(`${k}: one-offset \\(offsets\\) has 1 elements, need G\\+1 ≥ 2`));
    expect(call({ losses: rewards })).toThrow(new RegExp(`${k}: rewards \\(losses \\(G\\)\\) has 4 elements, expected 2`));
    for (const beta of [0, -1, NaN, Infinity]) expect(call({}, beta)).toThrow(new RegExp(`${k}: beta must be finite and > 0, got ${beta}`));
    expect(call({}, 0.1, 'sigmoid', NaN)).toThrow(new RegExp(`${k}: gradScale must be finite, got NaN`));
    expect(call({}, 0.1, 'hinge')).toThrow(new RegExp(`${k}: loss must be 'sigmoid' or 'ipo', got 'hinge'`));
    expect(step.dispatchCount).toBe(0);
    rt.free(logp, odd, transposed, short, offsets, foffsets, one, losses, rewards, empty, dlogp);
  });
});

describe('validatePreferenceGroups', () => {
  test(`accepts groups of 2 ≤ K ≤ ${PREFERENCE_MAX_K} covering 0..B`, () => {
    expect(() => validatePreferenceGroups([0, 2, 5, 5 + PREFERENCE_MAX_K], 5 + PREFERENCE_MAX_K)).not.toThrow();
  });
  test('rejects each malformed layout with a message naming the problem', () => {
    const k = 'preference_loss_forward_backward';
    expect(() => validatePreferenceGroups([0, 4], 1)).toThrow(new RegExp(`${k}: B = 1, need an integer ≥ 2`));
    expect(() => validatePreferenceGroups([0], 4)).toThrow(new RegExp(`${k}: offsets has 1 entries, need G\\+1 ≥ 2`));
    expect(() => validatePreferenceGroups([1, 4], 4)).toThrow(new RegExp(`${k}: offsets\\[0\\] = 1, expected 0`));
    expect(() => validatePreferenceGroups([0, 3], 4)).toThrow(new RegExp(`${k}: offsets\\[1\\] = 3, expected B = 4 \\(every row in a group\\)`));
    expect(() => validatePreferenceGroups([0, 1, 4], 4)).toThrow(new RegExp(`${k}: group 0 \\(rows 0..0\\) has K = 1 sequences, need 2 ≤ K ≤ 16`));
    expect(() => validatePreferenceGroups([0, 3, 2, 4], 4)).toThrow(/group 1 \(rows 3..1\) has K = -1/);
    expect(() => validatePreferenceGroups([0, 2, 19], 19)).toThrow(/group 1 \(rows 2..18\) has K = 17 sequences, need 2 ≤ K ≤ 16/);
    expect(() => validatePreferenceGroups([0, 2.5, 5], 5)).toThrow(/group 0 \(rows 0..1.5\) has K = 2.5/);
  });
});
