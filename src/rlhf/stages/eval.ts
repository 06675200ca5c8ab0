// Evaluation: every policy the run trained, and SFT, answer the same held-out prompts; the hidden gold reward judges
// each against SFT (win rate with a 95% interval), next to its proxy score, its KL to SFT and, where the task has a
// verifier, its exact-answer rate.
import type { PresetName } from '../../model/config';
import type { StagePlan } from '../memory';
import type { StageConfig, StageDescriptor } from './types';

/** Win-rate evaluation on held-out prompts. */
export interface EvaluationSettings {
  readonly prompts: number;
}

const DEFAULTS: Readonly<Record<PresetName, EvaluationSettings>> = {
  nano: { prompts: 8 },
  tiny: { prompts: 64 },
  small: { prompts: 128 },
};

export const evaluation = {
  id: 'eval',
  name: 'Evaluate',
  produces: 'measurement',
  reads: ['sft'],
  readsIfPresent: ['reward-model'],
  byDefault: true,
  lengthSettings: ['eval.prompts'],
  // Each policy against SFT on held-out prompts (PPO's numbers on the arrows), scored by the reward model and the gold.
  diagram: { lit: ['policy', 'reward-model', 'reference'], numbers: { reward: 'eval/proxy_ppo', kl: 'eval/kl_ppo' } },
  config: [
    {
      section: 'eval',
      defaults: (preset) => DEFAULTS[preset],
      fields: {
        prompts: { kind: 'int', min: 1, max: 10_000, meaning: 'held-out prompts every policy and SFT answer (one sample each) for the win rates' },
      },
    } as const satisfies StageConfig<EvaluationSettings>,
  ],
  metrics: {
    'eval/gold_sft': {
      label: 'Gold reward (SFT)',
      meaning: 'Mean hidden gold reward of the SFT policy on the evaluation prompts.',
    },
    'eval/proxy_sft': {
      label: 'RM score (SFT)',
      meaning: "Mean reward-model score of the SFT policy's responses on the evaluation prompts.",
    },
    'eval/verifier_rate_sft': {
      label: 'Exact-answer rate (SFT)',
      meaning: "Share of the SFT policy's responses on the evaluation prompts that the task's verifier accepts as exactly right (tasks with a verifier only).",
    },
  },
  teaching: {
    title: 'Evaluation',
    what: 'Samples the SFT policy and every trained policy (PPO’s EMA weights, DPO’s, …) on the same held-out prompts and compares each with SFT by the hidden gold reward: a win rate with a confidence interval, the proxy score and the KL to SFT.',
    why: 'The reward model is what the methods optimised, so it cannot judge them fairly; the gold reward stands in for people’s preference (InstructGPT’s headline: 85 ± 3% preferred over GPT-3). One judge and one set of prompts put every method on one frontier.',
    healthy: 'A win rate above 0.5 with its interval above 0.5. A high RM score with a win rate at or below 0.5 means the policy learned to please the reward model, not the gold.',
    formulas: [],
    metrics: ['eval/win_rate_ppo', 'eval/gold_sft', 'eval/gold_ppo', 'eval/proxy_ppo'],
  },
  memory: ({ model, sampling, forward }, c): StagePlan => ({
    resident: [model('the SFT policy'), model('a trained policy'), model('the reward model', 'score')],
    phases: [sampling('sampling', 'eval.prompts', c.eval.prompts), forward('scoring', 'eval.prompts', c.eval.prompts, 'logprob')],
  }),
  trl: { notRerun: 'the evaluation (win rates against SFT by the gold reward) is the lab’s own: not rerun' },
  run: async (ctx) => (await import('./eval-run')).runEvaluation(ctx),
} as const satisfies StageDescriptor;
