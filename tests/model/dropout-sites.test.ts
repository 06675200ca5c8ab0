// Every dropout site of the model draws its own mask (src/model/gpt.ts): the embeddings', and in each block the
// attention output's and the MLP output's, so no two in a forward pass share {seed, step, site}, and the site numbers
// are the ones the float64 reference model uses (tests/model/gpt.test.ts compares loss and gradients with dropout on,
// which catches a shared or skipped site too; this test names the site at fault).
import { describe, expect, vi } from 'vitest';
import * as ops from '../../src/autograd/ops';
import { makeConfig } from '../../src/model/config';
import { GPT } from '../../src/model/gpt';
import { lossAndGrads } from '../../src/model/train';
import { gpuTest } from '../helpers/gpu';
import { integers } from '../helpers/random';

// The model's dropout, watched: every call goes through to the real op.
vi.mock('../../src/autograd/ops', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/autograd/ops')>();
  return { ...original, dropout: vi.fn(original.dropout) };
});

describe('dropout sites', () => {
  gpuTest('a training forward pass draws 1 + 2·nLayer masks, each its own site, all with the pass’s seed and step', async ({ rt }) => {
    const config = makeConfig('nano', { dropout: 0.2, nLayer: 3 });
    const model = GPT.create(rt, config, { seed: 3, dropoutSeed: 9 });
    const [B, T] = [2, 8];
    const batch = { B, T, tokens: integers(B * T, config.vocabSize, 1), targets: integers(B * T, config.vocabSize, 2) };
    const dropout = vi.mocked(ops.dropout);
    try {
      const keysOfPass = async () => {
        dropout.mockClear();
        await lossAndGrads(model, batch);
        return dropout.mock.calls.map(([, , p, key]) => ({ p, ...key }));
      };
      const first = await keysOfPass();
      expect(first).toHaveLength(1 + 2 * config.nLayer);
      expect(new Set(first.map((k) => k.site)).size, 'distinct sites').toBe(first.length);
      for (const k of first) expect(k).toMatchObject({ p: 0.2, seed: 9, step: first[0].step });
      // The next pass: the same sites at the next step (fresh masks).
      const second = await keysOfPass();
      expect(second.map((k) => k.site)).toEqual(first.map((k) => k.site));
      for (const k of second) expect(k.step).toBe(first[0].step + 1);
    } finally {
      model.dispose();
    }
  });
});
