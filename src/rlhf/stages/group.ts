// What the group methods' descriptors (./grpo.ts, ./rloo.ts) share: the metrics of a group rollout (Hugging Face TRL's
// GRPO names), their charts, the formulas they have in common and their GPU memory plan. src/rlhf/grpo.ts has the one
// trainer both run. Light: documentation and arithmetic only.
import { POLICY_MICROBATCH_TOKENS } from '../batch-sizes';
import type { PipelineConfig } from '../config';
import type { MemoryPlanner, StagePlan } from '../memory';
import type { RewardSourceKind } from '../reward-source-kinds';
import { COLORS, FRONTIER_METRICS, OPTIMIZER_METRICS, promptSourceSetting, type PromptSourceKind, rewardSourceModels, rewardSourceSetting } from './shared';
import type { Formula, MetricDoc, SettingDoc, StageChart } from './types';

/** The checkpoints and settings a group method's stage reads, besides its own section. */
export const GROUP_STAGE_INPUTS = {
  reads: ['sft'],
  // The reward model when the stage's rewardSource is rm (openRewardSource needs it then), and for the proxy score
  // otherwise.
  readsIfPresent: ['reward-model'],
  // Its reward is the reward model's or the ensemble's (made from the labels with the rm settings), scored under the
  // run's response rule (the missing-EOS penalty).
  dependsOn: ['labels', 'rm', 'ensemble', 'ppo.noEosPenalty'],
} as const;

/** The settings every group method has (GRPO's G is RLOO's k: `groupSize` here, named as each paper names it). */
export interface GroupStageSettings {
  readonly promptsPerIteration: number;
  readonly episodes: number;
  readonly lr: number;
  readonly warmup: number;
  readonly beta: number;
  readonly gradClip: number;
  readonly rewardSource: RewardSourceKind;
  readonly promptSource: PromptSourceKind;
}

/**
 * The settings every group method documents alike, `section.size` being its completions per prompt (grpo.groupSize,
 * rloo.k) and `steps` the optimizer steps an iteration takes; each method's own settings stand around them (the
 * order --help lists them in).
 */
export function groupBatchFields(section: string, size: string, steps: string) {
  return {
    promptsPerIteration: { kind: 'int', min: 1, max: 1024, meaning: `prompts per iteration (× ${section}.${size} completions, ${steps})` },
    episodes: { kind: 'int', min: 1, max: 10_000_000, meaning: `completions of the whole run, a multiple of ${section}.promptsPerIteration × ${section}.${size}` },
    lr: { kind: 'number', min: 0, max: 1, minOpen: true, meaning: 'learning rate of AdamW (constant after the warm-up)' },
    warmup: { kind: 'int', min: 0, max: 1_000_000, meaning: 'optimizer steps of linear learning-rate warm-up' },
  } as const satisfies Record<string, SettingDoc>;
}

/** The last settings of every group method. */
export const GROUP_CLIP_AND_REWARD_FIELDS = {
  gradClip: { kind: 'number', min: 0, max: 1e6, meaning: 'global gradient-norm clipping' },
  rewardSource: rewardSourceSetting,
  promptSource: promptSourceSetting,
} as const satisfies Record<string, SettingDoc>;

/** A group method's batch checks: at most 4096 completions an iteration, and whole iterations in the run. */
export function groupBatchProblems(section: string, size: string, s: GroupStageSettings, completionsPerPrompt: number): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const batch = s.promptsPerIteration * completionsPerPrompt;
  if (batch > 4096) problems.push({ field: `${section}.promptsPerIteration`, message: `× ${section}.${size} must be at most 4096 completions an iteration, got ${batch}` });
  if (s.episodes % batch !== 0) problems.push({ field: `${section}.episodes`, message: `must be a multiple of ${section}.promptsPerIteration × ${section}.${size} (${batch}), got ${s.episodes}` });
  return problems;
}

/** What a group method logs every iteration (TRL's GRPOTrainer names), beside the frontier's and the optimizer's. */
export const GROUP_METRICS = {
  ...OPTIMIZER_METRICS,
  ...FRONTIER_METRICS,
  reward: {
    label: 'Training reward',
    meaning: 'Mean reward of the sampled completions from the stage’s reward source (the missing-EOS penalty for a completion without EOS): what the method maximises.',
    healthy: 'Rises; with rewardSource rm, rising while objective/gold falls is reward hacking.',
  },
  reward_std: {
    label: 'Reward spread in a group',
    meaning: 'Standard deviation of the rewards within a prompt’s group of completions (unbiased), mean over the groups: the signal the group-relative advantages are made from.',
    healthy: 'Positive; shrinking toward 0 means the completions of a prompt all score alike and there is little left to learn.',
  },
  frac_reward_zero_std: {
    label: 'Groups without signal',
    meaning: 'Fraction of prompts whose completions all got the same reward: their advantages are 0, so they teach nothing.',
    healthy: 'Low; near 1 with a 0/1 verifier means every completion is right (or wrong) — easier or harder prompts, or more completions per prompt, would help.',
  },
  entropy: {
    label: 'Entropy',
    meaning: 'Entropy of the policy per completion token, estimated as −mean log π of the sampled tokens (SFT: the exact mean entropy of the next-token distribution).',
    healthy: 'Falls slowly; a collapse toward 0 means the policy answers every prompt the same way (mode collapse).',
    unit: 'nats/token',
  },
  'completions/mean_length': {
    label: 'Completion length',
    meaning: 'Mean number of tokens per sampled completion (EOS included).',
    healthy: 'Roughly stable; steady growth with a rising reward hints at length hacking.',
    unit: 'tokens',
  },
  episode: {
    label: 'Episodes',
    meaning: 'Number of responses (prompt → response → reward episodes) sampled so far.',
  },
} as const satisfies Record<string, MetricDoc>;

/** The reward charts every group method starts with: proxy and gold of its samples, then its training reward. */
export function groupCharts(name: string, extra: readonly StageChart[]): StageChart[] {
  return [
    {
      title: `${name} reward: proxy and gold`,
      lines: [
        { metric: 'objective/scores', label: 'Proxy (RM score)', color: COLORS.blue },
        { metric: 'objective/gold', label: 'Gold reward', color: COLORS.orange },
        { metric: 'reward', label: 'Training reward', color: COLORS.green },
      ],
    },
    {
      title: `${name}: the groups’ signal`,
      lines: [
        { metric: 'reward_std', color: COLORS.purple },
        { metric: 'frac_reward_zero_std', color: COLORS.red, axis: 'right' },
      ],
    },
    ...extra,
    { title: `${name}: entropy`, lines: [{ metric: 'entropy', color: COLORS.green }] },
    { title: `${name}: completion length`, lines: [{ metric: 'completions/mean_length', color: COLORS.blue }] },
  ];
}

/** The formula both methods sample and score with: G completions of each prompt, and the objective's KL term. */
export const GROUP_SAMPLING_FORMULA: Formula = {
  title: 'A group of completions per prompt',
  text: 'o₁ … o_G ~ π_old(· | q),   rᵢ = r(q, oᵢ)   (every token of oᵢ gets the same advantage Âᵢ)',
  symbols: [
    ['q', 'a prompt of the batch'],
    ['G', 'completions per prompt (grpo.groupSize, rloo.k)'],
    ['r', 'the reward source: the reward model, the task’s verifier, an ensemble or the gold oracle'],
    ['Âᵢ', 'how much better oᵢ did than the rest of its group: no value model is learnt'],
  ],
  source: 'Shao et al. 2024 (DeepSeekMath) §4.1; Ahmadian et al. 2024 §3',
};

/**
 * The GPU memory of a group method's stage: the policy and its optimizer, the reference when β > 0, the reward source's
 * models (and the reward model for the proxy score when the source is another); phases: the rollout of every
 * completion at once, the forward passes over them, and a policy step of micro-batches (its whole batch's inputs
 * uploaded at once: tokens, targets, weights, advantages, old and reference log-probs, the outputs copied out).
 */
export function groupMemory(plan: MemoryPlanner, c: PipelineConfig, s: GroupStageSettings & { readonly section: string; readonly groupSize: number }): StagePlan {
  const { T, model, trained, training, forward, generation } = plan;
  const rows = s.promptsPerIteration * s.groupSize;
  const field = `${s.section}.promptsPerIteration`;
  const microRows = Math.min(rows, Math.max(1, Math.floor(POLICY_MICROBATCH_TOKENS / T)));
  // Per token of the whole batch, held through the step: tokens, targets, weights, advantages, old and reference
  // log-probs, and the 4 outputs copied out of each micro-batch; the micro-batch's own loss adds losses, dlogp and
  // the (3,n) statistics to the training step's.
  const batchInputs = { what: `the policy step's inputs and outputs for ${rows} completions`, bytes: rows * T * 10 * 4 };
  const step = training('a policy step', field, microRows * T, 'logprob', 5);
  const rewardModels = rewardSourceModels({ model }, s.rewardSource, c);
  return {
    resident: [
      model('the policy'),
      trained("the policy's optimizer"),
      ...(s.beta > 0 ? [model('the reference policy')] : []),
      ...rewardModels,
      ...(s.rewardSource === 'rm' ? [] : [model('the reward model (for the proxy score)', 'score')]),
    ],
    phases: [
      generation('rollout', field, rows),
      forward('scoring the rollout', field, rows, 'logprob'),
      { ...step, parts: [...step.parts, batchInputs] },
    ],
  };
}
