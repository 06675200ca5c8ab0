// PPO learns: at nano scale, PPOTrainer (src/rlhf/ppo.ts), driven the way the PPO stage drives it
// (src/rlhf/stages/ppo-run.ts runPpo: policy and reference from the same "SFT" weights, the value model initialised
// from the reward model with score.* renamed value.*, trainer seed mixSeed(seed, 51), prompts cycled in the order
// shuffledIndices(n, mixSeed(seed, 52)), one trainer.step per batch, a metric alarm stops it), must raise the reward
// model's score of its own samples (objective/scores), move away from the reference (objective/kl grows from exactly
// 0) and raise the log-probability of the rewarded behaviour on held-out prompts. tests/rlhf/ppo.test.ts checks one
// iteration's plumbing; this file checks that the policy gradient points the right way and reaches the weights.
//
// The reward model (tests/helpers/first-token-reward.ts) is built by hand, not trained, so the reward is exact, cheap
// and the same on every machine:
//   score = REWARD if the response's first token is "a", else 0 (whatever follows; an empty response scores 0).
// Every prompt has PROMPT_LENGTH characters, so the first response token always sits at position FIRST of
// [BOS, prompt…, SEP, response…]. Layer 0's attention reads it: q = a constant (c_attn bias), k = a large multiple
// of a "position FIRST" feature carried by wpe[FIRST], so every position at or after FIRST attends to FIRST alone
// (logit ≈ 12 against ≈ 0 for the rest); v = an "is a" feature carried by wte[a]. c_proj writes that into one
// residual channel, every other block output is zero, and the score head reads that channel after ln_f. The scale
// is calibrated on two probe responses (0 and REWARD). Token embeddings are one-hot and wpe adds a fixed ±2
// background on 20 channels so the LayerNorms stay close to linear in the features they pass on.
// Why the first token and not "contains a" / "count of a": a reward that grows with the response's length fights
// the missing-EOS penalty (−1 for a response cut at maxResponseTokens), and the near-uniform initial policy leaves
// ~40% of its responses unfinished. Measured with a count-of-"a" reward model (same construction, BOS as an
// attention sink), the policy mostly learnt when to stop rather than to say "a", and over 4 seeds the score rose on
// some and fell on others; an EOS prior in the initial policy (tried with both rewards) let it collapse to empty
// responses. A first-token reward is a contextual bandit whose credit the value model (initialised from this reward
// model) puts on the right token.
//
// The policy is the nano GPT at its random initialisation (near-uniform over the 9-token vocabulary: P("a") ≈ 0.1),
// with the nano preset's PPO settings (batch 8, 2 minibatches, 1 epoch, β = 0.05 fixed, k1, ≤ 8 response tokens,
// −1 missing-EOS penalty) except lr = valueLr = 5e-3: the preset's 3e-4 barely moves a random policy in 24
// iterations, and 1e-2 (16 iterations) overshot on 1 seed of 6 (learnt "a", then lost it again).
//
// Measured (SwiftShader, 2 CPU cores; 24 iterations of 8 episodes; Δscore = mean objective/scores of the last 4
// iterations − of the first 4; KL = mean objective/kl of the last 4; log π = mean log π("a" first | prompt) on the
// held-out prompts, after − before):
//   normal, seed 1:                       Δscore +1.69 (0.12 → 1.81), KL 3.76, log π −2.21 → −0.06 (+2.15)
//   normal, seeds 2…6:                    Δscore +1.57 +1.63 +1.38 +1.88 +1.01, KL 3.2…5.6, log π +2.1…+2.5
//   advantages negated (ppo.ts):          Δscore −0.19, KL 14.0, log π −2.21 → −6.93
//   surrogate's gradient negated:         Δscore −0.06, KL 10.0, log π −2.21 → −9.00
//   policy's tape.backward() skipped:     Δscore −0.06, KL 0.00, log π −2.21 → −2.21
// Each broken variant fails the first assertion. Margins: Δscore > 0.6 (the smallest normal value is 1.01; a policy
// that does not move scores 8 Bernoulli(≈0.1) episodes × REWARD per iteration: Δ ≈ 0 ± 0.15), log π up by > 1 nat,
// KL > 1 nat (policy moved; a negated gradient moves it too, so KL alone proves nothing).
import { describe, expect } from 'vitest';
import { mixSeed, shuffledIndices } from '../../src/model/data';
import { GPT } from '../../src/model/gpt';
import { initWeights } from '../../src/model/params';
import { makePipelineConfig } from '../../src/rlhf/config';
import { checkAlarms } from '../../src/rlhf/metrics';
import { PPOTrainer } from '../../src/rlhf/ppo';
import { gpuTest } from '../helpers/gpu';
import {
  config,
  HELDOUT_PROMPTS,
  logprobOfRewarded,
  PROMPT_LENGTH,
  REWARD,
  REWARDED,
  rewardModelWeights,
  scores,
  tok,
  TRAIN_PROMPTS,
} from '../helpers/first-token-reward';

const SEED = 1;
const ITERATIONS = 24;
/** Iterations averaged at the start and at the end. */
const WINDOW = 4;

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(' ');

describe('PPO learning (nano)', () => {
  gpuTest(`the hand-built reward model scores ${REWARD} for a response starting with "${REWARDED}", 0 for any other`, async ({ rt }) => {
    const rm = GPT.create(rt, config, { weights: await rewardModelWeights(rt), head: 'score' });
    try {
      const starts = ['a', 'ab', 'abcd', 'aaaaaaa', 'adcb'];
      const others = ['b', 'ba', 'bcdbcda', 'daaaaaa', 'cccc'];
      for (const prompt of ['bcd', 'ddc']) {
        for (const s of await scores(rm, prompt, starts)) expect(s).toBeCloseTo(REWARD, 2);
        for (const s of await scores(rm, prompt, others)) expect(s).toBeCloseTo(0, 2);
        // The empty response (EOS first) reads as "not a" too.
        expect((await scores(rm, prompt, ['']))[0]).toBeCloseTo(0, 1);
      }
    } finally {
      rm.dispose();
    }
  });

  gpuTest('PPO raises the score of its samples, moves away from the reference and raises log π of the rewarded token', async ({ rt }) => {
    expect(TRAIN_PROMPTS.every((p) => p.length === PROMPT_LENGTH && !p.includes(REWARDED))).toBe(true);
    const rmWeights = await rewardModelWeights(rt);
    const c = makePipelineConfig('nano', { seed: SEED, 'ppo.lr': 5e-3, 'ppo.valueLr': 5e-3, 'ppo.episodes': 8 * ITERATIONS }).ppo;
    expect(c.batchSize).toBe(8);
    const sft = initWeights(config, SEED);
    const valueWeights = Object.fromEntries(Object.entries(rmWeights).map(([k, v]) => [k.replace(/^score\./, 'value.'), v]));
    const models = {
      policy: GPT.create(rt, config, { weights: sft }),
      reference: GPT.create(rt, config, { weights: sft }),
      reward: GPT.create(rt, config, { weights: rmWeights, head: 'score' }),
      value: GPT.create(rt, config, { weights: valueWeights, head: 'value' }),
    };
    const trainer = new PPOTrainer(models, tok, c, mixSeed(SEED, 51), undefined);
    const order = shuffledIndices(TRAIN_PROMPTS.length, mixSeed(SEED, 52));
    const score: number[] = [];
    const kl: number[] = [];
    const alarms: string[] = [];
    let before: number, after: number;
    try {
      before = await logprobOfRewarded(models.policy, HELDOUT_PROMPTS);
      for (let it = 0; it < c.episodes / c.batchSize; it++) {
        const batch = Array.from({ length: c.batchSize }, (_, i) => TRAIN_PROMPTS[order[(it * c.batchSize + i) % TRAIN_PROMPTS.length]]);
        const { metrics } = await trainer.step(batch);
        const alarm = checkAlarms({ stage: 'ppo', ...metrics }); // runPpo's ctx.emit would stop the stage here
        if (alarm) alarms.push(`iteration ${it}: ${alarm.message}`);
        score.push(metrics['objective/scores']!);
        kl.push(metrics['objective/kl']!);
      }
      after = await logprobOfRewarded(models.policy, HELDOUT_PROMPTS);
    } finally {
      trainer.dispose();
      Object.values(models).forEach((m) => m.dispose());
    }
    const report = `objective/scores per iteration: ${fmt(score)}\nobjective/kl: ${fmt(kl)}\nlog π("${REWARDED}") on held-out prompts: ${before.toFixed(2)} → ${after.toFixed(2)}`;
    const [scoreStart, scoreEnd] = [mean(score.slice(0, WINDOW)), mean(score.slice(-WINDOW))];
    // The reward model's score of the policy's samples rises.
    expect(scoreEnd - scoreStart, report).toBeGreaterThan(0.6);
    // The rewarded behaviour became more likely on prompts PPO never saw.
    expect(after - before, report).toBeGreaterThan(1);
    // The policy moved: the KL to the reference starts at 0 (same weights) and grows.
    expect(kl[0], report).toBeCloseTo(0, 6);
    expect(mean(kl.slice(-WINDOW)), report).toBeGreaterThan(1);
    // …and it got there the way the PPO stage would let it: no metric alarm on the way.
    expect(alarms).toEqual([]);
  }, 300_000); // ~60 s on 2 idle cores; room for a loaded machine
});
