// Documentation several stages share: the language-model loss, the optimizer's metrics, and the evaluation metrics
// every policy-producing stage gets (the evaluation stage samples each policy on the same held-out prompts).
import type { PipelineConfig } from '../config';
import type { MemoryPart, MemoryPlanner } from '../memory';
import { REWARD_SOURCE_MEANINGS, REWARD_SOURCES, type RewardSourceKind } from '../reward-source-kinds';
import type { Formula, MetricDoc, SettingDoc } from './types';

/**
 * The `rewardSource` setting of an RL stage (PPO, GRPO, RLOO): one definition, so every stage documents and checks it
 * alike; the run refuses a source its task cannot provide (src/rlhf/config.ts taskProblems checks every field of this
 * name against the task).
 */
export const rewardSourceSetting = {
  kind: 'choice',
  options: REWARD_SOURCES,
  meaning: `where the reward comes from: ${REWARD_SOURCES.map((k) => `${k} = ${REWARD_SOURCE_MEANINGS[k]}`).join('; ')}`,
} as const satisfies SettingDoc;

/** Where a stage's training prompts come from: its `promptSource` setting's values (RL stages and SFT). */
export const PROMPT_SOURCES = ['train', 'generated'] as const;
export type PromptSourceKind = (typeof PROMPT_SOURCES)[number];

/**
 * The `promptSource` setting of an RL stage (PPO, GRPO, RLOO; SFT's field of that name has its own meaning).
 * "generated" needs a task with an example generator (src/rlhf/config.ts taskProblems checks every field of this
 * name against the task).
 */
export const promptSourceSetting = {
  kind: 'choice',
  options: PROMPT_SOURCES,
  meaning: 'where the training prompts come from: train = the task’s training prompts, cycled in a seeded order; generated = new prompts from the task’s own generator, never a held-out one (a reward needs no demonstration or label, so the stage need not revisit the same prompts; instructions task only)',
} as const satisfies SettingDoc;

/** The GPU models a reward source holds through an RL stage: the reward model, the ensemble's members, or none (verifier, gold). */
export function rewardSourceModels({ model }: Pick<MemoryPlanner, 'model'>, source: RewardSourceKind, c: PipelineConfig): MemoryPart[] {
  if (source === 'rm') return [model('the reward model', 'score')];
  if (source === 'ensemble') return Array.from({ length: c.ensemble.members }, (_, i) => model(`reward model ${i + 1} of the ensemble`, 'score'));
  return [];
}

/** The page's chart palette (src/ui/charts/runs.ts uses the same): a metric looks the same on every chart. */
export const COLORS = { blue: '#2f6fde', orange: '#d4822a', green: '#2e9e5b', purple: '#8a4fd1', red: '#d64545', teal: '#1f9aa8' } as const;

export const LM_LOSS_FORMULA: Formula = {
  title: 'Language-model loss',
  text: 'loss(θ) = −1/N · Σₜ log π_θ(yₜ | x, y₍<ₜ₎)',
  symbols: [
    ['x', 'the prompt (SFT: no loss on its tokens)'],
    ['yₜ', 'the t-th target token; N of them'],
    ['π_θ', 'the model’s next-token distribution'],
  ],
  source: 'Radford et al. 2019 (GPT-2); InstructGPT §3.5 for SFT',
};

export const LM_LOSS_METRIC = {
  label: 'LM loss',
  meaning: 'Mean next-token cross-entropy: of every token when pretraining, of the response tokens only in SFT (prompt tokens carry no loss).',
  healthy: 'Falls quickly, then flattens; validation loss rising while training loss falls means overfitting.',
  unit: 'nats/token',
} as const satisfies MetricDoc;

export const OPTIMIZER_METRICS = {
  lr: {
    label: 'Learning rate',
    meaning: 'Learning rate of the optimizer at this step (after warm-up/schedule).',
  },
  grad_norm: {
    label: 'Gradient norm',
    meaning: 'Global L2 norm of the gradient before clipping.',
    healthy: 'Roughly steady; sudden spikes precede divergence.',
  },
} as const satisfies Record<string, MetricDoc>;

/**
 * What a policy-producing stage logs about its samples while it trains (PPO: each rollout; DPO: held-out prompts every
 * few steps): the frontier chart draws gold and proxy against √KL from these.
 */
export const FRONTIER_METRICS = {
  'objective/scores': {
    label: 'RM score',
    meaning: 'Mean reward-model score of the sampled responses (the proxy reward, before the KL penalty).',
    healthy: 'Rises; rising while objective/gold falls is reward over-optimization.',
  },
  'objective/gold': {
    label: 'Gold reward',
    meaning: 'Mean hidden gold reward of the sampled responses (what the labelers actually wanted).',
    healthy: 'Rises with the RM score; first rises then falls when over-optimizing (Gao et al.).',
  },
  'objective/kl': {
    label: 'KL to SFT',
    meaning: 'KL(π ‖ π_SFT) per response: per-token log-ratio summed over the response, mean over the responses.',
    healthy: 'Grows slowly from 0, usually between 0 and 10; negative means sampling is not from the policy.',
    unit: 'nats',
  },
  'objective/kl_stderr': {
    label: 'KL standard error',
    meaning: 'Standard error of objective/kl: the standard deviation of per-response KL over the batch, divided by √(batch size).',
    healthy: 'Small next to objective/kl; a negative objective/kl within 3 of these is sampling noise, not a bug.',
    unit: 'nats',
  },
  'policy/sqrt_kl': {
    label: '√KL',
    meaning: 'Square root of objective/kl: the x-axis on which reward grows roughly linearly (Anthropic, Gao et al.).',
    unit: '√nats',
  },
} as const satisfies Record<string, MetricDoc>;

/** The KL part of the reward, when the KL penalty is in the reward (PPO, RLOO). */
export const KL_PENALTY_METRIC = {
  label: 'KL penalty',
  meaning: 'The KL part of the reward, −β·KL summed over a response, mean over the batch.',
  healthy: 'Small and negative.',
} as const satisfies MetricDoc;

/** Where a policy's training-time records put it on the frontier (PPO's rollouts, DPO's held-out checks). */
export const FRONTIER_TRAJECTORY = { kl: 'objective/kl', proxy: 'objective/scores', gold: 'objective/gold' } as const;

/** A trained policy's chart of the proxy and the gold reward of its samples. */
export function rewardChart(title: string) {
  return {
    title,
    lines: [
      { metric: 'objective/scores', label: 'Proxy (RM score)', color: COLORS.blue },
      { metric: 'objective/gold', label: 'Gold reward', color: COLORS.orange },
    ],
  } as const;
}

/** The evaluation stage's metrics for one policy (`id` a policy stage, `name` as the page shows it). */
export function evaluationMetrics<Id extends string>(id: Id, name: string) {
  const doc = (label: string, meaning: string, healthy?: string, unit?: string): MetricDoc => ({ label, meaning, ...(healthy && { healthy }), ...(unit && { unit }), loggedBy: 'eval' });
  return {
    [`eval/win_rate_${id}`]: doc(`Win rate vs SFT (${name})`, `Fraction of held-out prompts where the ${name} response beats the SFT response by gold reward (ties count ½).`, 'Above 0.5.'),
    [`eval/win_rate_lo_${id}`]: doc(`Win rate 95% CI low (${name})`, `Lower end of the 95% Wilson confidence interval of ${name}’s win rate.`, `Above 0.5 means ${name} is reliably better than SFT.`),
    [`eval/win_rate_hi_${id}`]: doc(`Win rate 95% CI high (${name})`, `Upper end of the 95% Wilson confidence interval of ${name}’s win rate.`),
    [`eval/gold_${id}`]: doc(`Gold reward (${name})`, `Mean hidden gold reward of the ${name} policy on the evaluation prompts.`, 'Above eval/gold_sft.'),
    [`eval/proxy_${id}`]: doc(
      `RM score (${name})`,
      `Mean reward-model score of the ${name} policy’s responses on the evaluation prompts.`,
      'Above eval/proxy_sft; far above while gold is not means the reward model is being exploited.',
    ),
    [`eval/kl_${id}`]: doc(`KL to SFT (${name})`, `KL(π_${name} ‖ π_SFT) per response on the evaluation prompts: the sampled tokens’ log-ratio summed over a response, mean over prompts.`, 'Grows with the reward; compare methods at the same KL.', 'nats'),
    [`eval/verifier_rate_${id}`]: doc(
      `Exact-answer rate (${name})`,
      `Share of the ${name} policy’s responses on the evaluation prompts that the task’s verifier accepts as exactly right (tasks with a verifier only).`,
      'Above eval/verifier_rate_sft.',
    ),
    [`eval/pass_at_k_${id}`]: doc(
      `pass@k (${name})`,
      `With eval.passK = k: the share of the evaluation prompts where at least one of k ${name} answers is exactly right.`,
      'Near eval/pass_at_k_sft: RL with a verifier mostly raises pass@1 toward it; below it, the policy lost answers it could once give.',
    ),
    [`eval/pass_at_1_${id}`]: doc(`pass@1 (${name})`, `With eval.passK = k: the share of the k ${name} answers per evaluation prompt that are exactly right.`, 'Above eval/pass_at_1_sft.'),
  } as Record<`eval/${'win_rate' | 'win_rate_lo' | 'win_rate_hi' | 'gold' | 'proxy' | 'kl' | 'verifier_rate' | 'pass_at_k' | 'pass_at_1'}_${Id}`, MetricDoc>;
}
