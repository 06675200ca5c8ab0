import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import {
  buildTokenIndex,
  embeddingBackward,
  embeddingBackwardWpe,
  embeddingBackwardWte,
  embeddingForward,
  uploadTokenIndex,
  writeTokenIndex,
} from '../../src/kernels/embedding';
import * as ref from '../../src/reference/embedding';
import { gpuTest } from '../helpers/gpu';
import { integers, normal } from '../helpers/random';
import { expectClose, type Tolerance } from '../helpers/tolerance';

// Forward: one f32 addition of two f32 inputs, so the only error is its rounding (≤ half an ulp of values ~1).
const FWD: Tolerance = { atol: 1e-6, rtol: 1e-6 };
// Backward: f32 sums of up to B·T = 256 terms ~N(0,1) (one id repeated everywhere in the skewed case):
// error ~√k·ulp·|partial sum| ≲ 1e-5 absolute.
const BWD: Tolerance = { atol: 2e-5, rtol: 1e-5 };

interface Case {
  B: number;
  T: number;
  C: number;
  V: number;
  maxT: number;
  skew?: boolean; // every position holds the same id: one long index list
}

async function run(rt: GpuRuntime, c: Case, seed: number, accumulate = false) {
  const { B, T, C, V, maxT } = c;
  const ids = c.skew ? new Uint32Array(B * T).fill(V - 1) : integers(B * T, V, seed);
  const wte = normal(V * C, seed + 1);
  const wpe = normal(maxT * C, seed + 2);
  const dy = normal(B * T * C, seed + 3);
  const prior = { dwte: normal(V * C, seed + 4), dwpe: normal(maxT * C, seed + 5) };
  const tokens = rt.upload(ids, [B, T], 'tokens', 'u32');
  const tWte = rt.upload(wte, [V, C], 'wte');
  const tWpe = rt.upload(wpe, [maxT, C], 'wpe');
  const dout = rt.upload(dy, [B, T, C], 'dout');
  const out = rt.tensor([B, T, C], 'out');
  // Non-accumulating runs start from garbage so an unwritten element cannot pass by luck.
  const dwte = rt.upload(accumulate ? prior.dwte : new Float32Array(V * C).fill(NaN), [V, C], 'dwte');
  const dwpe = rt.upload(accumulate ? prior.dwpe : new Float32Array(maxT * C).fill(NaN), [maxT, C], 'dwpe');
  const index = uploadTokenIndex(rt, buildTokenIndex(ids, V));
  const step = rt.step('embedding');
  embeddingForward(step, tokens, tWte, tWpe, out);
  embeddingBackward(step, dout, index, dwte, dwpe, { accumulateWte: accumulate, accumulateWpe: accumulate });
  const reads = [out, dwte, dwpe].map((t) => step.read(t));
  await step.submit();
  const [y, gWte, gWpe] = await Promise.all(reads);
  rt.free(tokens, tWte, tWpe, dout, out, dwte, dwpe, index.offsets, index.positions);

  const g = ref.embeddingBackward(dy, ids, B, T, C, V);
  const expWpe = new Float64Array(maxT * C);
  expWpe.set(g.dwpe);
  if (accumulate) {
    g.dwte.forEach((v, i) => (g.dwte[i] = v + prior.dwte[i]));
    expWpe.forEach((v, i) => (expWpe[i] = v + prior.dwpe[i]));
  }
  expectClose(y, ref.embeddingForward(ids, wte, wpe, B, T, C), FWD, 'embedding out');
  expectClose(gWte, g.dwte, BWD, 'embedding dwte');
  expectClose(gWpe, expWpe, BWD, 'embedding dwpe');
}

describe('embedding', () => {
  const cases: Case[] = [
    { B: 1, T: 1, C: 1, V: 1, maxT: 1 },
    { B: 2, T: 17, C: 33, V: 50, maxT: 20 },
    { B: 4, T: 64, C: 64, V: 97, maxT: 64 },
    { B: 2, T: 9, C: 48, V: 5000, maxT: 16 }, // most ids unused: their rows must come out 0
    { B: 4, T: 64, C: 5, V: 7, maxT: 64, skew: true },
  ];
  for (const c of cases) {
    gpuTest(`forward and backward match the float64 reference, B=${c.B} T=${c.T} C=${c.C} V=${c.V}${c.skew ? ' one id' : ''}`, async ({ rt }) => {
      await run(rt, c, c.V * 31 + c.C);
    });
  }

  gpuTest('backward accumulates into existing dwte and dwpe (rows of absent ids and t ≥ T are kept)', async ({ rt }) => {
    await run(rt, { B: 3, T: 11, C: 13, V: 40, maxT: 16 }, 5, true);
  });

  gpuTest('the token index lists positions by id in increasing order and rejects ids ≥ V', () => {
    const index = buildTokenIndex(Uint32Array.from([2, 0, 2, 3, 0, 2]), 5);
    expect(Array.from(index.offsets)).toEqual([0, 2, 2, 5, 6, 6]);
    expect(Array.from(index.positions)).toEqual([1, 4, 0, 2, 5, 3]);
    expect(() => buildTokenIndex(Uint32Array.from([1, 2, 9, 0]), 5)).toThrow(/token id 9 at position 2 is outside the vocabulary 0..4/);
  });

  gpuTest('an out-of-range id in a GPU token tensor gives a NaN row, not a silent read', async ({ rt }) => {
    const [B, T, C, V] = [1, 3, 4, 5];
    const tokens = rt.upload([1, 7, 4], [B, T], 'tokens', 'u32');
    const wte = rt.upload(normal(V * C, 1), [V, C], 'wte');
    const wpe = rt.upload(normal(T * C, 2), [T, C], 'wpe');
    const out = rt.tensor([B, T, C], 'out');
    const step = rt.step('bad id');
    embeddingForward(step, tokens, wte, wpe, out);
    const y = step.read(out);
    await step.submit();
    const values = await y;
    const row = (t: number) => Array.from(values.subarray(t * C, (t + 1) * C));
    expect(row(1).every(Number.isNaN)).toBe(true);
    expect(row(0).concat(row(2)).every(Number.isFinite)).toBe(true);
    rt.free(tokens, wte, wpe, out);
  });

  gpuTest('an index written into existing tensors is used by the next step', async ({ rt }) => {
    const [B, T, C, V] = [1, 4, 3, 3];
    const index = uploadTokenIndex(rt, buildTokenIndex(Uint32Array.from([0, 0, 0, 0]), V));
    writeTokenIndex(rt, buildTokenIndex(Uint32Array.from([2, 1, 2, 0]), V), index);
    const dy = normal(B * T * C, 3);
    const dout = rt.upload(dy, [B, T, C], 'dout');
    const dwte = rt.tensor([V, C], 'dwte');
    const step = rt.step('rewritten index');
    embeddingBackwardWte(step, dout, index, dwte);
    const g = step.read(dwte);
    await step.submit();
    expectClose(await g, ref.embeddingBackward(dy, [2, 1, 2, 0], B, T, C, V).dwte, BWD, 'dwte with rewritten index');
    rt.free(index.offsets, index.positions, dout, dwte);
  });

  gpuTest('wrong shapes are rejected before anything runs', async ({ rt }) => {
    const [B, T, C, V] = [2, 3, 4, 5];
    const tokens = rt.tensor([B, T], 'tokens', 'u32');
    const flat = rt.tensor([B * T], 'flat-tokens', 'u32');
    const ftok = rt.tensor([B, T], 'f32-tokens');
    const wte = rt.tensor([V, C], 'wte');
    const wpeShort = rt.tensor([T - 1, C], 'wpe-short');
    const wpe = rt.tensor([T, C], 'wpe');
    const out = rt.tensor([B, T, C], 'out');
    const out2 = rt.tensor([B, T, C + 1], 'out2');
    const index = uploadTokenIndex(rt, buildTokenIndex(new Uint32Array(B * T), V - 1));
    const step = rt.step('bad');
    expect(() => embeddingForward(step, flat, wte, wpe, out)).toThrow(/embedding_forward: flat-tokens must have shape \(B,T\), got \[6\]/);
    expect(() => embeddingForward(step, ftok, wte, wpe, out)).toThrow(/embedding_forward: f32-tokens must be u32/);
    expect(() => embeddingForward(step, tokens, wte, wpeShort, out)).toThrow(/embedding_forward: wpe-short has 2 positions, fewer than T = 3/);
    expect(() => embeddingForward(step, tokens, wte, wpe, out2)).toThrow(/embedding_forward: out2 \(out \(B,T,C\)\) has 30 elements, expected 24/);
    expect(() => embeddingBackwardWte(step, out, index, wte)).toThrow(/embedding_backward_wte: token index\/offsets \(offsets \(V\+1\)\) has 5 elements, expected 6/);
    expect(() => embeddingBackwardWpe(step, out2, wpe)).toThrow(/embedding_backward_wpe: wpe has 4 channels, dout has 5/);
    expect(step.dispatchCount).toBe(0);
    rt.free(tokens, flat, ftok, wte, wpeShort, wpe, out, out2, index.offsets, index.positions);
  });
});
