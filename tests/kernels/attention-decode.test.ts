import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { attentionDecode } from '../../src/kernels/attention-decode';
import { kvCacheWrite } from '../../src/kernels/kv-cache';
import * as ref from '../../src/reference/attention';
import { attentionDecodeForward } from '../../src/reference/attention-decode';
import { gpuTest } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { expectClose, type Tolerance } from '../helpers/tolerance';

// As attention_forward: unit-normal q, k, v give O(1) scores, each an f32 dot of HS ≤ 128 terms, and the online
// softmax over up to 130 keys adds a few ulp per tile: out lands within ~1e-6 of float64; 5e-6 + 1e-5·|x| is ~5×.
const OUT: Tolerance = { atol: 5e-6, rtol: 1e-5 };
const UNTOUCHED = -12345;

interface Case {
  B: number;
  T: number; // full sequence length (the oracle runs causal attention over it)
  C: number;
  NH: number;
  Tn: number; // new tokens per row this step
  pos: number[]; // per-row position of the first new token
  maxT: number;
}

/**
 * Fills the cache the way generation does — a prefill of the positions before each row's new tokens (positions at
 * or past pos[b] get NaN garbage there, which the new tokens must overwrite) — then appends the new tokens and
 * attends. The oracle is full causal attention over the whole sequence (src/reference/attention.ts).
 */
async function run(rt: GpuRuntime, c: Case, seed: number, workgroupSize: 16 | 64) {
  const { B, T, C, NH, Tn, pos, maxT } = c;
  const HS = C / NH;
  const full = normal(B * T * 3 * C, seed);
  const P = Math.max(1, ...pos);
  const prefix = new Float32Array(B * P * 3 * C).fill(NaN);
  const fresh = new Float32Array(B * Tn * 3 * C).fill(NaN);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Math.min(pos[b], P); t++) prefix.set(full.subarray((b * T + t) * 3 * C, (b * T + t + 1) * 3 * C), (b * P + t) * 3 * C);
    for (let i = 0; i < Tn; i++) {
      const t = pos[b] + i;
      if (t < T) fresh.set(full.subarray((b * T + t) * 3 * C, (b * T + t + 1) * 3 * C), (b * Tn + i) * 3 * C);
    }
  }
  const tPrefix = rt.upload(prefix, [B, P, 3 * C], 'qkv prefix');
  const tFresh = rt.upload(fresh, [B, Tn, 3 * C], 'qkv new');
  const zeros = rt.upload(new Uint32Array(B), [B], 'zeros', 'u32');
  // pos is passed as pos − 1 with offset 1, exercising the offset the generation loop advances per step
  const tPos = rt.upload(Uint32Array.from(pos, (p) => Math.max(p - 1, 0)), [B], 'pos', 'u32');
  const offsets = pos.map((p) => (p === 0 ? 0 : 1));
  if (new Set(offsets).size !== 1) throw new Error('test setup: rows at position 0 need every row at 0');
  const kCache = rt.upload(new Float32Array(B * NH * maxT * HS).fill(NaN), [B, NH, maxT, HS], 'k cache');
  const vCache = rt.upload(new Float32Array(B * NH * maxT * HS).fill(NaN), [B, NH, maxT, HS], 'v cache');
  const out = rt.upload(new Float32Array(B * Tn * C).fill(UNTOUCHED), [B, Tn, C], 'out');
  const step = rt.step('attention decode');
  kvCacheWrite(step, tPrefix, zeros, kCache, vCache);
  kvCacheWrite(step, tFresh, tPos, kCache, vCache, offsets[0]);
  attentionDecode(step, tFresh, kCache, vCache, tPos, out, { offset: offsets[0], workgroupSize });
  const reads = [step.read(out), step.read(kCache), step.read(vCache)];
  await step.submit();
  const [got, kc, vc] = await Promise.all(reads);
  rt.free(tPrefix, tFresh, zeros, tPos, kCache, vCache, out);

  // Oracle: full causal attention, at each new token's position.
  const oracle = ref.attentionForward(full, { B, T, C, NH }).out;
  const expected = new Float64Array(B * Tn * C).fill(UNTOUCHED);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tn; i++) {
      const t = pos[b] + i;
      if (t < maxT) expected.set(oracle.subarray((b * T + t) * C, (b * T + t + 1) * C), (b * Tn + i) * C);
    }
  }
  return { got, expected, kc, vc, fresh };
}

describe('attention_decode', () => {
  const cases: Case[] = [
    { B: 1, T: 1, C: 4, NH: 1, Tn: 1, pos: [0], maxT: 1 },
    { B: 3, T: 20, C: 32, NH: 2, Tn: 1, pos: [19, 4, 11], maxT: 20 },
    { B: 2, T: 70, C: 64, NH: 4, Tn: 3, pos: [65, 1], maxT: 72 }, // more than one 64-key tile
    { B: 4, T: 33, C: 48, NH: 3, Tn: 2, pos: [31, 7, 1, 20], maxT: 33 },
    { B: 2, T: 130, C: 256, NH: 2, Tn: 1, pos: [129, 64], maxT: 130 }, // HS = 128: two channels per thread
    { B: 2, T: 12, C: 16, NH: 2, Tn: 4, pos: [9, 2], maxT: 11 }, // row 0's last two queries are past the cache
    { B: 2, T: 300, C: 24, NH: 2, Tn: 1, pos: [299, 257], maxT: 300 }, // HS = 12 (64 threads: 5 key groups + 4 idle); two 256-key chunks
    { B: 1, T: 40, C: 200, NH: 2, Tn: 2, pos: [37], maxT: 40 }, // HS = 100: second channels for threads < 36 only
  ];
  for (const c of cases) {
    for (const wg of [16, 64] as const) {
      gpuTest(`matches full causal attention at the new positions: B=${c.B} C=${c.C} NH=${c.NH} Tn=${c.Tn} pos=[${c.pos}] maxT=${c.maxT}, ${wg} threads`, async ({ rt }) => {
        const { got, expected, kc, vc, fresh } = await run(rt, c, c.T * 7 + c.C, wg);
        expectClose(got, expected, OUT, 'attention_decode out vs full attention');
        // and the same against the decode reference reading the GPU's own cache
        const HS = c.C / c.NH;
        const dec = attentionDecodeForward(fresh, kc, vc, c.pos, 0, { B: c.B, Tn: c.Tn, NH: c.NH, HS, maxT: c.maxT });
        dec.forEach((v, i) => (dec[i] = c.pos[Math.floor(i / (c.Tn * c.C))] + Math.floor(i / c.C) % c.Tn >= c.maxT ? UNTOUCHED : v));
        expectClose(got, dec, OUT, 'attention_decode out vs decode reference');
      });
    }
  }

  gpuTest('bad shapes are rejected before anything runs', async ({ rt }) => {
    const qkv = rt.tensor([2, 1, 24], 'qkv');
    const kc = rt.tensor([2, 2, 10, 4], 'kc');
    const vc = rt.tensor([2, 2, 10, 4], 'vc');
    const vcBad = rt.tensor([2, 2, 9, 4], 'vcBad');
    const pos = rt.tensor([2], 'pos', 'u32');
    const posBad = rt.tensor([3], 'posBad', 'u32');
    const out = rt.tensor([2, 1, 8], 'out');
    const outBad = rt.tensor([2, 1, 9], 'outBad');
    const big = rt.tensor([1, 1, 10, 256], 'big');
    const step = rt.step('bad');
    expect(() => attentionDecode(step, qkv, kc, vcBad, pos, out)).toThrow(/attention_decode: kc \[2,2,10,4\] and vcBad \[2,2,9,4\] differ/);
    expect(() => attentionDecode(step, qkv, kc, vc, posBad, out)).toThrow(/attention_decode: posBad must have B = 2 elements/);
    expect(() => attentionDecode(step, qkv, kc, vc, pos, outBad)).toThrow(/attention_decode: outBad \(out \(B,Tn,C\)\) has 18 elements, expected 16/);
    expect(() => attentionDecode(step, out, kc, vc, pos, out)).toThrow(/attention_decode: out \(qkv \(B,Tn,3C\)\) has 16 elements, not a positive multiple/);
    expect(() => attentionDecode(step, qkv, big, big, pos, out)).toThrow(/head size 256 exceeds/);
    expect(() => attentionDecode(step, qkv, kc.reshape([2, 20, 4]), vc, pos, out)).toThrow(/must have shape \(B,NH,maxT,HS\)/);
    expect(() => attentionDecode(step, qkv, kc, vc, pos, out, { workgroupSize: 32 as 16 })).toThrow(/workgroupSize must be 16 or 64/);
    expect(step.dispatchCount).toBe(0);
    rt.free(qkv, kc, vc, vcBad, pos, posBad, out, outBad, big);
  });
});
