// The SFT stage's held-out metrics (src/rlhf/stages/sft-run.ts tokenAccuracy → summary sft.mean_token_accuracy,
// entropy, sft/heldout_loss) count the positions the SFT loss trains (sftBatch weight ≠ 0: the completion and its EOS)
// and nothing else: the prompt and padding positions are predicted right at a different rate, so counting them would
// move the numbers.
import { describe, expect } from 'vitest';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { makeConfig } from '../../src/model/config';
import { type SftExample, sftBatch } from '../../src/model/data';
import { GPT } from '../../src/model/gpt';
import { supervisedFineTune } from '../../src/model/sft';
import { tokenAccuracy } from '../../src/rlhf/stages/sft-run';
import { gpuTest } from '../helpers/gpu';

const tok = CharTokenizer.fromText('abcxyz');
const V = tok.vocabSize;
/** Three demonstrations in batches of 2: the second batch is partial. Rows of 16 tokens: each ends in padding. */
const DEMOS: SftExample[] = [
  { prompt: 'xyzzy', completion: 'ab' },
  { prompt: 'zyx', completion: 'bcab' },
  { prompt: 'yyxz', completion: 'cca' },
];
const B = 2;
const T = 16;

/**
 * From the model's logits of all the demonstrations in one batch (float64): accuracy (argmax = target, first maximum
 * on a tie), loss and entropy over the trained positions, and the accuracy over the rest (prompt and padding).
 */
async function recompute(model: GPT): Promise<{ accuracy: number; loss: number; entropy: number; untrainedAccuracy: number }> {
  const batch = sftBatch(DEMOS, tok, DEMOS.length, T, DEMOS.map((_, i) => i));
  const logits = await model.eval().forward(batch.tokens, DEMOS.length, T);
  model.train();
  const trained = { right: 0, count: 0, loss: 0, entropy: 0 };
  const untrained = { right: 0, count: 0 };
  for (let n = 0; n < DEMOS.length * T; n++) {
    const row = Array.from(logits.subarray(n * V, (n + 1) * V));
    const right = row.indexOf(Math.max(...row)) === batch.targets[n] ? 1 : 0;
    if (batch.weights[n] === 0) {
      untrained.right += right;
      untrained.count++;
      continue;
    }
    const top = Math.max(...row);
    const logZ = top + Math.log(row.reduce((z, x) => z + Math.exp(x - top), 0));
    trained.right += right;
    trained.count++;
    trained.loss += logZ - row[batch.targets[n]];
    trained.entropy -= row.reduce((h, x) => h + Math.exp(x - logZ) * (x - logZ), 0);
  }
  return { accuracy: trained.right / trained.count, loss: trained.loss / trained.count, entropy: trained.entropy / trained.count, untrainedAccuracy: untrained.right / untrained.count };
}

describe('the SFT stage’s held-out token accuracy', () => {
  gpuTest('counts the completion tokens and EOS only (SFT weight ≠ 0), as recomputed from the logits, not the prompt or padding positions', async ({ rt }) => {
    const model = GPT.create(rt, makeConfig('nano', { vocabSize: V, dropout: 0 }), { seed: 3 });
    try {
      // At random weights the model happens to favour PAD: right on most padding positions, wrong on the completions
      // (measured: 1 of 12 trained positions right, 20 of the other 36). After 20 SFT steps the reverse: it knows the
      // completions and no prompt, which carries no loss (11 of 12, 0 of 36).
      for (const stage of ['random weights', 'fine-tuned'] as const) {
        if (stage === 'fine-tuned') await supervisedFineTune(model, tok, DEMOS, { steps: 20, batchSize: DEMOS.length, seq: T, lr: 1e-2, seed: 1 });
        const want = await recompute(model);
        expect(Math.abs(want.untrainedAccuracy - want.accuracy), stage).toBeGreaterThan(0.3);
        const got = await tokenAccuracy(model, tok, DEMOS, B, T);
        expect(got.accuracy, stage).toBe(want.accuracy);
        expect(got.loss, stage).toBeCloseTo(want.loss, 6);
        expect(got.entropy, stage).toBeCloseTo(want.entropy, 6);
      }
    } finally {
      model.dispose();
    }
  });
});
