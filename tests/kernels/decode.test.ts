import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { decodeCacheStride, decodeForward, decodeWorkShape } from '../../src/kernels/decode';
import { makeConfig } from '../../src/model/config';
import { GPTParams } from '../../src/model/params';
import { decodeForward as referenceDecode } from '../../src/reference/decode';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { normal } from '../helpers/random';
import { expectClose, type Tolerance } from '../helpers/tolerance';
import { gpuTest } from '../helpers/gpu';

// N(0, 0.3²) weights and unit-normal cache entries: every activation is O(1), each an f32 sum of ≤ 4C terms, and
// the logits come through L blocks of LayerNorm, attention and MLP. Measured worst error against float64 on
// SwiftShader: ~4e-6 for the logits, ~2e-6 for the cache slot written (k, v of a block, fewer ops than the logits).
// 2e-5 + 2e-5·|x| is a ~5× margin.
const LOGITS: Tolerance = { atol: 2e-5, rtol: 2e-5 };
const CACHE: Tolerance = { atol: 2e-5, rtol: 2e-5 };
const UNTOUCHED = -12345;

interface Case {
  /** GPT shape: C not a multiple of 16 (nor of 4 once), V not a multiple of any workgroup size. */
  C: number;
  NH: number;
  L: number;
  V: number;
  ctx: number;
  /** Sequence width; cache slots = min(W, ctx). */
  W: number;
  /** Per-row pos; the token read is at pos[b] + offset (≥ W: the row is skipped). */
  pos: number[];
  offset: number;
}

async function run(rt: GpuRuntime, c: Case, workgroupSize: 16 | 64, rowsPerWorkgroup: number) {
  const { C, NH, L, V, ctx, W, pos, offset } = c;
  const B = pos.length;
  const HS = C / NH;
  const maxT = Math.min(W, ctx);
  const config = makeConfig('nano', { vocabSize: V, contextLength: ctx, nLayer: L, nHead: NH, dModel: C, dropout: 0 });
  const weights = randomGptWeights(config, C + V, 0.3);
  const tokens = Uint32Array.from({ length: B * W }, (_, i) => (i * 7 + 3) % V);
  // The cache holds slots 0..s−1 of each row (unit normals) and NaN from slot s on: slot s must be written before
  // it is read, and no slot past s may be read.
  const stride = decodeCacheStride(B, NH, maxT, HS);
  const caches = [0, 1].map((kv) => {
    const perLayer = Array.from({ length: L }, (_, l) => {
      const cache = Float64Array.from(normal(B * NH * maxT * HS, 100 * kv + l + 1));
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < NH; h++) cache.fill(NaN, ((b * NH + h) * maxT + Math.min(pos[b] + offset, maxT)) * HS, (b * NH + h + 1) * maxT * HS);
      }
      return cache;
    });
    const packed = new Float32Array(L * stride);
    perLayer.forEach((cache, l) => packed.set(cache, l * stride));
    return { perLayer, packed };
  });
  const params = GPTParams.create(rt, config, { weights });
  const tTokens = rt.upload(tokens, [B, W], 'tokens', 'u32');
  const tPos = rt.upload(Uint32Array.from(pos), [B], 'pos', 'u32');
  const [kCache, vCache] = caches.map((c, kv) => rt.upload(c.packed, [L, stride], kv ? 'v cache' : 'k cache', 'f32'));
  const work = rt.upload(new Float32Array(decodeWorkShape(B, C, NH, maxT).reduce((a, b) => a * b)).fill(NaN), decodeWorkShape(B, C, NH, maxT), 'work');
  const logits = rt.upload(new Float32Array(B * V).fill(UNTOUCHED), [B, V], 'logits');
  const step = rt.step('decode');
  const model = { ...config, arena: params.arena, offsetOf: (name: string) => params.spec(name).offset };
  decodeForward(step, model, tTokens, tPos, kCache, vCache, work, logits, { offset, workgroupSize, rowsPerWorkgroup });
  const reads = [step.read(logits), step.read(kCache), step.read(vCache)] as const;
  await step.submit();
  const [got, gotK, gotV] = await Promise.all(reads);
  rt.free(tTokens, tPos, kCache, vCache, work, logits);
  params.dispose();

  const [k, v] = caches.map((c) => c.perLayer);
  const expected = referenceDecode(config, weights, tokens, pos, offset, k, v, { B, W, maxT });
  pos.forEach((p, b) => p + offset >= maxT && expected.fill(UNTOUCHED, b * V, (b + 1) * V));
  const unpack = (packed: Float32Array) => Array.from({ length: L }, (_, l) => packed.subarray(l * stride, l * stride + B * NH * maxT * HS));
  return { got, expected, gotK: unpack(gotK), gotV: unpack(gotV), k, v };
}

describe('decode_forward', () => {
  const cases: Case[] = [
    { C: 8, NH: 1, L: 1, V: 5, ctx: 4, W: 4, pos: [0], offset: 0 }, // one key: attention is the value itself
    { C: 24, NH: 3, L: 2, V: 37, ctx: 20, W: 20, pos: [18, 3, 10], offset: 1 }, // HS = 8; row 0 at the last slot
    { C: 40, NH: 2, L: 3, V: 70, ctx: 32, W: 13, pos: [12, 0, 5, 11, 2, 7, 13], offset: 0 }, // W < ctx; row 6 is past W: skipped
    { C: 20, NH: 4, L: 1, V: 3, ctx: 70, W: 70, pos: [68, 31], offset: 1 }, // HS = 5, keys past 64 threads, V < WG
    { C: 18, NH: 3, L: 2, V: 11, ctx: 16, W: 16, pos: [9, 0, 14, 3, 6], offset: 1 }, // C, 3C not multiples of 4: partial column blocks
  ];
  // Rows per workgroup 1 (the GPU default, with 64 threads), 3 (a last workgroup with padding rows for B = 7, 2, 5)
  // and 4 (B = 3: fewer rows than R).
  const variants = [
    { wg: 16, R: 1 },
    { wg: 64, R: 1 },
    { wg: 64, R: 3 },
    { wg: 16, R: 4 },
  ] as const;
  for (const c of cases) {
    for (const { wg, R } of variants) {
      gpuTest(`matches the float64 decode step: C=${c.C} NH=${c.NH} L=${c.L} V=${c.V} W=${c.W} pos=[${c.pos}]+${c.offset}, ${wg} threads, ${R} rows per workgroup`, async ({ rt }) => {
        const { got, expected, gotK, gotV, k, v } = await run(rt, c, wg, R);
        expectClose(got, expected, LOGITS, 'logits vs reference');
        for (let l = 0; l < c.L; l++) {
          expectClose(gotK[l], k[l], CACHE, `layer ${l} k cache vs reference (slot s written, the rest unchanged)`);
          expectClose(gotV[l], v[l], CACHE, `layer ${l} v cache vs reference`);
        }
      });
    }
  }

  gpuTest('bad shapes are rejected before anything runs', async ({ rt }) => {
    const config = makeConfig('nano', { vocabSize: 5, contextLength: 6, nLayer: 2, nHead: 2, dModel: 8, dropout: 0 });
    const params = GPTParams.create(rt, config, { seed: 1 });
    const model = { ...config, arena: params.arena, offsetOf: (name: string) => params.spec(name).offset };
    const [B, W] = [2, 6];
    const stride = decodeCacheStride(B, 2, W, 4);
    const tokens = rt.tensor([B, W], 'tokens', 'u32');
    const tokensF = rt.tensor([B, W], 'tokensF');
    const pos = rt.tensor([B], 'pos', 'u32');
    const kc = rt.tensor([2, stride], 'kc');
    const vc = rt.tensor([2, stride], 'vc');
    const short = rt.tensor([2, stride - 1], 'short');
    const work = rt.tensor(decodeWorkShape(B, 8, 2, W), 'work');
    const logits = rt.tensor([B, 5], 'logits');
    const logitsBad = rt.tensor([B, 4], 'logitsBad');
    const step = rt.step('bad');
    expect(() => decodeForward(step, model, tokensF, pos, kc, vc, work, logits)).toThrow(/decode_forward: tokensF must be u32/);
    expect(() => decodeForward(step, model, tokens, pos, short, vc, work, logits)).toThrow(/decode_forward: short \(k cache \(L, stride\) for maxT = 6\) has/);
    expect(() => decodeForward(step, model, tokens, pos, kc, kc, work, logits)).toThrow(/share a buffer/);
    expect(() => decodeForward(step, model, tokens, pos, kc, vc, work, logitsBad)).toThrow(/logitsBad \(logits \(B,V\)\) has 8 elements, expected 10/);
    expect(() => decodeForward(step, model, tokens, pos, kc, vc, work, logits, { workgroupSize: 32 as 16 })).toThrow(/workgroupSize must be 16 or 64/);
    expect(() => decodeForward(step, model, tokens, pos, kc, vc, work, logits, { rowsPerWorkgroup: 5 })).toThrow(/rowsPerWorkgroup must be an integer in 1..4, got 5/);
    const shuffled = { ...model, offsetOf: (name: string) => (name === 'h.1.ln_2.bias' ? 0 : model.offsetOf(name)) };
    expect(() => decodeForward(step, shuffled, tokens, pos, kc, vc, work, logits)).toThrow(/h.1.ln_2.bias is not at a regular layer stride/);
    expect(step.dispatchCount).toBe(0);
    rt.free(tokens, tokensF, pos, kc, vc, short, work, logits, logitsBad);
    params.dispose();
  });
});
