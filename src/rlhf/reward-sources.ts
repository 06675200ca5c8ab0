// Where an RL stage's reward comes from (`<stage>.rewardSource` of PPO, GRPO and RLOO):
//   rm        the reward model's score at the response's last token (the learned proxy: InstructGPT's reward)
//   verifier  the task's checker: 1 for an exact answer, 0 otherwise (RL with verifiable rewards; the
//             instructions task has one, sentiment does not)
//   ensemble  M reward models trained on bootstrap resamples of the rankings with different seeds, combined by the
//             mean, the minimum (worst-case optimisation, WCO) or mean − λ·variance (uncertainty-weighted, UWO),
//             as Coste et al. 2024 do against over-optimisation
//   gold      the hidden gold function itself: the oracle a real run never has, the unattainable upper bound
// Every source scores a packed batch of (prompt, response) rows; the GPU ones read the packed tokens, the others
// the decoded text.
//
// The ensemble's combination (combineEnsemble), per row over the M members' scores s₁…s_M:
//   mean   (1/M)·Σ sᵢ
//   min    minᵢ sᵢ                                   (WCO: worst-case optimisation)
//   uwo    (1/M)·Σ sᵢ − λ·(1/M)·Σ (sᵢ − s̄)²          (UWO: the POPULATION variance over the members, divided by M
//                                                    as Coste et al.'s intra-ensemble variance, not by M − 1)
// The members are stored in one checkpoint, each weight name prefixed `member<i>/` (src/model/checkpoint.ts joinMembers,
// splitMembers).
import type { GPT } from '../model/gpt';
import { lastTokenScores } from './forward';
import { combineEnsemble, type EnsembleCombine, type RewardSourceKind } from './reward-source-kinds';
import type { PackedBatch } from './sequences';

export * from './reward-source-kinds';

/** The rows to score: the packed tokens and the same rows as text. */
export interface ScoredRows {
  readonly batch: PackedBatch;
  readonly prompts: readonly string[];
  readonly responses: readonly string[];
}

export interface RewardSource {
  readonly kind: RewardSourceKind;
  /** One reward per row. */
  score(rows: ScoredRows): Promise<Float64Array>;
  /** Frees the GPU models it holds. */
  dispose(): void;
}

/** The reward model's score of each row: the score head at its last token. */
export function rewardModelSource(model: GPT): RewardSource {
  return { kind: 'rm', score: ({ batch }) => lastTokenScores(model, batch), dispose: () => model.dispose() };
}

/** A reward computed from the text alone (the verifier, the gold function). */
export function textRewardSource(kind: 'verifier' | 'gold', reward: (prompt: string, response: string) => number): RewardSource {
  return { kind, score: async ({ prompts, responses }) => Float64Array.from(prompts, (p, i) => reward(p, responses[i])), dispose: () => {} };
}

/** The ensemble's reward: each member scores the rows on the GPU, then `combine` (combineEnsemble) merges them per row. */
export function ensembleSource(models: readonly GPT[], combine: EnsembleCombine, lambda: number): RewardSource {
  return {
    kind: 'ensemble',
    score: async ({ batch }) => {
      const scores: Float64Array[] = [];
      for (const m of models) scores.push(await lastTokenScores(m, batch));
      return combineEnsemble(scores, combine, lambda);
    },
    dispose: () => models.forEach((m) => m.dispose()),
  };
}
