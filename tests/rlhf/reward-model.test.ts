// The reward model stage on a toy preference the nano GPT can learn: more "a"s and fewer "b"s is better.
import { describe, expect } from 'vitest';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { makeConfig } from '../../src/model/config';
import { mixSeed, seededRandom } from '../../src/model/data';
import { generate } from '../../src/model/generate';
import { GPT } from '../../src/model/gpt';
import type { Ranking } from '../../src/rlhf/preferences';
import { encodeQuery } from '../../src/rlhf/sequences';
import { sampleBatchRows } from '../../src/rlhf/batch-sizes';
import { centerOnDemonstrations, evaluateRewardModel, orderByScore, packRankings, sampleResponses, scoreRankings, trainRewardModel } from '../../src/rlhf/reward-model';
import { gpuTest } from '../helpers/gpu';

const tok = CharTokenizer.fromText('abcdefgh: ');
const gold = (_prompt: string, response: string) => [...response].reduce((s, c) => s + (c === 'a' ? 1 : c === 'b' ? -1 : 0), 0);

function toyRankings(n: number, seed: number, k = 4): Ranking[] {
  const random = seededRandom(seed);
  const letters = 'abcdefgh';
  return Array.from({ length: n }, (_, i) => {
    const completions = new Set<string>();
    while (completions.size < k) completions.add(Array.from({ length: 3 + Math.floor(random() * 5) }, () => letters[Math.floor(random() * 8)]).join(''));
    const list = [...completions];
    const golds = list.map((c) => gold('', c));
    return { prompt: `p${i % 7}:`, completions: orderByScore(golds).map((j) => list[j]), source: 'simulated' as const };
  });
}

describe('reward model', () => {
  gpuTest('packRankings groups each ranking\'s completions in order with offsets', async () => {
    const r = toyRankings(3, 1, 5);
    const { batch, offsets } = packRankings(tok, r, 10, 32);
    expect(Array.from(offsets)).toEqual([0, 5, 10, 15]);
    expect(batch.B).toBe(15);
    // Every row ends with EOS at `last`.
    for (let b = 0; b < batch.B; b++) expect(batch.tokens[b * batch.T + batch.last[b]]).toBe(tok.special.eos);
  });

  gpuTest('learns a toy preference from K-way rankings: held-out accuracy and gold agreement well above chance; centring makes demonstrations average 0', async ({ rt }) => {
    const config = makeConfig('nano', { vocabSize: tok.vocabSize, dropout: 0 });
    const rm = GPT.create(rt, config, { seed: 3, head: 'score' });
    try {
      const train = toyRankings(64, 2);
      const held = toyRankings(24, 99);
      const before = await evaluateRewardModel(rm, tok, held, 10, gold);
      const log = await trainRewardModel(rm, tok, train, { lr: 3e-3, groupsPerStep: 8, epochs: 2, warmupSteps: 2, seed: 4, maxResponseTokens: 10 });
      expect(log).toHaveLength(16);
      const early = log.slice(0, 4).reduce((s, m) => s + m['rm/loss'], 0) / 4;
      const late = log.slice(-4).reduce((s, m) => s + m['rm/loss'], 0) / 4;
      expect(late).toBeLessThan(early);
      const after = await evaluateRewardModel(rm, tok, held, 10, gold);
      expect(after.accuracy).toBeGreaterThan(0.8);
      expect(after.accuracy).toBeGreaterThan(before.accuracy + 0.15);
      expect(after.goldAgreement).toBeGreaterThan(0.8);
      expect(after.labelerGoldAgreement).toBe(1); // these rankings are the gold order itself

      const demos = [{ prompt: 'p1:', completion: 'aaa' }, { prompt: 'p2:', completion: 'bcd' }, { prompt: 'p3:', completion: 'hhb' }];
      await centerOnDemonstrations(rm, tok, demos, 10);
      const scores = await scoreRankings(rm, tok, demos.map((d) => ({ prompt: d.prompt, completions: [d.completion], source: 'imported' as const })), 10);
      expect(Math.abs(scores.reduce((s, [x]) => s + x, 0) / 3)).toBeLessThan(1e-5);
    } finally {
      rm.dispose();
    }
  });

  gpuTest('a model without the score head is refused', async ({ rt }) => {
    const lm = GPT.create(rt, makeConfig('nano', { vocabSize: tok.vocabSize }), { seed: 1 });
    try {
      await expect(trainRewardModel(lm, tok, toyRankings(2, 1), { lr: 1e-3, groupsPerStep: 1, epochs: 1, warmupSteps: 0, seed: 1, maxResponseTokens: 8 })).rejects.toThrow(/score head/);
    } finally {
      lm.dispose();
    }
  });
});

describe('sampleResponses', () => {
  gpuTest('draws the same samples whatever number of sequences it generates at once (its streams are per row)', async ({ rt }) => {
    // 3 prompts × 50 samples = 150 rows: three seed blocks of 64 rows (the last ragged), cut differently by each batch size.
    const policy = GPT.create(rt, makeConfig('nano', { vocabSize: tok.vocabSize }), { seed: 3 });
    try {
      const prompts = ['ab:', 'c:', 'hg:'];
      const sample = (batchSize: number) => sampleResponses(policy, tok, prompts, 50, { maxResponseTokens: 6, temperature: 1, seed: 9, batchSize });
      const rows = (r: Awaited<ReturnType<typeof sample>>) => r.ids.flat().map((ids) => Array.from(ids));
      const byDevice = rows(await sample(sampleBatchRows(rt.adapter)));
      for (const batchSize of [7, 64, 150]) expect(rows(await sample(batchSize)), `${batchSize} at once`).toEqual(byDevice);
      // The layout of the streams: rows 64..127 draw as a batch of their own seeded mixSeed(seed, 64).
      const queries = Array.from({ length: 64 }, (_, j) => encodeQuery(tok, prompts[Math.floor((64 + j) / 50)], policy.config.contextLength - 6));
      const block = await generate(policy, { prompts: queries, maxNewTokens: 6, temperature: 1, seed: mixSeed(9, 64), eos: tok.special.eos });
      expect(block.ids.map((ids) => Array.from(ids))).toEqual(byDevice.slice(64, 128));
      // The rows are samples, not copies: a prompt's 50 responses are not all the same.
      for (let p = 0; p < 3; p++) expect(new Set(byDevice.slice(50 * p, 50 * p + 50).map((ids) => ids.join())).size).toBeGreaterThan(10);
    } finally {
      policy.dispose();
    }
  });
});
