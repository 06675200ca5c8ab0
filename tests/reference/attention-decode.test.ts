import { describe, test } from 'vitest';
import { attentionForward } from '../../src/reference/attention';
import { attentionDecodeForward } from '../../src/reference/attention-decode';
import { kvCacheWrite } from '../../src/reference/kv-cache';
import { normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

// Attention against a KV cache (decode_forward's) has no backward (generation only): its reference is checked
// against full causal attention — attending from position s to a cache holding positions 0..s is row s of the causal attention.
describe('reference attention against a KV cache', () => {
  test('equals full causal attention at the new positions, with ragged per-row positions', () => {
    const [B, T, NH, HS] = [3, 11, 2, 5];
    const C = NH * HS;
    const maxT = 12;
    const full = normal(B * T * 3 * C, 9);
    const k = new Float64Array(B * NH * maxT * HS);
    const v = new Float64Array(B * NH * maxT * HS);
    kvCacheWrite(full, [0, 0, 0], 0, k, v, { B, Tn: T, NH, HS, maxT }); // the whole sequence
    const pos = [10, 3, 7];
    const Tn = 1;
    const q = new Float64Array(B * Tn * 3 * C);
    for (let b = 0; b < B; b++) q.set(full.subarray((b * T + pos[b]) * 3 * C, (b * T + pos[b] + 1) * 3 * C), b * 3 * C);
    const got = attentionDecodeForward(q, k, v, pos, 0, { B, Tn, NH, HS, maxT });
    const oracle = attentionForward(full, { B, T, C, NH }).out;
    const expected = new Float64Array(B * C);
    for (let b = 0; b < B; b++) expected.set(oracle.subarray((b * T + pos[b]) * C, (b * T + pos[b] + 1) * C), b * C);
    expectClose(got, expected, { atol: 1e-12, rtol: 1e-12 }, 'decode vs full attention');
  });
});
