// The group methods' trainer (src/rlhf/grpo.ts) on the nano model, one or two iterations at a time: the group layout
// of the rollout, the advantages each method computes from its rewards and puts on every token, the metrics with TRL's
// names and values, the missing-EOS penalty, β = 0 running no reference at all, β·k3's gradient, the loss aggregations'
// weights, μ > 1 steps, micro-batches that do not change the update, the stage's settings reaching its method, and the
// stage (src/rlhf/stages/group-run.ts) keeping the last good weights when a metric alarm stops it.
// tests/rlhf/grpo-learning.test.ts checks that the updates point the right way.
import { describe, expect, test, vi } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { makeConfig } from '../../src/model/config';
import { GPT } from '../../src/model/gpt';
import { initWeights } from '../../src/model/params';
import { makePipelineConfig } from '../../src/rlhf/config';
import type { Episode } from '../../src/rlhf/episode';
import { groupAdvantages, rlooAdvantages } from '../../src/rlhf/group-advantages';
import { broadcastToTokens, type GroupConfig, type GroupIteration, GroupTrainer, k3, type StepReadback } from '../../src/rlhf/grpo';
import { grpoMethod } from '../../src/rlhf/stages/grpo-run';
import { RLOO_METHOD } from '../../src/rlhf/stages/rloo-run';
import { isMetricName } from '../../src/rlhf/metrics';
import { Pipeline, PipelineAlarmError } from '../../src/rlhf/pipeline';
import type { RewardSource, ScoredRows } from '../../src/rlhf/reward-sources';
import { packSequences } from '../../src/rlhf/sequences';
import { createTask } from '../../src/rlhf/tasks';
import { gpuTest } from '../helpers/gpu';

const task = createTask('sentiment', { seed: 1, maxResponseTokens: 6 });
const tok = CharTokenizer.fromText([...task.prompts.train.slice(0, 200), ...task.demonstrations.map((d) => d.completion)].join('\n'));
const config = makeConfig('nano', { vocabSize: tok.vocabSize, dropout: 0 });
const prompts = task.prompts.train.slice(0, 3).map((p) => p.slice(0, 16));
const GRPO_SETTINGS = { epsLow: 0.2, epsHigh: 0.28, scaleRewards: 'group', lossType: 'dapo', iterations: 1 } as const;
const GRPO = grpoMethod(GRPO_SETTINGS);

/** A response's score: its number of distinct characters (the random nano policy's responses differ in it). */
const distinct = (response: string) => new Set(response).size;

/** A reward source that scores by `distinct` and remembers the rows it was asked to score. */
function countingSource(): RewardSource & { seen: ScoredRows[] } {
  const seen: ScoredRows[] = [];
  return {
    kind: 'verifier',
    seen,
    score: async (rows) => {
      seen.push(rows);
      return Float64Array.from(rows.responses, distinct);
    },
    dispose: () => {},
  };
}

/** No missing-EOS rule by default: the random policy rarely ends a response within 6 tokens, and −1 for all would leave no signal. */
function groupConfig(over: Partial<GroupConfig> = {}): GroupConfig {
  return { method: GRPO, groupSize: 4, promptsPerIteration: prompts.length, lr: 3e-4, warmup: 0, gradClip: 1, beta: 0.04, maxResponseTokens: 6, noEosPenalty: null, ...over };
}

/** TRL's reward_std: the mean over groups of each group's unbiased standard deviation. */
function meanGroupStd(rewards: readonly number[], G: number): number {
  const stds = Array.from({ length: rewards.length / G }, (_, g) => {
    const r = rewards.slice(g * G, (g + 1) * G);
    const mu = r.reduce((a, b) => a + b, 0) / G;
    return Math.sqrt(r.reduce((a, b) => a + (b - mu) ** 2, 0) / (G - 1));
  });
  return stds.reduce((a, b) => a + b, 0) / stds.length;
}

/**
 * `steps` iterations of a fresh trainer on `prompts` (policy and reference from the same weights; the reference is
 * read only when β > 0): each iteration's metrics and episodes, and the policy's weights after it.
 */
async function trainGroup(rt: GpuRuntime, over: Partial<GroupConfig>, steps = 1) {
  const sft = initWeights(config, 1);
  const policy = GPT.create(rt, config, { weights: sft });
  const reference = GPT.create(rt, config, { weights: sft });
  const trainer = new GroupTrainer({ policy, reference, reward: countingSource() }, tok, groupConfig(over), 5, undefined);
  try {
    const iterations: GroupIteration[] = [];
    const weights: Record<string, Float32Array>[] = [];
    for (let i = 0; i < steps; i++) {
      iterations.push(await trainer.step(prompts));
      weights.push(await policy.params.getWeights());
    }
    return { sft, iterations, weights, optimizerSteps: trainer.optimizerSteps };
  } finally {
    trainer.dispose();
    policy.dispose();
    reference.dispose();
  }
}

/** The largest |a − b| over all the weights. */
const maxAbsDiff = (a: Record<string, Float32Array>, b: Record<string, Float32Array>) =>
  Math.max(...Object.entries(a).map(([name, w]) => w.reduce((m, x, i) => Math.max(m, Math.abs(x - b[name][i])), 0)));

const finite = (m: Record<string, unknown>) => Object.entries(m).filter(([, v]) => typeof v !== 'number' || !Number.isFinite(v));

describe('group methods (GRPO, RLOO): one iteration', () => {
  gpuTest('GRPO: G completions per prompt in contiguous groups, group-relative advantages, TRL’s metric names', async ({ rt }) => {
    const sft = initWeights(config, 1);
    const policy = GPT.create(rt, config, { weights: sft });
    const reference = GPT.create(rt, config, { weights: sft });
    const proxy = GPT.create(rt, config, { weights: initWeights(config, 2, 'score'), head: 'score' });
    const reward = countingSource();
    const trainer = new GroupTrainer({ policy, reference, reward, proxy }, tok, groupConfig(), 5, task.gold);
    try {
      const { metrics: m, episodes: completions } = await trainer.step(prompts);
      // Group layout: prompt g's G completions are rows g·G … g·G + G − 1, and the reward source saw exactly those rows.
      expect(completions).toHaveLength(prompts.length * 4);
      expect(completions.map((c) => c.group)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
      expect(completions.map((c) => c.prompt)).toEqual(prompts.flatMap((p) => [p, p, p, p]));
      expect(reward.seen).toHaveLength(1);
      expect(reward.seen[0].prompts).toEqual(completions.map((c) => c.prompt));
      expect(reward.seen[0].responses).toEqual(completions.map((c) => c.response));
      expect(reward.seen[0].batch.B).toBe(12);
      // Each group's completions differ (the generator's RNG is per row).
      for (let g = 0; g < prompts.length; g++) expect(new Set(completions.filter((c) => c.group === g).map((c) => c.response)).size, `group ${g}`).toBeGreaterThan(1);
      // The reward is the source's score (no missing-EOS rule here); the advantage (r − mean)/(std + 1e-4) of its group,
      // above 0 exactly for the completions scoring above their group's mean.
      const rewards = completions.map((c) => c.score);
      expect(rewards).toEqual(reward.seen[0].responses.map(distinct));
      const advantages = Array.from(groupAdvantages(rewards, 4, 'group', 1e-4));
      expect(advantages.filter((a) => Math.abs(a) > 0.1).length, 'completions with a real advantage').toBeGreaterThan(4);
      completions.forEach((c, b) => {
        const groupMean = rewards.slice(c.group! * 4, c.group! * 4 + 4).reduce((x, y) => x + y, 0) / 4;
        expect(Math.sign(c.advantages[0]), `completion ${b}`).toBe(Math.sign(rewards[b] - groupMean));
      });
      // …on every one of its tokens; each token's KL contribution is log π − log π_SFT (here 0: the policy is still SFT).
      completions.forEach((c, b) => {
        expect(c.tokens.length, `completion ${b}`).toBeGreaterThan(0);
        for (const values of [c.advantages, c.kl, c.logprobs]) expect(values).toHaveLength(c.tokens.length);
        expect(new Set(c.advantages)).toEqual(new Set([advantages[b]]));
        for (const k of c.kl) expect(Math.abs(k)).toBeLessThan(1e-4);
        for (const l of c.logprobs) expect(l).toBeLessThan(0);
      });
      for (const c of completions) expect(c.gold).toBe(task.gold!(c.prompt, c.response));

      const names = ['reward', 'reward_std', 'frac_reward_zero_std', 'kl', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean', 'entropy', 'completions/mean_length', 'objective/scores', 'objective/gold', 'objective/kl', 'objective/kl_stderr', 'policy/sqrt_kl', 'lr', 'grad_norm', 'episode'];
      expect(Object.keys(m).sort()).toEqual(['step', ...names].sort());
      for (const name of names) expect(isMetricName(name), name).toBe(true);
      expect(finite(m)).toEqual([]);
      expect(m.reward).toBeCloseTo(rewards.reduce((a, b) => a + b, 0) / 12, 12);
      expect(m.reward_std).toBeCloseTo(meanGroupStd(rewards, 4), 12);
      expect(m.episode).toBe(12);
      expect(m['completions/mean_length']).toBeCloseTo(completions.reduce((a, c) => a + c.tokens.length, 0) / 12, 12);
      // The first iteration samples from the reference's weights: KL 0 exactly (both estimators), and at μ = 1 the
      // ratio is 1 exactly, so nothing clips.
      expect(m['objective/kl']).toBe(0);
      expect(m.kl).toBe(0);
      expect([m['clip_ratio/low_mean'], m['clip_ratio/high_mean'], m['clip_ratio/region_mean']]).toEqual([0, 0, 0]);
      expect(m.entropy).toBeGreaterThan(0);
      expect(m.frac_reward_zero_std).toBeGreaterThanOrEqual(0);
      expect(trainer.optimizerSteps).toBe(1);
    } finally {
      trainer.dispose();
      [policy, reference, proxy].forEach((x) => x.dispose());
    }
  });

  gpuTest('β = 0 runs no reference (never read: it may be absent) and logs no KL; β > 0 needs one', async ({ rt }) => {
    const sft = initWeights(config, 1);
    const policy = GPT.create(rt, config, { weights: sft });
    const reference = GPT.create(rt, config, { weights: sft });
    const hidden = vi.spyOn(reference, 'hidden');
    expect(() => new GroupTrainer({ policy, reference: undefined, reward: countingSource() }, tok, groupConfig({ beta: 0.04 }), 5, undefined)).toThrow(/β = 0.04 needs the reference policy/);
    const withRef = new GroupTrainer({ policy, reference, reward: countingSource() }, tok, groupConfig({ beta: 0 }), 5, undefined);
    const without = new GroupTrainer({ policy, reference: undefined, reward: countingSource() }, tok, groupConfig({ beta: 0, method: RLOO_METHOD }), 5, undefined);
    try {
      const { metrics } = await withRef.step(prompts);
      expect(hidden).not.toHaveBeenCalled();
      for (const name of ['kl', 'objective/kl', 'objective/kl_stderr', 'policy/sqrt_kl']) expect(metrics, name).not.toHaveProperty(name);
      expect(metrics).not.toHaveProperty('objective/scores'); // no reward model in this run
      expect(metrics).not.toHaveProperty('objective/gold'); // no gold function given
      const rloo = await without.step(prompts);
      for (const name of ['objective/kl', 'objective/non_score_reward', 'objective/rlhf_reward']) expect(rloo.metrics, name).not.toHaveProperty(name);
      expect(rloo.metrics['objective/kl_coef']).toBe(0);
      // …and with β > 0 the same reference is run.
      const counted = new GroupTrainer({ policy, reference, reward: countingSource() }, tok, groupConfig({ beta: 0.04 }), 5, undefined);
      try {
        await counted.step(prompts);
      } finally {
        counted.dispose();
      }
      expect(hidden).toHaveBeenCalled();
    } finally {
      withRef.dispose();
      without.dispose();
      policy.dispose();
      reference.dispose();
    }
  });

  gpuTest('the missing-EOS penalty takes the place of the score of every completion that did not end', async ({ rt }) => {
    const [{ episodes }] = (await trainGroup(rt, { beta: 0, noEosPenalty: -1 })).iterations;
    expect(episodes.some((e) => !e.finished), 'an unfinished completion').toBe(true);
    for (const e of episodes) expect(e.score).toBe(e.finished ? distinct(e.response) : -1);
  });

  gpuTest('GRPO’s β·k3 term: no gradient while the policy is the reference, a different update once it has moved', async ({ rt }) => {
    const [free, pulled] = [(await trainGroup(rt, { beta: 0, lr: 1e-2 }, 2)).weights, (await trainGroup(rt, { beta: 1, lr: 1e-2 }, 2)).weights];
    // k3's gradient is 1 − π_ref/π: 0 on the first step (the rollout policy is the reference), so the same update…
    expect(maxAbsDiff(free[0], pulled[0])).toBeLessThan(1e-7);
    // …and on the second, β = 1 adds the pull toward the reference that β = 0 leaves out.
    expect(maxAbsDiff(free[1], pulled[1])).toBeGreaterThan(1e-4);
  });

  gpuTest('GRPO’s loss aggregation: dapo weighs a token 1/(tokens in the batch), dr_grpo 1/(B·maxResponseTokens)', async ({ rt }) => {
    // Both weigh every response token alike, so on the same rollout their gradients differ by the ratio of the weights.
    const run = async (lossType: 'dapo' | 'dr_grpo') => (await trainGroup(rt, { beta: 0, method: grpoMethod({ ...GRPO_SETTINGS, lossType }) })).iterations[0];
    const [dapo, drGrpo] = [await run('dapo'), await run('dr_grpo')];
    const tokens = dapo.episodes.reduce((a, e) => a + e.tokens.length, 0);
    expect(drGrpo.episodes.map((e) => e.response)).toEqual(dapo.episodes.map((e) => e.response));
    expect(drGrpo.metrics.grad_norm! / dapo.metrics.grad_norm!).toBeCloseTo(tokens / (12 * 6), 4);
  });

  gpuTest('RLOO: leave-one-out advantages of the reward with the KL penalty in it; its metrics', async ({ rt }) => {
    const sft = initWeights(config, 1);
    const policy = GPT.create(rt, config, { weights: sft });
    const reference = GPT.create(rt, config, { weights: sft });
    const reward = countingSource();
    const trainer = new GroupTrainer({ policy, reference, reward }, tok, groupConfig({ method: RLOO_METHOD, beta: 0.05 }), 5, task.gold);
    try {
      const { metrics: m, episodes: completions } = await trainer.step(prompts);
      const rewards = completions.map((c) => c.score);
      const advantage = (c: Episode) => c.advantages[0]; // a completion's advantage is on every one of its tokens
      // The rollout policy is the reference here: KL 0, so r − β·KL = r and the advantages are r_i − mean of the others.
      expect(m['objective/kl']).toBe(0);
      expect(completions.map(advantage)).toEqual(Array.from(rlooAdvantages(rewards, 4)));
      const names = ['reward', 'reward_std', 'frac_reward_zero_std', 'entropy', 'completions/mean_length', 'objective/kl_coef', 'objective/non_score_reward', 'objective/rlhf_reward', 'objective/gold', 'objective/kl', 'objective/kl_stderr', 'policy/sqrt_kl', 'lr', 'grad_norm', 'episode'];
      expect(Object.keys(m).sort()).toEqual(['step', ...names].sort());
      expect(finite(m)).toEqual([]);
      expect(m['objective/kl_coef']).toBe(0.05);
      expect(m.reward_std).toBeGreaterThan(0);
      expect(m.reward_std).toBeCloseTo(meanGroupStd(rewards, 4), 12);
      expect(trainer.optimizerSteps).toBe(1);

      const second = await trainer.step(prompts);
      const s = second.metrics;
      expect(s['objective/kl']).not.toBe(0);
      // rlhf_reward = reward + non_score_reward, non_score_reward = −β·KL (means over the batch).
      expect(s['objective/rlhf_reward']).toBeCloseTo(s.reward! + s['objective/non_score_reward']!, 12);
      expect(s['objective/non_score_reward']).toBeCloseTo(-0.05 * s['objective/kl']!, 12);
      // The advantages still sum to 0 in every group (a leave-one-out baseline), and differ from the plain rewards' by
      // the KL penalty now.
      for (let g = 0; g < prompts.length; g++) {
        const sum = second.episodes.filter((c) => c.group === g).reduce((a, c) => a + advantage(c), 0);
        expect(Math.abs(sum), `group ${g}`).toBeLessThan(1e-9);
      }
      expect(second.episodes.map(advantage)).not.toEqual(Array.from(rlooAdvantages(second.episodes.map((c) => c.score), 4)));
    } finally {
      trainer.dispose();
      policy.dispose();
      reference.dispose();
    }
  });

  gpuTest('GRPO with μ = 2: two optimizer steps on the batch, the second one’s ratio against the rollout’s log-probs', async ({ rt }) => {
    const { iterations, optimizerSteps } = await trainGroup(rt, { beta: 0, lr: 3e-2, method: grpoMethod({ ...GRPO_SETTINGS, iterations: 2, epsLow: 0.01, epsHigh: 0.01 }) });
    const { metrics } = iterations[0];
    expect(optimizerSteps).toBe(2);
    // The second step sees the policy its first step moved (a large learning rate, a narrow clip range): some tokens clip.
    expect(metrics['clip_ratio/region_mean']).toBeGreaterThan(0);
    expect(metrics['clip_ratio/region_mean']).toBeCloseTo(metrics['clip_ratio/low_mean']! + metrics['clip_ratio/high_mean']!, 12);
    expect(finite(metrics)).toEqual([]);
  });

  gpuTest('micro-batches change nothing but the rounding: one row at a time gives the update of the whole batch at once', async ({ rt }) => {
    const run = (microBatchTokens: number) => trainGroup(rt, { microBatchTokens, method: grpoMethod({ ...GRPO_SETTINGS, lossType: 'grpo' }) });
    const whole = await run(4096);
    const rows = await run(1); // one row per micro-batch: 12 of them
    const [w, r] = [whole.iterations[0].metrics, rows.iterations[0].metrics];
    expect(r.reward).toBe(w.reward); // the same rollout
    expect(r.grad_norm).toBeCloseTo(w.grad_norm!, 5);
    expect(maxAbsDiff(whole.weights[0], rows.weights[0])).toBeLessThan(1e-6);
    // …and the update moved the weights (by about lr per parameter, AdamW's first step).
    expect(maxAbsDiff(whole.weights[0], whole.sft)).toBeGreaterThan(1e-4);
  });

  gpuTest('dynamic sampling: groups whose rewards all agree are replaced by the next prompts’ groups, up to the rounds allowed, then filled in', async ({ rt }) => {
    // Prompts starting "FLAT" score 0 on every completion (no spread); the others score their row index (spread).
    const flatOr = (): RewardSource & { seen: ScoredRows[] } => {
      const seen: ScoredRows[] = [];
      return { kind: 'verifier', seen, score: async (rows) => (seen.push(rows), Float64Array.from(rows.prompts, (p, i) => (p.startsWith('FLAT') ? 0 : i))), dispose: () => {} };
    };
    const [a, b, c] = prompts;
    const first = [a, `FLAT ${b}`, b];
    const queue = [`FLAT ${c}`, c, `FLAT ${a}`];
    const run = async (dynamicRounds: number) => {
      const policy = GPT.create(rt, config, { weights: initWeights(config, 1) });
      const reward = flatOr();
      const trainer = new GroupTrainer({ policy, reference: undefined, reward }, tok, groupConfig({ beta: 0, dynamicRounds }), 5, undefined);
      const asked: number[] = [];
      let next = 0;
      const more = (n: number) => (asked.push(n), queue.slice(next, (next += n)));
      try {
        const { metrics, episodes } = await trainer.step(first, more);
        return { metrics, groups: [...new Set(episodes.map((e) => e.prompt))], asked, sampled: reward.seen.map((r) => r.batch.B), advantages: episodes.map((e) => e.advantages[0]) };
      } finally {
        trainer.dispose();
        policy.dispose();
      }
    };
    // Two more rounds: the flat group is set aside, its replacement is flat too, the next one has a spread.
    const two = await run(2);
    expect(two.asked).toEqual([1, 1]);
    expect(two.sampled).toEqual([12, 4, 4]);
    expect(two.groups).toEqual([a, b, c]);
    expect(two.metrics).toMatchObject({ 'sampling/groups_drawn': 5, 'sampling/rounds': 2, frac_reward_zero_std: 0 });
    expect(two.advantages.some((x) => x !== 0)).toBe(true);
    // One more round only: the batch is filled up with the first group set aside.
    const one = await run(1);
    expect(one.asked).toEqual([1]);
    expect(one.groups).toEqual([a, b, `FLAT ${b}`]);
    expect(one.metrics).toMatchObject({ 'sampling/groups_drawn': 4, 'sampling/rounds': 1 });
    expect(one.metrics.frac_reward_zero_std).toBeCloseTo(1 / 3, 12);
    expect(one.advantages.slice(8)).toEqual([0, 0, 0, 0]);
    // Off: one round, the prompts as given, no sampling metrics, nothing more asked for.
    const off = await run(0);
    expect(off.asked).toEqual([]);
    expect(off.sampled).toEqual([12]);
    expect(off.groups).toEqual(first);
    expect(off.metrics['sampling/groups_drawn']).toBeUndefined();
    for (const name of Object.keys(two.metrics).filter((n) => n !== 'step')) expect(isMetricName(name), name).toBe(true);
  });

  gpuTest('a NaN metric stops GRPO with an alarm naming it; the policy keeps its last good weights, saved as the GRPO checkpoint', async ({ rt }) => {
    const c = makePipelineConfig('nano', { 'grpo.episodes': 16, 'ppo.maxResponseTokens': 6 });
    const broken = { ...task, gold: () => NaN };
    const checkpoints: string[] = [];
    const pipeline = new Pipeline(rt, c, broken, tok, { weights: initWeights(config, 1), config }, undefined, { checkpoint: (name) => checkpoints.push(name) });
    pipeline.weights.sft = initWeights(config, 1);
    pipeline.weights['reward-model'] = initWeights(config, 2, 'score');
    const error = await pipeline.runStage('grpo').catch((e) => e);
    expect(error).toBeInstanceOf(PipelineAlarmError);
    expect((error as PipelineAlarmError).alarm.metric).toBe('objective/gold');
    expect((error as Error).message).toMatch(/grpo stopped at step 0: .*objective\/gold/);
    const kept = pipeline.weights.grpo!;
    for (const [name, w] of Object.entries(pipeline.weights.sft)) expect(Array.from(kept[name]), name).toEqual(Array.from(w));
    expect(checkpoints).toEqual(['grpo']);
  });
});

describe('the group methods’ settings and statistics', () => {
  // Rewards of three groups of 4: one spread, one nearly flat (its std is about ε: ε matters), one flat.
  const rewards = Float64Array.of(1, 2, 4, 7, 1, 1, 1, 1.0001, 3, 3, 3, 3);

  test('grpo.scaleRewards and grpo.lossType reach GRPO’s advantages and aggregation; ε is TRL’s 1e-4', () => {
    for (const scaleRewards of ['group', 'batch', 'none'] as const) {
      const method = grpoMethod({ ...GRPO_SETTINGS, scaleRewards });
      expect(Array.from(method.advantages(rewards, 4, 0.04, undefined).advantages), scaleRewards).toEqual(Array.from(groupAdvantages(rewards, 4, scaleRewards, 1e-4)));
    }
    for (const lossType of ['grpo', 'dapo', 'dr_grpo'] as const) expect(grpoMethod({ ...GRPO_SETTINGS, lossType }).aggregation).toBe(lossType);
    expect(grpoMethod({ ...GRPO_SETTINGS, iterations: 3 }).passes).toBe(3);
    // RLOO: each sequence's token sum, the mean over sequences (TRL's RLOO loss); one REINFORCE step; KL in the reward.
    expect(RLOO_METHOD).toMatchObject({ aggregation: 'sequence_sum', passes: 1, klInReward: true });
  });

  test('k3 is exp(e) − e − 1 with e = log π_ref − log π: 0 at π = π_ref, positive, not symmetric', () => {
    expect(k3(-1.5, -1.5)).toBe(0);
    for (const [logp, ref] of [[-1, -2], [-2, -1], [-0.3, -4], [-5, -0.01]]) {
      const e = ref - logp;
      expect(k3(logp, ref), `${logp}, ${ref}`).toBeCloseTo(Math.exp(e) - e - 1, 12);
      expect(k3(logp, ref)).toBeGreaterThan(0);
    }
    expect(k3(-1, -2)).not.toBeCloseTo(k3(-2, -1), 3);
    const tiny = -1 - 1e-9 - -1; // e ≈ −1e-9: k3 ≈ e²/2, which exp(e) − e − 1 computed as written loses to rounding
    expect(k3(-1, -1 - 1e-9) / ((tiny * tiny) / 2)).toBeCloseTo(1, 6);
  });

  test('GRPO’s step metrics: the kernel’s low-side and high-side clip statistics, the token mean of k3', () => {
    const N = 4;
    const logp = Float32Array.of(-1, -2, -0.5, -3);
    const refGrid = Float32Array.of(-1.5, -2, -0.25, -1);
    // (3, N): w where the low side of the clip was active (tokens 0, 1), w where the high side was (token 3), w·k3.
    const stats = Float32Array.of(...[0.25, 0.25, 0, 0], ...[0, 0, 0, 0.25], ...[0, 0, 0, 0]);
    const step: StepReadback = { logp, stats, gradNorm: 1, lr: 1e-3 };
    const mean = (f: (i: number) => number) => Array.from({ length: N }, (_, i) => f(i)).reduce((a, b) => a + b, 0) / N;
    const metrics = grpoMethod(GRPO_SETTINGS).stepMetrics([step], mean, refGrid);
    expect(metrics['clip_ratio/low_mean']).toBe(0.5);
    expect(metrics['clip_ratio/high_mean']).toBe(0.25);
    expect(metrics['clip_ratio/region_mean']).toBe(0.75);
    expect(metrics.kl).toBeCloseTo(mean((i) => Math.exp(refGrid[i] - logp[i]) - (refGrid[i] - logp[i]) - 1), 6);
    expect(grpoMethod(GRPO_SETTINGS).stepMetrics([step], mean, undefined)).not.toHaveProperty('kl');
  });
});

describe('broadcastToTokens', () => {
  test('puts each sequence’s advantage on every one of its response tokens and 0 on prompt and padding', () => {
    const queries = [Uint32Array.of(0, 5, 3), Uint32Array.of(0, 5, 6, 7, 3)];
    const responses = [Uint32Array.of(8, 9, 1), Uint32Array.of(1)];
    const batch = packSequences(queries, responses, 2, 32);
    const grid = broadcastToTokens(batch, [0.5, -2]);
    expect(Array.from(grid)).toEqual(Array.from(batch.mask, (m, i) => (m === 0 ? 0 : i < batch.T ? 0.5 : -2)));
    expect(Array.from(grid.subarray(0, batch.T)).filter((v) => v !== 0)).toEqual([0.5, 0.5, 0.5]);
    expect(Array.from(grid.subarray(batch.T)).filter((v) => v !== 0)).toEqual([-2]);
    expect(() => broadcastToTokens(batch, [1])).toThrow(/1 values for 2 rows/);
  });
});
