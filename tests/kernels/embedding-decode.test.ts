import { describe, expect } from 'vitest';
import { embeddingDecode } from '../../src/kernels/embedding-decode';
import * as ref from '../../src/reference/embedding';
import { embeddingDecodeForward } from '../../src/reference/embedding-decode';
import { gpuTest } from '../helpers/gpu';
import { integers, normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

// One f32 addition of two f32 inputs: only its rounding (≤ half an ulp of values ~1), as embedding_forward.
const FWD = { atol: 1e-6, rtol: 1e-6 };
const UNTOUCHED = -777;

describe('embedding_decode', () => {
  const cases = [
    { B: 1, W: 1, Tn: 1, C: 1, V: 1, maxT: 1, pos: [0], offset: 0 },
    { B: 3, W: 20, Tn: 1, C: 32, V: 50, maxT: 24, pos: [18, 0, 6], offset: 1 },
    { B: 2, W: 30, Tn: 7, C: 33, V: 257, maxT: 32, pos: [0, 20], offset: 0 }, // row 1 runs past W
    { B: 2, W: 40, Tn: 3, C: 16, V: 9, maxT: 10, pos: [8, 1], offset: 0 }, // row 0 runs past maxT
  ];
  for (const c of cases) {
    gpuTest(`embeds tokens[b, pos+i] at position pos+i: B=${c.B} W=${c.W} Tn=${c.Tn} C=${c.C} pos=[${c.pos}]+${c.offset}`, async ({ rt }) => {
      const { B, W, Tn, C, V, maxT, pos, offset } = c;
      const ids = integers(B * W, V, C + W);
      const wte = normal(V * C, 1);
      const wpe = normal(maxT * C, 2);
      const tTokens = rt.upload(ids, [B, W], 'tokens', 'u32');
      const tPos = rt.upload(Uint32Array.from(pos), [B], 'pos', 'u32');
      const tWte = rt.upload(wte, [V, C], 'wte');
      const tWpe = rt.upload(wpe, [maxT, C], 'wpe');
      const out = rt.upload(new Float32Array(B * Tn * C).fill(UNTOUCHED), [B, Tn, C], 'out');
      const step = rt.step('embedding decode');
      embeddingDecode(step, tTokens, tPos, tWte, tWpe, out, offset);
      const got = step.read(out);
      await step.submit();
      const expected = embeddingDecodeForward(ids, pos, offset, wte, wpe, { B, W, Tn, C, maxT });
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < Tn; i++) {
          const s = pos[b] + offset + i;
          if (s >= W || s >= maxT) expected.fill(UNTOUCHED, (b * Tn + i) * C, (b * Tn + i + 1) * C);
        }
      }
      expectClose(await got, expected, FWD, 'embedding_decode');
      rt.free(tTokens, tPos, tWte, tWpe, out);
    });
  }

  gpuTest('agrees with embedding_forward’s reference when every row starts at 0', async ({ rt }) => {
    const [B, T, C, V] = [3, 9, 8, 20];
    const ids = integers(B * T, V, 5);
    const wte = normal(V * C, 6);
    const wpe = normal(T * C, 7);
    const tTokens = rt.upload(ids, [B, T], 'tokens', 'u32');
    const tPos = rt.upload(new Uint32Array(B), [B], 'pos', 'u32');
    const tWte = rt.upload(wte, [V, C], 'wte');
    const tWpe = rt.upload(wpe, [T, C], 'wpe');
    const out = rt.tensor([B, T, C], 'out');
    const step = rt.step('embedding decode prefill');
    embeddingDecode(step, tTokens, tPos, tWte, tWpe, out);
    const got = step.read(out);
    await step.submit();
    expectClose(await got, ref.embeddingForward(ids, wte, wpe, B, T, C), FWD, 'embedding_decode as a prefill');
    rt.free(tTokens, tPos, tWte, tWpe, out);
  });

  gpuTest('bad shapes are rejected before anything runs', async ({ rt }) => {
    const tokens = rt.tensor([2, 5], 'tokens', 'u32');
    const tokensF = rt.tensor([2, 5], 'tokensF');
    const pos = rt.tensor([2], 'pos', 'u32');
    const wte = rt.tensor([7, 4], 'wte');
    const wpe = rt.tensor([6, 3], 'wpe');
    const wpe4 = rt.tensor([6, 4], 'wpe4');
    const out = rt.tensor([2, 1, 4], 'out');
    const odd = rt.tensor([9], 'odd');
    const step = rt.step('bad');
    expect(() => embeddingDecode(step, tokensF, pos, wte, wpe4, out)).toThrow(/embedding_decode: tokensF must be u32/);
    expect(() => embeddingDecode(step, tokens, pos, wte, wpe, out)).toThrow(/embedding_decode: wpe has 3 channels, wte has 4/);
    expect(() => embeddingDecode(step, tokens, pos, wte, wpe4, odd)).toThrow(/embedding_decode: odd has 9 elements, not a positive multiple of B·C = 8/);
    expect(step.dispatchCount).toBe(0);
    rt.free(tokens, tokensF, pos, wte, wpe, wpe4, out, odd);
  });
});
