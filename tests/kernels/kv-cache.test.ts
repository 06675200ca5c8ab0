import { describe, expect } from 'vitest';
import { kvCacheWrite } from '../../src/kernels/kv-cache';
import * as ref from '../../src/reference/kv-cache';
import { gpuTest } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

// A copy: every written value must be bit-exact, every other slot must keep its old contents.
const EXACT = { atol: 0, rtol: 0 };

describe('kv_cache_write', () => {
  const cases = [
    { B: 1, Tn: 1, NH: 1, HS: 1, maxT: 1, pos: [0], offset: 0 },
    { B: 3, Tn: 1, NH: 2, HS: 16, maxT: 20, pos: [19, 0, 7], offset: 0 },
    { B: 2, Tn: 5, NH: 3, HS: 11, maxT: 17, pos: [3, 9], offset: 4 }, // row 1's last tokens fall past maxT
    { B: 5, Tn: 33, NH: 4, HS: 32, maxT: 64, pos: [0, 1, 2, 30, 31], offset: 0 },
  ];
  for (const c of cases) {
    gpuTest(`writes exactly the new slots: B=${c.B} Tn=${c.Tn} NH=${c.NH} HS=${c.HS} maxT=${c.maxT} pos=[${c.pos}]+${c.offset}`, async ({ rt }) => {
      const { B, Tn, NH, HS, maxT, pos, offset } = c;
      const C = NH * HS;
      const x = normal(B * Tn * 3 * C, B * 100 + Tn);
      const oldK = normal(B * NH * maxT * HS, 1);
      const oldV = normal(B * NH * maxT * HS, 2);
      const qkv = rt.upload(x, [B, Tn, 3 * C], 'qkv');
      const tPos = rt.upload(Uint32Array.from(pos), [B], 'pos', 'u32');
      const k = rt.upload(oldK, [B, NH, maxT, HS], 'k cache');
      const v = rt.upload(oldV, [B, NH, maxT, HS], 'v cache');
      const step = rt.step('kv cache write');
      kvCacheWrite(step, qkv, tPos, k, v, offset);
      const [gk, gv] = [step.read(k), step.read(v)];
      await step.submit();
      const expK = Float64Array.from(oldK);
      const expV = Float64Array.from(oldV);
      ref.kvCacheWrite(x, pos, offset, expK, expV, { B, Tn, NH, HS, maxT });
      expectClose(await gk, expK, EXACT, 'k cache');
      expectClose(await gv, expV, EXACT, 'v cache');
      rt.free(qkv, tPos, k, v);
    });
  }

  gpuTest('bad shapes are rejected before anything runs', async ({ rt }) => {
    const qkv = rt.tensor([2, 3, 24], 'qkv');
    const kc = rt.tensor([2, 2, 10, 4], 'kc');
    const vc = rt.tensor([2, 2, 10, 4], 'vc');
    const pos = rt.tensor([2], 'pos', 'u32');
    const posF = rt.tensor([2], 'posF');
    const odd = rt.tensor([2, 25], 'odd');
    const step = rt.step('bad');
    expect(() => kvCacheWrite(step, qkv, posF, kc, vc)).toThrow(/kv_cache_write: posF must be u32/);
    expect(() => kvCacheWrite(step, odd, pos, kc, vc)).toThrow(/kv_cache_write: odd \(qkv \(B,Tn,3C\)\) has 50 elements, not a positive multiple of 2·24 = 48/);
    expect(() => kvCacheWrite(step, qkv, pos, kc, kc)).toThrow(/the key and value caches are the same tensor/);
    expect(() => kvCacheWrite(step, qkv, pos, kc, vc, -1)).toThrow(/offset must be a non-negative integer/);
    expect(step.dispatchCount).toBe(0);
    rt.free(qkv, kc, vc, pos, posF, odd);
  });
});
