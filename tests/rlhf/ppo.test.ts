// PPO on the nano model: the code paths the smoke run does not take (PPO-ptx, the k3 estimator, the adaptive KL
// controller) and the alarm that stops training while keeping the last good weights.
import { describe, expect } from 'vitest';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { makeConfig } from '../../src/model/config';
import { GPT } from '../../src/model/gpt';
import { initWeights } from '../../src/model/params';
import { makePipelineConfig } from '../../src/rlhf/config';
import { Pipeline, PipelineAlarmError } from '../../src/rlhf/pipeline';
import { PPOTrainer } from '../../src/rlhf/ppo';
import { createTask } from '../../src/rlhf/tasks';
import { gpuTest } from '../helpers/gpu';

const task = createTask('sentiment', { seed: 1, maxResponseTokens: 6 });
const tok = CharTokenizer.fromText([...task.prompts.train.slice(0, 200), ...task.demonstrations.map((d) => d.completion)].join('\n'));
const config = makeConfig('nano', { vocabSize: tok.vocabSize, dropout: 0 });
const prompts = task.prompts.train.slice(0, 4).map((p) => p.slice(0, 16));

describe('PPO', () => {
  gpuTest('one iteration with PPO-ptx, the k3 estimator and the adaptive KL controller', async ({ rt }) => {
    const sft = initWeights(config, 1);
    const rmWeights = { ...initWeights(config, 2, 'score') };
    const valueWeights = Object.fromEntries(Object.entries(rmWeights).map(([k, v]) => [k.replace(/^score\./, 'value.'), v]));
    const models = {
      policy: GPT.create(rt, config, { weights: sft }),
      reference: GPT.create(rt, config, { weights: sft }),
      reward: GPT.create(rt, config, { weights: rmWeights, head: 'score' }),
      value: GPT.create(rt, config, { weights: valueWeights, head: 'value' }),
    };
    const c = makePipelineConfig('nano', { 'ppo.batchSize': 4, 'ppo.episodes': 8, 'ppo.ptxCoef': 0.5, 'ppo.klEstimator': 'k3', 'ppo.adaptiveKL.target': 1, 'ppo.adaptiveKL.horizon': 100, 'ppo.maxResponseTokens': 6 }).ppo;
    const trainer = new PPOTrainer(models, tok, c, 5, task.gold, task.pretrainText.slice(0, 20));
    try {
      const first = await trainer.step(prompts);
      const m = first.metrics;
      expect(m['loss/ptx']).toBeGreaterThan(0);
      expect(m['objective/kl']).toBeGreaterThanOrEqual(0); // k3 is never negative
      expect(m['objective/kl']).toBeCloseTo(0, 6); // policy = reference before any update
      // val/ratio, the token mean of π/π_old: minibatch 1 is scored before any update (exactly 1), minibatch 2 after one
      // AdamW step of lr 3e-4 (1.002 here; per-token log-ratios of rms √(2·policy/approxkl) ≈ 0.01). So within 0.02 of
      // 1, a tenth of the clip range ε = 0.2, yet not 1: the second minibatch was scored after the first one's update.
      expect(Math.abs(m['val/ratio']! - 1)).toBeLessThan(0.02);
      expect(m['val/ratio']).not.toBe(1);
      expect(m['objective/kl_coef']).toBe(c.klCoef);
      // The raw advantages' spread (whitened ones have std 1): positive and finite on a batch of real rewards.
      expect(m['policy/advantage_std']).toBeGreaterThan(0);
      expect(Number.isFinite(m['policy/advantage_std'])).toBe(true);
      // Ziegler's controller: KL ≈ 0 is below target 1, so e = max(0/1 − 1, −0.2) = −0.2 and β ← β·(1 − 0.2·4/100).
      expect(trainer.kl.value).toBeCloseTo(c.klCoef * (1 - (0.2 * 4) / 100), 12);
      expect(first.episodes).toHaveLength(4);
      for (const e of first.episodes) {
        expect(e.tokens.length).toBe(e.kl.length);
        expect(e.advantages.length).toBe(e.kl.length);
        expect(Number.isFinite(e.gold)).toBe(true);
      }
      const second = await trainer.step(prompts);
      expect(second.metrics.step).toBe(1);
      expect(second.metrics.episode).toBe(8);
      expect(second.metrics['objective/kl']).toBeGreaterThan(0); // the policy moved away from the reference
      // objective/kl and its standard error, from the episodes' per-token KL (float64 sums, sample variance).
      const klSums = second.episodes.map((e) => Array.from(e.kl).reduce((a, b) => a + b, 0));
      const klMean = klSums.reduce((a, b) => a + b, 0) / klSums.length;
      const klVariance = klSums.reduce((a, k) => a + (k - klMean) ** 2, 0) / (klSums.length - 1);
      expect(second.metrics['objective/kl']).toBeCloseTo(klMean, 6);
      expect(second.metrics['objective/kl_stderr']).toBeGreaterThan(0);
      expect(second.metrics['objective/kl_stderr']).toBeCloseTo(Math.sqrt(klVariance / klSums.length), 6);
      const ema = await trainer.emaWeights();
      expect(Object.keys(ema)).toEqual(Object.keys(sft));
    } finally {
      trainer.dispose();
      Object.values(models).forEach((m) => m.dispose());
    }
  });

  gpuTest('a NaN metric stops PPO with an alarm naming it; the policy keeps its last good weights, evaluated and saved as the PPO checkpoint', async ({ rt }) => {
    const c = makePipelineConfig('nano', { 'ppo.batchSize': 4, 'ppo.episodes': 8, 'ppo.maxResponseTokens': 6 });
    const broken = { ...task, gold: () => NaN };
    const checkpoints: string[] = [];
    const pipeline = new Pipeline(rt, c, broken, tok, { weights: initWeights(config, 1), config }, undefined, { checkpoint: (name) => checkpoints.push(name) });
    pipeline.weights.sft = initWeights(config, 1);
    pipeline.weights['reward-model'] = initWeights(config, 2, 'score');
    const error = await pipeline.runStage('ppo').catch((e) => e);
    expect(error).toBeInstanceOf(PipelineAlarmError);
    expect((error as PipelineAlarmError).alarm.metric).toBe('objective/gold');
    expect((error as Error).message).toMatch(/ppo stopped at step 0: .*objective\/gold/);
    const kept = pipeline.weights.ppo!;
    for (const [name, w] of Object.entries(pipeline.weights.sft)) expect(Array.from(kept[name]), name).toEqual(Array.from(w));
    // The kept policy is the one evaluated and exported: the PPO checkpoint is written from it.
    expect(checkpoints).toEqual(['ppo']);
  });
});
