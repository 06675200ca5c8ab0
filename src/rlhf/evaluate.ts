// The lab's version of InstructGPT's headline result: how often is the RL policy's response preferred to the SFT
// policy's on held-out prompts? Here the judge is the task's hidden gold function (the labelers' "true" preference),
// each policy answers every prompt once (temperature 1, the same seed for both), ties count ½, and the win rate
// comes with a 95% confidence interval (math.ts winRate).
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../model/tokenizer';
import { lastTokenScores, sequenceLogprobs } from './forward';
import { winRate } from './math';
import { sampleResponses } from './reward-model';
import { encodeQuery, packSequences, type PackedBatch } from './sequences';

export interface PolicySamples {
  prompts: readonly string[];
  responses: string[];
  /** Reward-model score (the missing-EOS penalty for unfinished responses). */
  proxy: number[];
  gold: number[];
  /** The (prompt, response) token rows, for log-prob passes over the samples. */
  batch: PackedBatch;
}

/** One response per prompt from `policy`, scored by the reward model (NaN without one) and the gold function. */
export async function samplePolicy(
  policy: GPT,
  reward: GPT | undefined,
  tokenizer: Tokenizer,
  prompts: readonly string[],
  options: { maxResponseTokens: number; noEosPenalty: number; seed: number; gold?: (prompt: string, response: string) => number },
): Promise<PolicySamples> {
  const { maxResponseTokens, noEosPenalty, gold } = options;
  const s = await sampleResponses(policy, tokenizer, prompts, 1, { maxResponseTokens, temperature: 1, seed: options.seed });
  const ctx = policy.config.contextLength;
  const queries = prompts.map((p) => encodeQuery(tokenizer, p, ctx - maxResponseTokens));
  const batch = packSequences(queries, s.ids.map(([r]) => r), tokenizer.special.pad, ctx);
  const scores = reward ? await lastTokenScores(reward, batch) : undefined;
  const responses = s.texts.map(([t]) => t);
  return {
    prompts,
    responses,
    proxy: responses.map((_, i) => (!scores ? NaN : s.finished[i][0] ? scores[i] : noEosPenalty)),
    gold: responses.map((r, i) => (gold ? gold(prompts[i], r) : NaN)),
    batch,
  };
}

/**
 * KL(π ‖ π_ref) per response, estimated on the policy's own samples as PPO does (k1): Σₜ log π(yₜ) − log π_ref(yₜ)
 * over each response's tokens. Its mean over prompts is the objective/kl of those samples.
 */
export async function sampleKL(policy: GPT, reference: GPT, samples: PolicySamples): Promise<number[]> {
  const { batch } = samples;
  const [logp, ref] = [await sequenceLogprobs(policy, batch), await sequenceLogprobs(reference, batch)];
  return Array.from({ length: batch.B }, (_, b) => {
    let kl = 0;
    for (let t = b * batch.T; t < (b + 1) * batch.T; t++) if (batch.mask[t] !== 0) kl += logp[t] - ref[t];
    return kl;
  });
}

/** Win rate of `a` over `b` by gold reward, prompt by prompt. */
export function compareByGold(a: PolicySamples, b: PolicySamples) {
  return winRate(a.gold, b.gold);
}
