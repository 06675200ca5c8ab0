import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { sampleForward, type SampleOptions } from '../../src/kernels/sample';
import * as ref from '../../src/reference/sample';
import { gpuTest } from '../helpers/gpu';
import { integers, normal, uniform } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// log p = (z_id − M)/τ − log Σ exp: the f32 Σ of up to V = 5000 terms is good to ~1e-6 relative, (z − M)/τ to an
// ulp of |z − M|/τ (≲ 10 here, except the ±1e4 case where τ = 1 keeps z − M exact): 2e-5 absolute has margin.
const LOGP: Tolerance = { atol: 2e-5, rtol: 1e-5 };
// The kernel accumulates probabilities in f32 (relative error ~1e-6 for V ≤ 5000); a draw whose u·K lies closer
// than this to a CDF boundary (or a top-p target this close to a prefix mass) may legitimately go either way.
const MARGIN = 1e-5;
const SENTINEL = 0xdeadbeef;

/** Uploads the (B,2) RNG streams [seed, row counter] of rows 0..B−1; by default [seed, b]. */
function uploadStreams(rt: GpuRuntime, B: number, stream: (b: number) => readonly [number, number]) {
  return rt.upload(Uint32Array.from({ length: 2 * B }, (_, i) => stream(i >> 1)[i & 1]), [B, 2], 'streams', 'u32');
}

interface Case {
  B: number;
  V: number;
  opts: SampleOptions;
  logits?: 'normal' | 'extreme' | 'ties';
  Tl?: number; // gather: logits (B,Tl,V), read at q − 1
  W?: number;
  wg?: 16 | 64; // threads per row (default: the launcher's choice)
}

function makeLogits(c: Case, seed: number): Float32Array {
  const n = c.B * (c.Tl ?? 1) * c.V;
  if (c.logits === 'extreme') return uniform(n, seed, -1e4, 1e4);
  if (c.logits === 'ties') return Float32Array.from(integers(n, 3, seed), (k) => k - 1); // values in {−1, 0, 1}
  return normal(n, seed, 2);
}

async function run(rt: GpuRuntime, c: Case, seed: number) {
  const { B, V } = c;
  const W = c.W ?? 40;
  const gather = c.Tl !== undefined;
  const Tl = c.Tl ?? 1;
  const x = makeLogits(c, seed);
  const offset = 3;
  // Positions spread over the buffer; some rows land past W (nothing may be written there).
  const posHost = Uint32Array.from({ length: B }, (_, b) => (gather ? (b * 7) % Tl : (b * 7) % (W + 4)));
  const logits = rt.upload(x, gather ? [B, Tl, V] : [B, V], 'logits');
  const pos = rt.upload(posHost, [B], 'pos', 'u32');
  const ids = rt.upload(new Uint32Array(B * W).fill(SENTINEL), [B, W], 'ids', 'u32');
  const logprobs = rt.upload(new Float32Array(B * W).fill(-7), [B, W], 'logprobs');
  // Every row its own stream: two seeds alternating, row counters unrelated to the row's place in the batch.
  const stream = (b: number) => [seed + (b % 2), 5 * b + 11] as const;
  const streams = uploadStreams(rt, B, stream);
  const step = rt.step('sample');
  const opts: SampleOptions = { ...c.opts, offset: gather ? 1 : offset, gather, workgroupSize: c.wg };
  sampleForward(step, logits, pos, streams, ids, logprobs, opts);
  const [gi, gl] = [step.read(ids), step.read(logprobs)];
  await step.submit();
  const [gpuIds, gpuLp] = [await gi, await gl];
  rt.free(logits, pos, streams, ids, logprobs);

  let checked = 0;
  let ambiguous = 0;
  for (let b = 0; b < B; b++) {
    const q = posHost[b] + opts.offset!;
    const cols = Array.from({ length: W }, (_, j) => j);
    if (q >= W) {
      expect(cols.every((j) => gpuIds[b * W + j] === SENTINEL), `row ${b}: q = ${q} ≥ W = ${W} must write nothing`).toBe(true);
      continue;
    }
    for (const j of cols) if (j !== q) expect(gpuIds[b * W + j], `row ${b} column ${j} untouched`).toBe(SENTINEL);
    const t = gather ? q - 1 : 0;
    const row = x.subarray((b * Tl + t) * V, (b * Tl + t + 1) * V);
    const u = ref.sampleUniform(...stream(b), q);
    const r = ref.sampleForward(row, V, u, c.opts);
    const id = gpuIds[b * W + q];
    expect(id, `row ${b}: id in range`).toBeLessThan(V);
    if (r.margin > MARGIN) {
      expect(id, `row ${b}: sampled id (reference margin ${r.margin.toExponential(2)})`).toBe(r.id);
      checked++;
    } else {
      ambiguous++;
      expect(r.kept[id] === 1 || r.id === id, `row ${b}: near-boundary id ${id} must still be a kept token`).toBe(true);
    }
    // The log-probability of whatever id the GPU chose, under the untruncated softmax(z/τ).
    const tau = c.opts.temperature === 0 ? 1 : c.opts.temperature;
    const M = Math.max(...row);
    let S = 0;
    for (const z of row) S += Math.exp((z - M) / tau);
    expectClose([gpuLp[b * W + q]], [(row[id] - M) / tau - Math.log(S)], LOGP, `row ${b} logprob`);
  }
  expectFinite(gpuLp, 'logprobs');
  return { checked, ambiguous };
}

describe('sample_forward', () => {
  const cases: Case[] = [
    { B: 1, V: 1, opts: { temperature: 1 } },
    { B: 5, V: 2, opts: { temperature: 1 } },
    { B: 17, V: 33, opts: { temperature: 0 } },
    { B: 17, V: 33, opts: { temperature: 0.7 } },
    { B: 17, V: 257, opts: { temperature: 1.3, topK: 5 } },
    { B: 17, V: 257, opts: { temperature: 1, topP: 0.9 } },
    { B: 17, V: 300, opts: { temperature: 0.8, topK: 40, topP: 0.7 } },
    { B: 9, V: 257, opts: { temperature: 1, topK: 256 } },
    { B: 9, V: 64, opts: { temperature: 1, topK: 64, topP: 1e-6 } }, // top-p keeps the single top token
    { B: 4, V: 5000, opts: { temperature: 1, topK: 50, topP: 0.95 }, wg: 16 },
    { B: 4, V: 5000, opts: { temperature: 1, topK: 50, topP: 0.95 }, wg: 64 },
    { B: 4, V: 5000, opts: { temperature: 0.5 }, wg: 64 },
    { B: 7, V: 700, opts: { temperature: 1.1, topK: 100, topP: 0.805 }, logits: 'ties', wg: 64 }, // cuts inside a run of equal logits
    { B: 12, V: 300, opts: { temperature: 1 }, logits: 'extreme' },
    { B: 12, V: 300, opts: { temperature: 1, topK: 3, topP: 0.5 }, logits: 'extreme' },
    { B: 12, V: 300, opts: { temperature: 0 }, logits: 'extreme' },
    { B: 24, V: 31, opts: { temperature: 1, topK: 7 }, logits: 'ties' },
    { B: 24, V: 31, opts: { temperature: 0.9, topP: 0.6 }, logits: 'ties' },
    { B: 24, V: 31, opts: { temperature: 0 }, logits: 'ties' },
    { B: 6, V: 50, opts: { temperature: 1, topK: 10 }, Tl: 9, W: 12 },
  ];
  for (const c of cases) {
    const name = `V=${c.V} B=${c.B} ${JSON.stringify(c.opts)}${c.logits ? ` ${c.logits} logits` : ''}${c.Tl ? ` gather Tl=${c.Tl}` : ''}${c.wg ? ` ${c.wg} threads` : ''}`;
    gpuTest(`matches the float64 reference draw for the same uniform: ${name}`, async ({ rt }) => {
      const { checked, ambiguous } = await run(rt, c, 1000 + c.V + c.B);
      expect(ambiguous, 'draws too close to a boundary to compare').toBeLessThanOrEqual(1);
      expect(checked).toBeGreaterThan(0);
    });
  }

  gpuTest('ties: top-k and top-p keep the lowest indices among equal logits', async ({ rt }) => {
    // Ten equal logits: top-k 3 keeps {0,1,2}; top-p 0.25 needs 3 tokens of mass 0.1 (0.2 < 0.25 ≤ 0.3).
    const N = 300;
    const V = 10;
    for (const opts of [{ topK: 3 }, { topP: 0.25 }, { topK: 8, topP: 0.3 }]) {
      const logits = rt.upload(new Float32Array(N * V).fill(0.5), [N, V], 'logits');
      const pos = rt.upload(new Uint32Array(N), [N], 'pos', 'u32');
      const streams = uploadStreams(rt, N, (b) => [5, b]);
      const ids = rt.tensor([N, 1], 'ids', 'u32');
      const logprobs = rt.tensor([N, 1], 'logprobs');
      const step = rt.step('sample ties');
      sampleForward(step, logits, pos, streams, ids, logprobs, { temperature: 1, ...opts });
      const [gi, gl] = [step.read(ids), step.read(logprobs)];
      await step.submit();
      const [got, lp] = [await gi, await gl];
      rt.free(logits, pos, streams, ids, logprobs);
      const counts = new Array(V).fill(0);
      got.forEach((id) => counts[id]++);
      expect(counts.slice(3).every((n) => n === 0), `${JSON.stringify(opts)}: counts ${counts}`).toBe(true);
      expect(counts.slice(0, 3).every((n) => n > 60), `${JSON.stringify(opts)}: counts ${counts}`).toBe(true);
      expectClose(lp, new Float64Array(N).fill(-Math.log(V)), LOGP, 'uniform logprob');
    }
  });

  gpuTest('empirical distribution of seeded draws matches the truncated softmax (chi-square)', async ({ rt }) => {
    const N = 2500;
    const V = 8;
    const row = Float32Array.from([1.5, 0.2, -0.3, 2.0, 0.9, -1.2, 0.2, 1.1]);
    const settings: SampleOptions[] = [
      { temperature: 1 },
      { temperature: 0.6, topK: 5 },
      { temperature: 1.4, topP: 0.8 },
      { temperature: 1, topK: 6, topP: 0.9 },
    ];
    for (const opts of settings) {
      const logits = rt.upload(Float32Array.from({ length: N * V }, (_, i) => row[i % V]), [N, V], 'logits');
      const pos = rt.upload(new Uint32Array(N), [N], 'pos', 'u32');
      const streams = uploadStreams(rt, N, (b) => [42, b]);
      const ids = rt.tensor([N, 1], 'ids', 'u32');
      const logprobs = rt.tensor([N, 1], 'logprobs');
      const step = rt.step('sample chi-square');
      sampleForward(step, logits, pos, streams, ids, logprobs, opts);
      const got = step.read(ids);
      await step.submit();
      const drawn = await got;
      rt.free(logits, pos, streams, ids, logprobs);

      const probs = ref.sampleDistribution(row, V, opts);
      const counts = new Array(V).fill(0);
      drawn.forEach((id) => counts[id]++);
      let chi2 = 0;
      let df = -1;
      for (let i = 0; i < V; i++) {
        if (probs[i] === 0) {
          expect(counts[i], `${JSON.stringify(opts)}: token ${i} is outside top-k/top-p`).toBe(0);
          continue;
        }
        df++;
        chi2 += (counts[i] - N * probs[i]) ** 2 / (N * probs[i]);
      }
      // χ² quantile at 1 − 1e-4 is 29.9 for 7 degrees of freedom (fewer here): a broken sampler fails by far more.
      expect(chi2, `${JSON.stringify(opts)}: χ² = ${chi2.toFixed(2)} with ${df} dof, counts ${counts}`).toBeLessThan(30);
    }
  });

  gpuTest("draws depend on the row's stream (seed, row counter) and position only, not on its place in the batch", async ({ rt }) => {
    const B = 64;
    const V = 20;
    const row = normal(V, 3); // every row the same logits: only the streams tell rows apart
    const draw = async (offset: number, stream: (b: number) => readonly [number, number]) => {
      const logits = rt.upload(Float32Array.from({ length: B * V }, (_, i) => row[i % V]), [B, V], 'logits');
      const pos = rt.upload(new Uint32Array(B), [B], 'pos', 'u32');
      const streams = uploadStreams(rt, B, stream);
      const ids = rt.tensor([B, 4], 'ids', 'u32');
      const logprobs = rt.tensor([B, 4], 'logprobs');
      const step = rt.step('sample seeds');
      sampleForward(step, logits, pos, streams, ids, logprobs, { temperature: 1, offset });
      const got = step.read(ids);
      await step.submit();
      const all = await got;
      const result = Array.from({ length: B }, (_, b) => all[b * 4 + offset]);
      rt.free(logits, pos, streams, ids, logprobs);
      return result;
    };
    const a = await draw(1, (b) => [7, b]);
    expect(await draw(1, (b) => [7, b])).toEqual(a);
    // The same streams in reverse batch order draw the same tokens, reversed.
    expect(await draw(1, (b) => [7, B - 1 - b])).toEqual(a.slice().reverse());
    const differing = (xs: number[]) => xs.filter((v, i) => v !== a[i]).length;
    expect(differing(await draw(1, (b) => [8, b]))).toBeGreaterThan(B / 4);
    expect(differing(await draw(1, (b) => [7, b + B]))).toBeGreaterThan(B / 4);
    expect(differing(await draw(2, (b) => [7, b]))).toBeGreaterThan(B / 4);
  });

  gpuTest('bad shapes and options are rejected before anything runs', async ({ rt }) => {
    const logits = rt.tensor([3, 10], 'logits');
    const logits3 = rt.tensor([3, 4, 10], 'logits3');
    const pos = rt.tensor([3], 'pos', 'u32');
    const posF = rt.tensor([3], 'posF');
    const ids = rt.tensor([3, 5], 'ids', 'u32');
    const lp = rt.tensor([3, 5], 'lp');
    const lpNarrow = rt.tensor([3, 4], 'lpNarrow');
    const streams = rt.tensor([3, 2], 'streams', 'u32');
    const streams1 = rt.tensor([3, 1], 'streams1', 'u32');
    const streamsF = rt.tensor([3, 2], 'streamsF');
    const step = rt.step('bad');
    const base = { temperature: 1 };
    expect(() => sampleForward(step, logits3, pos, streams, ids, lp, base)).toThrow(/sample_forward: logits3 must have shape \(B,V\) or \(B,1,V\)/);
    expect(() => sampleForward(step, logits, pos, streams, ids, lp, { ...base, gather: true })).toThrow(/with gather, logits must have shape \(B,Tl,V\)/);
    expect(() => sampleForward(step, logits, posF, streams, ids, lp, base)).toThrow(/sample_forward: posF must be u32/);
    expect(() => sampleForward(step, logits, pos, streams, ids, lpNarrow, base)).toThrow(/lpNarrow has width 4, ids has 5/);
    expect(() => sampleForward(step, logits, pos, streams, lp, ids, base)).toThrow(/sample_forward: lp must be u32/);
    expect(() => sampleForward(step, logits, pos, streams, ids, lp, { ...base, topP: 0 })).toThrow(/topP must be in \(0, 1\]/);
    expect(() => sampleForward(step, logits, pos, streams, ids, lp, { ...base, temperature: -1 })).toThrow(/temperature must be ≥ 0/);
    expect(() => sampleForward(step, logits, pos, streams1, ids, lp, base)).toThrow(/streams1 must have shape \(B,2\) = \(3,2\)/);
    expect(() => sampleForward(step, logits, pos, streamsF, ids, lp, base)).toThrow(/sample_forward: streamsF must be u32/);
    expect(() => sampleForward(step, logits, pos, streams, ids, lp, { ...base, workgroupSize: 32 as 16 })).toThrow(/workgroupSize must be 16 or 64/);
    expect(step.dispatchCount).toBe(0);
    rt.free(logits, logits3, pos, posF, ids, lp, lpNarrow, streams, streams1, streamsF);
  });
});
