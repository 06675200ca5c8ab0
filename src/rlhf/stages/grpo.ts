// GRPO (Shao et al. 2024, DeepSeekMath): a group of completions per prompt, each completion's advantage its reward
// against its group's, PPO's clipped surrogate with DAPO's clip-higher range and a k3 KL penalty to the SFT policy in
// the loss; no value model. src/rlhf/grpo.ts has the trainer (shared with RLOO) and its implementation details.
import type { PresetName } from '../../model/config';
import type { StagePlan } from '../memory';
import type { AdvantageScale } from '../group-advantages';
import {
  GROUP_CLIP_AND_REWARD_FIELDS,
  GROUP_METRICS,
  GROUP_SAMPLING_FORMULA,
  GROUP_STAGE_INPUTS,
  groupBatchFields,
  groupBatchProblems,
  groupCharts,
  groupMemory,
  type GroupStageSettings,
} from './group';
import { COLORS, evaluationMetrics, FRONTIER_TRAJECTORY } from './shared';
import type { StageConfig, StageDescriptor } from './types';

export interface GRPOSettings extends GroupStageSettings {
  readonly groupSize: number;
  readonly epsLow: number;
  readonly epsHigh: number;
  readonly scaleRewards: AdvantageScale;
  readonly lossType: 'grpo' | 'dapo' | 'dr_grpo';
  readonly iterations: number;
  readonly dynamicSampling: number;
}

const COMMON = {
  epsLow: 0.2, // TRL's epsilon
  epsHigh: 0.28, // DAPO's clip-higher
  beta: 0.04, // DeepSeekMath's (TRL's default is 0 since 2025: set grpo.beta=0 for Dr. GRPO / DAPO, no reference model)
  scaleRewards: 'group', // DeepSeekMath's (r − mean)/std
  lossType: 'dapo', // TRL's default: the token mean over the batch (no length bias per sequence)
  iterations: 1, // TRL's num_iterations: on-policy, ρ = 1
  dynamicSampling: 0, // off: TRL's GRPOTrainer has no dynamic sampling
  gradClip: 1, // TRL's max_grad_norm
  rewardSource: 'rm',
  promptSource: 'train',
} as const;

// promptsPerIteration × groupSize completions an iteration: 32 on tiny, as PPO's batch. A GRPO iteration is a
// rollout, the reference's and the reward model's forward and ONE policy update, against PPO's four forwards and four
// policy and value minibatch steps. Measured on sentiment, seed 1 (SwiftShader, 2 cores, other work running): 1280
// completions (40 steps at lr 3e-4) took 173 s and won 97% of 64 held-out prompts against SFT, but at 12.8 nats of
// KL (PPO: 89% at 4.8 nats in 160 s; RLOO 87% at 8.2); 768 (24 steps) took 133 s and won 86% [75%, 92%] at 9.1 nats —
// the preset, inside the 10 nats a comparison with PPO allows.
const DEFAULTS: Readonly<Record<PresetName, GRPOSettings>> = {
  nano: { ...COMMON, groupSize: 4, promptsPerIteration: 2, episodes: 16, lr: 3e-4, warmup: 0 },
  tiny: { ...COMMON, groupSize: 8, promptsPerIteration: 4, episodes: 768, lr: 3e-4, warmup: 2 },
  small: { ...COMMON, groupSize: 8, promptsPerIteration: 8, episodes: 5120, lr: 5e-5, warmup: 4 },
};

export const grpo = {
  id: 'grpo',
  name: 'GRPO',
  produces: 'policy',
  ...GROUP_STAGE_INPUTS,
  writes: 'grpo',
  byDefault: false,
  lengthSettings: ['grpo.episodes'],
  // No value model and no penalty in the reward: the advantages come from the group, the KL is in the loss.
  diagram: {
    lit: ['prompts', 'policy', 'responses', 'reward-model', 'advantages', 'update', 'reference'],
    numbers: { reward: 'reward', kl: 'objective/kl', advantage: 'reward_std', clipfrac: 'clip_ratio/region_mean' },
  },
  config: [
    {
      section: 'grpo',
      defaults: (preset) => DEFAULTS[preset],
      fields: {
        groupSize: { kind: 'int', min: 2, max: 64, meaning: 'G: completions sampled per prompt, compared with each other for their advantages' },
        ...groupBatchFields('grpo', 'groupSize', 'one optimizer step per grpo.iterations'),
        epsLow: { kind: 'number', min: 0, max: 1, meaning: 'ε_low: the ratio π/π_old is clipped below at 1 − ε_low' },
        epsHigh: { kind: 'number', min: 0, max: 10, meaning: 'ε_high: the ratio is clipped above at 1 + ε_high (above ε_low: DAPO’s clip-higher, room for unlikely tokens to grow)' },
        beta: { kind: 'number', min: 0, max: 100, meaning: 'β: weight of the k3 KL penalty to the SFT policy in the loss (0: no reference model at all, no KL measured while training)' },
        scaleRewards: { kind: 'choice', options: ['group', 'batch', 'none'], meaning: 'the advantage (r − group mean) divided by the group’s std, the batch’s, or nothing (Dr. GRPO)' },
        lossType: { kind: 'choice', options: ['grpo', 'dapo', 'dr_grpo'], meaning: 'grpo: mean over each completion’s tokens, then over completions; dapo: mean over all tokens of the batch; dr_grpo: sum over tokens / (completions × the longest allowed response)' },
        iterations: { kind: 'int', min: 1, max: 100, meaning: 'μ: optimizer steps on each batch of completions (TRL’s num_iterations; 1: on-policy, the ratio is 1 and nothing clips)' },
        dynamicSampling: { kind: 'int', min: 0, max: 16, meaning: 'DAPO’s dynamic sampling: at most this many more rounds of prompts an iteration, sampled in place of groups whose completions all scored the same (they teach nothing); 0: off' },
        ...GROUP_CLIP_AND_REWARD_FIELDS,
      },
      check: (g) => groupBatchProblems('grpo', 'groupSize', g, g.groupSize),
    } as const satisfies StageConfig<GRPOSettings>,
  ],
  metrics: {
    ...GROUP_METRICS,
    kl: {
      label: 'KL (k3, per token)',
      meaning: 'Mean over the completion tokens of the k3 estimate π_ref/π − log(π_ref/π) − 1 the loss penalises (TRL’s kl; absent at β = 0).',
      healthy: 'Grows slowly from 0; objective/kl is the same KL per completion, as PPO measures it.',
      unit: 'nats/token',
    },
    'clip_ratio/low_mean': {
      label: 'Clipped low',
      meaning: 'Fraction of completion tokens where the ratio fell below 1 − ε_low with a negative advantage (the clip stopped the update).',
      healthy: 'Exactly 0 with grpo.iterations = 1 (the ratio is 1); small otherwise.',
    },
    'clip_ratio/high_mean': {
      label: 'Clipped high',
      meaning: 'Fraction of completion tokens where the ratio rose above 1 + ε_high with a positive advantage.',
      healthy: 'Exactly 0 with grpo.iterations = 1; small otherwise (clip-higher keeps it below the low side’s share).',
    },
    'clip_ratio/region_mean': {
      label: 'Clipped (either side)',
      meaning: 'Fraction of completion tokens where either side of the clip was active: clip_ratio/low_mean + clip_ratio/high_mean.',
      healthy: 'Exactly 0 with grpo.iterations = 1; below ≈ 0.2 otherwise, or the learning rate is too large.',
    },
    'sampling/groups_drawn': {
      label: 'Groups sampled',
      meaning: 'With grpo.dynamicSampling: the prompts’ groups sampled this iteration, those set aside for no spread included; the batch trains on grpo.promptsPerIteration of them.',
      healthy: 'Near grpo.promptsPerIteration when most groups have a spread; far above it, the policy gets most prompts all right or all wrong.',
    },
    'sampling/rounds': {
      label: 'Extra sampling rounds',
      meaning: 'With grpo.dynamicSampling: the rounds sampled after the first to replace groups with no spread (at most grpo.dynamicSampling).',
      healthy: 'Below the cap; at the cap with frac_reward_zero_std above 0, the rounds ran out before the batch had spread everywhere.',
    },
    ...evaluationMetrics('grpo', 'GRPO'),
  },
  policy: { color: COLORS.purple, trajectory: FRONTIER_TRAJECTORY },
  charts: groupCharts('GRPO', [
    {
      title: 'GRPO: KL to the SFT policy',
      lines: [
        { metric: 'objective/kl', color: COLORS.purple },
        { metric: 'kl', color: COLORS.teal, axis: 'right' },
      ],
    },
    {
      title: 'GRPO: clip ratios',
      lines: [
        { metric: 'clip_ratio/low_mean', color: COLORS.red },
        { metric: 'clip_ratio/high_mean', color: COLORS.orange },
      ],
    },
  ]),
  teaching: {
    title: 'GRPO: group-relative policy optimisation',
    what: 'Samples a group of completions for each prompt and scores them; a completion that beats its group’s mean reward is made more likely and one below it less, each by its advantage (r − group mean)/(group std), on every one of its tokens. PPO’s clipped surrogate with a k3 KL penalty to the SFT policy in the loss; no value model.',
    why: 'PPO trains a value model as large as the policy to tell a good response from a lucky one; GRPO takes the baseline from the other completions of the same prompt instead (DeepSeekMath), which also makes it the natural method for a reward that only says right or wrong (a verifier). DAPO’s clip-higher (ε_high > ε_low) leaves unlikely tokens room to grow, against entropy collapse; Dr. GRPO drops the division by the std and by each completion’s length, which favour too easy or too hard prompts and long wrong answers.',
    healthy: 'reward and objective/gold rise; reward_std stays above 0 and frac_reward_zero_std low (a group whose completions all score alike teaches nothing); the KL grows slowly; entropy falls slowly, not to 0; with grpo.iterations = 1 the clip ratios are exactly 0 (the ratio is 1). The reward rising while the gold reward falls is reward hacking (rewardSource rm); completions growing longer with the reward is length hacking.',
    formulas: [
      GROUP_SAMPLING_FORMULA,
      {
        title: 'Group-relative advantage',
        text: 'Âᵢ = ( rᵢ − mean(r₁ … r_G) ) / ( std(r₁ … r_G) + ε )',
        symbols: [
          ['rᵢ', 'the reward of completion oᵢ (the missing-EOS penalty for one without EOS)'],
          ['std', 'the group’s unbiased standard deviation (grpo.scaleRewards = group); the batch’s (batch); or none: Âᵢ = rᵢ − mean (Dr. GRPO)'],
          ['ε', '1e-4: a group of equal rewards gets Â = 0'],
        ],
        source: 'Shao et al. 2024 (DeepSeekMath) §4.1.2; Liu et al. 2025 (Dr. GRPO) §3',
      },
      {
        title: 'GRPO objective (maximised)',
        text: 'J(θ) = E[ (1/G) Σᵢ (1/|oᵢ|) Σₜ { min( ρᵢₜ·Âᵢ, clip(ρᵢₜ, 1 − ε_low, 1 + ε_high)·Âᵢ ) − β·D_KL,ᵢₜ } ],   ρᵢₜ = π_θ(oᵢₜ | q, oᵢ,<ₜ) / π_old(oᵢₜ | q, oᵢ,<ₜ)',
        symbols: [
          ['ρᵢₜ', 'the ratio of the policy to the one that sampled (1 exactly with grpo.iterations = 1)'],
          ['ε_low, ε_high', '0.2 and 0.28: the clip range, wider above (DAPO’s clip-higher)'],
          ['β', 'the KL penalty’s weight (0.04 in DeepSeekMath; 0: no reference model)'],
          ['(1/G) Σᵢ (1/|oᵢ|) Σₜ', 'grpo.lossType = grpo; dapo: Σᵢ Σₜ / Σᵢ |oᵢ| (the token mean); dr_grpo: Σᵢ Σₜ / (G·L_max)'],
        ],
        source: 'Shao et al. 2024 (DeepSeekMath) eq. 3; Yu et al. 2025 (DAPO) §3.1, §3.3; Liu et al. 2025 (Dr. GRPO)',
      },
      {
        title: 'The k3 KL estimate',
        text: 'D_KL,ᵢₜ = π_ref(oᵢₜ|·)/π_θ(oᵢₜ|·) − log( π_ref(oᵢₜ|·)/π_θ(oᵢₜ|·) ) − 1   (≥ 0, unbiased for KL(π_θ ‖ π_ref))',
        symbols: [
          ['π_ref', 'the frozen SFT policy'],
          ['π_θ', 'the policy being trained'],
        ],
        source: 'Shao et al. 2024 (DeepSeekMath) eq. 4; J. Schulman, Approximating KL Divergence (2020)',
      },
    ],
    metrics: ['reward', 'objective/gold', 'reward_std', 'frac_reward_zero_std', 'kl', 'entropy', 'completions/mean_length'],
  },
  memory: (plan, c): StagePlan => groupMemory(plan, c, { ...c.grpo, section: 'grpo' }),
  trl: { load: () => import('./grpo-trl') },
  run: async (ctx) => (await import('./grpo-run')).runGrpo(ctx),
} as const satisfies StageDescriptor;
