import { describe, test } from 'vitest';
import { decodeForward } from '../../src/reference/decode';
import { gptForward } from '../../src/reference/gpt';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { integers } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

// The decode step has no backward (generation only): its reference is checked against the full-sequence reference
// GPT — decoding a sequence one token at a time from an empty cache gives, at every step, the logits of the full
// causal forward at that position.
describe('reference decode step', () => {
  test('token-by-token decoding equals the full forward at every position, with ragged per-row positions', () => {
    const shape = { vocabSize: 13, contextLength: 9, nLayer: 2, nHead: 3, dModel: 12 };
    const weights = randomGptWeights(shape, 4, 0.3);
    const [B, W, V] = [3, 9, shape.vocabSize];
    const HS = shape.dModel / shape.nHead;
    const tokens = integers(B * W, V, 5);
    const full = gptForward(shape, weights, tokens, B, W); // (B,W,V)
    const cache = () => Array.from({ length: shape.nLayer }, () => new Float64Array(B * shape.nHead * W * HS));
    const [k, v] = [cache(), cache()];
    // Lockstep from position 0: step s reads every row's token s (pos 0, offset s).
    for (let s = 0; s < W; s++) {
      const pos = [0, 0, 0];
      const logits = decodeForward(shape, weights, tokens, pos, s, k, v, { B, W, maxT: W });
      const expected = new Float64Array(B * V);
      for (let b = 0; b < B; b++) expected.set(full.subarray((b * W + s) * V, (b * W + s + 1) * V), b * V);
      expectClose(logits, expected, { atol: 1e-12, rtol: 1e-12 }, `step ${s}`);
    }
    // Ragged: row b at pos[b] + offset, its cache holding its earlier slots (and later ones, which it must not read:
    // they hold later tokens' keys).
    const pos = [0, 2, 5];
    for (let offset = 0; offset + 5 < W; offset++) {
      const logits = decodeForward(shape, weights, tokens, pos, offset, k, v, { B, W, maxT: W });
      for (let b = 0; b < B; b++) {
        const s = pos[b] + offset;
        expectClose(logits.subarray(b * V, (b + 1) * V), full.subarray((b * W + s) * V, (b * W + s + 1) * V), { atol: 1e-12, rtol: 1e-12 }, `row ${b} at ${s}`);
      }
    }
  });
});
