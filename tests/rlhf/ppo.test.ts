// PPO on the nano model: the code paths the smoke run does not take (PPO-ptx, the k3 estimator, the adaptive KL
// controller), the advantages and value targets recomputed from the rollout (the trainer's phases 1–4), the clip
// ranges reaching both losses, and the alarm that stops training while keeping the last good weights.
import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { makeConfig } from '../../src/model/config';
import { mixSeed } from '../../src/model/data';
import { GPT } from '../../src/model/gpt';
import { initWeights } from '../../src/model/params';
import { makePipelineConfig } from '../../src/rlhf/config';
import { lastTokenScores, sequenceLogprobs, sequenceScalars } from '../../src/rlhf/forward';
import { gae, klPerToken, perTokenRewards, whiten } from '../../src/rlhf/math';
import { Pipeline, PipelineAlarmError } from '../../src/rlhf/pipeline';
import { PPOTrainer } from '../../src/rlhf/ppo';
import { sampleRollout } from '../../src/rlhf/rollout';
import { encodeQuery } from '../../src/rlhf/sequences';
import { createTask } from '../../src/rlhf/tasks';
import { gpuTest } from '../helpers/gpu';

const task = createTask('sentiment', { seed: 1, maxResponseTokens: 6 });
const tok = CharTokenizer.fromText([...task.prompts.train.slice(0, 200), ...task.demonstrations.map((d) => d.completion)].join('\n'));
const config = makeConfig('nano', { vocabSize: tok.vocabSize, dropout: 0 });
const prompts = task.prompts.train.slice(0, 4).map((p) => p.slice(0, 16));

const sft = initWeights(config, 1);
const rmWeights = initWeights(config, 2, 'score');
const valueWeights = Object.fromEntries(Object.entries(rmWeights).map(([k, v]) => [k.replace(/^score\./, 'value.'), v]));

/** PPO's four models: policy and reference from SFT, the value model initialised from the reward model (InstructGPT). */
function ppoModels(rt: GpuRuntime) {
  return {
    policy: GPT.create(rt, config, { weights: sft }),
    reference: GPT.create(rt, config, { weights: sft }),
    reward: GPT.create(rt, config, { weights: rmWeights, head: 'score' }),
    value: GPT.create(rt, config, { weights: valueWeights, head: 'value' }),
  };
}

/** Runs `steps` PPO iterations on fresh models; returns their records and the value model's weights after them. */
async function runPPO(rt: GpuRuntime, overrides: Record<string, unknown>, steps = 1) {
  const c = makePipelineConfig('nano', { 'ppo.batchSize': 4, 'ppo.maxResponseTokens': 6, ...overrides }).ppo;
  const models = ppoModels(rt);
  const trainer = new PPOTrainer(models, tok, c, 5, task.gold);
  try {
    const iterations = [];
    for (let i = 0; i < steps; i++) iterations.push(await trainer.step(prompts));
    return { c, iterations, value: await models.value.params.getWeights() };
  } finally {
    trainer.dispose();
    Object.values(models).forEach((m) => m.dispose());
  }
}

describe('PPO', () => {
  gpuTest('one iteration with PPO-ptx, the k3 estimator and the adaptive KL controller', async ({ rt }) => {
    const models = ppoModels(rt);
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

  gpuTest('the advantages and value targets: the rollout’s rewards with the KL penalty and the missing-EOS penalty, GAE with γ and λ, whitened', async ({ rt }) => {
    // γ < 1 and λ apart from it, so that mixing them up shows; one minibatch, one epoch: the value loss is read at V = V_old.
    const overrides = { 'ppo.gamma': 0.9, 'ppo.lambda': 0.7, 'ppo.miniBatches': 1, 'ppo.epochs': 1 };
    // The trainer's phases 1–4 recomputed on untouched copies of its models: the same rollout (the trainer's seed for
    // iteration 0), its log-probs, values and scores, then the float64 math of src/rlhf/math.ts.
    const probe = ppoModels(rt);
    const c = makePipelineConfig('nano', { 'ppo.batchSize': 4, 'ppo.maxResponseTokens': 6, ...overrides }).ppo;
    const queries = prompts.map((p) => encodeQuery(tok, p, config.contextLength - c.maxResponseTokens));
    const { rollout, batch, texts } = await sampleRollout(probe.policy, tok, queries, c.maxResponseTokens, mixSeed(5, 0));
    const grids = [await sequenceLogprobs(probe.policy, batch), await sequenceLogprobs(probe.reference, batch), await sequenceScalars(probe.value, batch)];
    const scores = await lastTokenScores(probe.reward, batch);
    Object.values(probe).forEach((m) => m.dispose());
    // (B, W) with W the longest response: row b's response tokens first, then padding (mask 0).
    const W = Math.max(...batch.lengths);
    const mask = Float64Array.from({ length: 4 * W }, (_, i) => (i % W < batch.lengths[Math.floor(i / W)] ? 1 : 0));
    const [logp, ref, values] = grids.map((g) => Float64Array.from(mask, (m, i) => (m ? g[Math.floor(i / W) * batch.T + batch.start[Math.floor(i / W)] + (i % W)] : 0)));
    const kl = klPerToken(logp, ref, c.klEstimator).map((k, i) => k * mask[i]);
    const { rewards } = perTokenRewards(kl, mask, scores, c.klCoef, rollout.finished, c.noEosPenalty);
    const { advantages, returns } = gae(rewards, values, mask, c.gamma, c.lambda, W);
    const whitened = whiten(advantages, mask);
    // Random responses rarely end within 6 tokens: some take the missing-EOS penalty in place of their score.
    expect(rollout.finished.some((f) => !f)).toBe(true);

    const { iterations, value } = await runPPO(rt, overrides);
    const { metrics, episodes } = iterations[0];
    expect(episodes.map((e) => e.response)).toEqual(texts);
    episodes.forEach((e, b) => {
      expect(e.score, `row ${b}`).toBe(rollout.finished[b] ? scores[b] : c.noEosPenalty);
      e.advantages.forEach((a, t) => expect(a, `row ${b}, token ${t}`).toBeCloseTo(whitened[b * W + t], 5));
    });
    // The value loss at V = V_old: ½·mean over tokens of (V_old − R)², R the GAE returns (the value target).
    let squares = 0;
    mask.forEach((m, i) => (squares += m * (values[i] - returns[i]) ** 2));
    expect(metrics['loss/value']).toBeCloseTo((0.5 * squares) / batch.lengths.reduce((a, b) => a + b, 0), 5);
    // …and the value model learned from it.
    expect(Object.entries(valueWeights).some(([name, w]) => w.some((x, i) => x !== value[name][i]))).toBe(true);
  });

  gpuTest('ppo.clip and ppo.valueClip reach the losses: at 1e-4 the second epoch clips, at 0.2 the policy does not and fewer values do', async ({ rt }) => {
    // One minibatch, two epochs: the second scores the batch after one update, a ratio of 1 ± ~1e-3 per token.
    const clipfrac = async (clip: number) => {
      const { iterations } = await runPPO(rt, { 'ppo.miniBatches': 1, 'ppo.epochs': 2, 'ppo.clip': clip, 'ppo.valueClip': clip });
      return [iterations[0].metrics['policy/clipfrac'], iterations[0].metrics['val/clipfrac']];
    };
    const [policyTight, valueTight] = await clipfrac(1e-4);
    expect(policyTight).toBeGreaterThan(0.1);
    expect(valueTight).toBeGreaterThan(0.1);
    // At 0.2 no policy ratio is that far from 1; the value model moves further in one step, so some values still clip.
    const [policyLoose, valueLoose] = await clipfrac(0.2);
    expect(policyLoose).toBe(0);
    expect(valueLoose).toBeLessThan(valueTight!);
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
