import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { logprobBackward, logprobForward } from '../../src/kernels/logprob';
import { ROW_VARIANTS, type RowVariant } from '../../src/kernels/rows';
import * as ref from '../../src/reference/logprob';
import { gpuTest } from '../helpers/gpu';
import { integers, normal, uniform } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// Both forward variants (tree, serial) are held to the same tolerances (the backward is elementwise: one variant).
// log p = (z_t − max z) − log Σexp: the Σexp of up to V = 5000 f32 terms is good to ~1e-6 relative, so log p is
// good to ~1e-6 absolute; z = logit·(1/τ) adds ~1 ulp of z (exact for τ = 1, used with the ±1e4 logits).
const LOGP: Tolerance = { atol: 1e-5, rtol: 1e-5 };
// Gradient: softmax by exp (WGSL allows 3 + 2|x| ulp, ~1e-5 relative where p is still visible), times dlogp/τ
// with |dlogp| ≲ 3: 1e-6 absolute covers the f32 rounding of p − 1 at the token.
const DLOGITS: Tolerance = { atol: 1e-6, rtol: 2e-5 };

interface Case {
  N: number;
  V: number;
  temperature: number;
  extreme?: boolean; // logits uniform in ±1e4
}

async function run(rt: GpuRuntime, variant: RowVariant, c: Case, seed: number, prior?: Float32Array) {
  const { N, V, temperature } = c;
  const x = c.extreme ? uniform(N * V, seed, -1e4, 1e4) : normal(N * V, seed, 2);
  const tok = integers(N, V, seed + 1);
  const dlp = normal(N, seed + 2);
  const logits = rt.upload(x, [N, V], 'logits');
  const tokens = rt.upload(tok, [N], 'tokens', 'u32');
  const dlogprobs = rt.upload(dlp, [N], 'dlogprobs');
  const logprobs = rt.tensor([N], 'logprobs');
  const stats = rt.tensor([N, 2], 'stats');
  const dlogits = prior ? rt.upload(prior, [N, V], 'dlogits') : rt.upload(new Float32Array(N * V).fill(NaN), [N, V], 'dlogits');
  const step = rt.step('logprob');
  logprobForward(step, logits, tokens, logprobs, stats, temperature, { variant });
  logprobBackward(step, logits, tokens, stats, dlogprobs, dlogits, temperature, !!prior);
  const [lp, dl] = [step.read(logprobs), step.read(dlogits)];
  await step.submit();
  const out = { logprobs: await lp, dlogits: await dl };
  rt.free(logits, tokens, dlogprobs, logprobs, stats, dlogits);
  const expected = {
    logprobs: ref.logprobForward(x, tok, N, V, temperature),
    dlogits: ref.logprobBackward(x, tok, dlp, N, V, temperature),
  };
  if (prior) expected.dlogits.forEach((g, i) => (expected.dlogits[i] = g + prior[i]));
  return { out, expected };
}

// Ragged shapes: row counts around the serial variant's 64 rows per workgroup, vocabularies that are not multiples
// of the tree's 256 threads per row.
const RAGGED: Case[] = [1, 3, 17, 129].flatMap((N) => [5, 33, 100, 257].map((V) => ({ N, V, temperature: 0.7 })));
const CASES: Case[] = [
  { N: 1, V: 1, temperature: 1 },
  { N: 5, V: 3, temperature: 1 },
  { N: 4, V: 5000, temperature: 1.3 },
  { N: 6, V: 300, temperature: 1, extreme: true },
  ...RAGGED,
];

describe.for(ROW_VARIANTS)('logprob, %s variant', (variant) => {
  for (const c of CASES) {
    gpuTest(`forward and backward match the float64 reference, N=${c.N} V=${c.V} τ=${c.temperature}${c.extreme ? ' logits ±1e4' : ''}`, async ({ rt }) => {
      const { out, expected } = await run(rt, variant, c, c.N * 10 + c.V);
      expectClose(out.logprobs, expected.logprobs, LOGP, 'logprobs');
      expectClose(out.dlogits, expected.dlogits, DLOGITS, 'logprob dlogits');
      expectFinite(out.dlogits, 'logprob dlogits');
    });
  }

  gpuTest('backward accumulates into an existing gradient', async ({ rt }) => {
    const [N, V] = [9, 70];
    const { out, expected } = await run(rt, variant, { N, V, temperature: 0.8 }, 3, normal(N * V, 4));
    expectClose(out.dlogits, expected.dlogits, DLOGITS, 'accumulated logprob dlogits');
  });

  gpuTest('log-probabilities and gradients are bitwise reproducible (fixed-order reductions)', async ({ rt }) => {
    const a = await run(rt, variant, { N: 70, V: 45, temperature: 1 }, 11);
    const b = await run(rt, variant, { N: 70, V: 45, temperature: 1 }, 11);
    expect(Array.from(b.out.logprobs)).toEqual(Array.from(a.out.logprobs));
    expect(Array.from(b.out.dlogits)).toEqual(Array.from(a.out.dlogits));
  });

  gpuTest('a token ≥ V gives NaN for its row only', async ({ rt }) => {
    const [N, V] = [2, 3];
    const logits = rt.upload([0, 1, 2, 0, 1, 2], [N, V], 'logits');
    const tokens = rt.upload([3, 2], [N], 'tokens', 'u32');
    const dlogprobs = rt.upload([1, 1], [N], 'dlogprobs');
    const logprobs = rt.tensor([N], 'logprobs');
    const stats = rt.tensor([N, 2], 'stats');
    const dlogits = rt.tensor([N, V], 'dlogits');
    const step = rt.step('logprob bad token');
    logprobForward(step, logits, tokens, logprobs, stats, 1, { variant });
    logprobBackward(step, logits, tokens, stats, dlogprobs, dlogits);
    const [lp, dl] = [step.read(logprobs), step.read(dlogits)];
    await step.submit();
    const [lpv, dlv] = [await lp, await dl];
    expect(Number.isNaN(lpv[0])).toBe(true);
    expect(lpv[1]).toBeCloseTo(2 - Math.log(1 + Math.exp(1) + Math.exp(2)), 5);
    expect(Array.from(dlv.subarray(0, V)).every(Number.isNaN)).toBe(true);
    expectFinite(dlv.subarray(V), 'valid row');
    rt.free(logits, tokens, dlogprobs, logprobs, stats, dlogits);
  });
});

describe('logprob', () => {
  gpuTest('wrong shapes and temperatures are rejected before anything runs', async ({ rt }) => {
    const [N, V] = [4, 6];
    const logits = rt.tensor([N, V], 'logits');
    const tokens = rt.tensor([N], 'tokens', 'u32');
    const ftokens = rt.tensor([N], 'f32-tokens');
    const logprobs = rt.tensor([N], 'logprobs');
    const stats = rt.tensor([N, 2], 'stats');
    const dlogits = rt.tensor([N, V + 1], 'dlogits-wide');
    const odd = rt.tensor([N * V + 1], 'odd-logits');
    const step = rt.step('bad');
    expect(() => logprobForward(step, logits, ftokens, logprobs, stats)).toThrow(/logprob_forward: f32-tokens must be u32/);
    expect(() => logprobForward(step, logits, tokens, logprobs, logprobs)).toThrow(/logprob_forward: logprobs \(stats \(N,2\)\) has 4 elements, expected 8/);
    expect(() => logprobForward(step, logits, tokens, logprobs, stats, 0)).toThrow(/logprob_forward: temperature must be a positive finite number, got 0/);
    expect(() => logprobBackward(step, logits, tokens, stats, logprobs, dlogits)).toThrow(/logprob_backward: dlogits-wide \(dlogits \(N,V\)\) has 28 elements, expected 24/);
    expect(() => logprobBackward(step, odd, tokens, stats, logprobs, logits)).toThrow(/logprob_backward: odd-logits has 25 elements, not N·V for N = 4/);
    expect(step.dispatchCount).toBe(0);
    rt.free(logits, tokens, ftokens, logprobs, stats, dlogits, odd);
  });
});
