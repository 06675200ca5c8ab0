// The theoretical minimum of training memory (src/bench/memory.ts), counted by hand on nano. (That it is a lower
// bound of what the engine really holds is checked by the benchmark itself on every run: see measureLab.)
import { describe, expect, test } from 'vitest';
import { activationFloats, blockActivationFloats, theoreticalMinimum } from '../../src/bench/memory';
import { makeConfig } from '../../src/model/config';

const nano = makeConfig('nano'); // V 64, ctx 32, L 2, NH 2, C 32

describe('theoretical minimum of training memory', () => {
  test('nano, B = 2, T = 8: every term counted by hand', () => {
    // Parameters: wte 64·32 = 2048, wpe 32·32 = 1024; per block ln_1 2·32 = 64, c_attn 32·96 + 96 = 3168,
    // c_proj 32·32 + 32 = 1056, ln_2 64, c_fc 32·128 + 128 = 4224, mlp.c_proj 128·32 + 32 = 4128 → 12704;
    // two blocks 25408; ln_f 64. P = 2048 + 1024 + 25408 + 64 = 28544.
    const P = 28544;
    // Activations, N = 16 rows, C = 32: embedding 16·32 = 512.
    // Per block: ln_1 out 512 + mean/rstd 32, qkv 1536, attention out 512 + lse 2·16 = 32, residual 512,
    // ln_2 out 512 + mean/rstd 32, pre-GELU 2048, GELU 2048, residual 512 = 8288.
    const block = 512 + 32 + 1536 + 512 + 32 + 512 + 512 + 32 + 2048 + 2048 + 512;
    expect(block).toBe(8288);
    // Final: ln_f out 512 + mean/rstd 32, logits 16·64 = 1024.
    const activations = 512 + 2 * block + 512 + 32 + 1024;
    expect(activations).toBe(18656);

    expect(blockActivationFloats(16, 32, 2)).toBe(block);
    expect(activationFloats(nano, 2, 8)).toBe(activations);
    const min = theoreticalMinimum(nano, 2, 8);
    expect(min).toEqual({ params: P, grads: P, adamM: P, adamV: P, activations, perBlock: block, bytes: 4 * (4 * P + activations) });
    expect(min.bytes).toBe(531328);
  });

  test('grows linearly in the batch, and rejects batches that do not fit', () => {
    const one = theoreticalMinimum(nano, 1, 32);
    const two = theoreticalMinimum(nano, 2, 32);
    expect(two.activations).toBe(2 * one.activations);
    expect(two.params).toBe(one.params);
    expect(() => theoreticalMinimum(nano, 1, 33)).toThrow(/exceeds contextLength 32/);
    expect(() => theoreticalMinimum(nano, 0, 8)).toThrow(/positive integers/);
  });
});
