// The reward model: labels (simulated labelers, imported rankings or yours), then a scalar-head copy of the SFT model
// trained on all C(K,2) pairs of each ranking.
import type { PresetName } from '../../model/config';
import type { PipelineConfig } from '../config';
import type { MemoryPlanner, StagePlan } from '../memory';
import { COLORS, OPTIMIZER_METRICS } from './shared';
import type { StageConfig, StageDescriptor } from './types';

/** Simulated labelers: prompts labelled, completions ranked per prompt, target agreement with gold, held-out share. */
export interface LabelSettings {
  readonly prompts: number;
  readonly k: number;
  readonly agreement: number;
  readonly heldoutFraction: number;
}

export interface RewardModelSettings {
  readonly lr: number;
  readonly groupsPerStep: number;
  readonly epochs: number;
  readonly warmup: number;
}

const LABEL_DEFAULTS: Readonly<Record<PresetName, LabelSettings>> = {
  nano: { prompts: 10, k: 4, agreement: 0.73, heldoutFraction: 0.2 },
  tiny: { prompts: 320, k: 6, agreement: 0.73, heldoutFraction: 0.2 },
  small: { prompts: 512, k: 6, agreement: 0.73, heldoutFraction: 0.2 },
};

const DEFAULTS: Readonly<Record<PresetName, RewardModelSettings>> = {
  nano: { lr: 1e-3, groupsPerStep: 4, epochs: 1, warmup: 0 },
  tiny: { lr: 1e-3, groupsPerStep: 4, epochs: 1, warmup: 4 },
  small: { lr: 1e-4, groupsPerStep: 8, epochs: 1, warmup: 8 },
};

/**
 * The GPU memory of training one reward model (`what`, trained by `step`s; the ensemble trains its members one at a
 * time with the same plan): the preference data first (sampled on the SFT policy alone), then the model and its
 * optimizer through training and scoring the held-out rankings.
 */
export function rewardModelMemory(what: string, step: string) {
  return ({ T, trainRankings, heldoutRows, model, trained, training, forward, labelerSampling, holding }: MemoryPlanner, c: PipelineConfig): StagePlan => {
    const rows = Math.min(c.rm.groupsPerStep, trainRankings) * c.labels.k;
    return {
      resident: [],
      phases: [
        labelerSampling(),
        ...holding(
          [model(what, 'score'), trained('its optimizer', 'score')],
          [training(step, 'rm.groupsPerStep', rows * T, 'scalar'), forward('scoring held-out rankings', 'labels.k', heldoutRows, 'scalar')],
        ),
      ],
    };
  };
}

export const rm = {
  id: 'rm',
  name: 'Reward model',
  produces: 'reward model',
  reads: ['sft'],
  writes: 'reward-model',
  byDefault: true,
  lengthSettings: ['labels.prompts', 'rm.epochs'],
  diagram: { lit: ['responses', 'reward-model'], explains: ['reward-model'] },
  // The labels first: the preference data the reward model (and DPO, which depends on them) learns from.
  config: [
    {
      section: 'labels',
      defaults: (preset) => LABEL_DEFAULTS[preset],
      fields: {
        prompts: { kind: 'int', min: 2, max: 100_000, meaning: 'training prompts the simulated labelers rank SFT samples of' },
        k: { kind: 'int', min: 4, max: 9, meaning: 'K: completions ranked per prompt (InstructGPT: 4…9)' },
        agreement: { kind: 'number', min: 0.5, max: 1, minOpen: true, meaning: 'how often the simulated labelers order a pair as the gold reward does (their noise is calibrated to it)' },
        heldoutFraction: { kind: 'number', min: 0, max: 0.9, minOpen: true, meaning: 'share of the rankings held out to measure the reward model (and DPO)' },
      },
    } as const satisfies StageConfig<LabelSettings>,
    {
      section: 'rm',
      defaults: (preset) => DEFAULTS[preset],
      fields: {
        lr: { kind: 'number', min: 0, max: 1, minOpen: true, meaning: 'learning rate of AdamW (constant after the warm-up)' },
        groupsPerStep: { kind: 'int', min: 1, max: 1024, meaning: 'rankings (prompts) per optimizer step; each ranking is all its C(K,2) pairs' },
        epochs: { kind: 'int', min: 1, max: 100, meaning: 'passes over the training rankings (InstructGPT: 1; more overfits)' },
        warmup: { kind: 'int', min: 0, max: 1_000_000, meaning: 'optimizer steps of linear learning-rate warm-up' },
      },
    } as const satisfies StageConfig<RewardModelSettings>,
  ],
  metrics: {
    ...OPTIMIZER_METRICS,
    'rm/loss': {
      label: 'RM loss',
      meaning: 'Ranking loss −1/C(K,2)·Σ log σ(r_w − r_l) over all pairs of a prompt, averaged over prompts.',
      healthy: 'Starts at log 2 ≈ 0.693 (all rewards equal) and falls; one epoch only (more overfits).',
      unit: 'nats',
    },
    'rm/accuracy': {
      label: 'RM accuracy',
      meaning: 'Fraction of training comparison pairs where the RM scores the preferred response higher.',
      healthy: 'Above 0.5 and rising; capped near the labelers’ own agreement (≈ 0.73 in InstructGPT).',
    },
    'rm/heldout_accuracy': {
      label: 'RM held-out accuracy',
      meaning: 'Pairwise accuracy on held-out comparisons the RM never trained on.',
      healthy: 'Close to training accuracy; a widening gap means overfitting.',
    },
    'rm/gold_agreement': {
      label: 'RM–gold agreement',
      meaning: "Fraction of response pairs the RM orders the same way as the hidden gold reward.",
      healthy: 'Well above 0.5; can exceed held-out accuracy because gold labels have no labeler noise.',
    },
    'rm/labeler_gold_agreement': {
      label: 'Labelers–gold agreement',
      meaning: 'Fraction of held-out pairs the (simulated) labelers themselves ordered as the gold reward does: the yardstick for RM–gold agreement.',
      healthy: 'Near the target agreement (0.73 by default); the RM can match it but rarely beat it.',
    },
    'rm/inter_labeler_agreement': {
      label: 'Inter-labeler agreement',
      meaning: 'How often a second, independent simulated labeler agrees with the held-out labels: the yardstick for RM held-out accuracy (InstructGPT: 72.6%).',
      healthy: 'Below the labelers–gold agreement (both labelers are noisy); an RM near or above it has learned what the labels can teach.',
    },
    'rm/margin': {
      label: 'RM margin',
      meaning: 'Mean reward difference r_w − r_l over comparison pairs.',
      healthy: 'Positive and growing slowly; exploding margins mean overconfident rewards.',
    },
    'rm/reward_mean': {
      label: 'RM mean reward',
      meaning: 'Mean RM score over the batch’s responses (demonstrations are normalised to mean 0 after training).',
    },
    'rm/reward_min': {
      label: 'RM min reward',
      meaning: 'Smallest RM score in the batch.',
    },
    'rm/reward_max': {
      label: 'RM max reward',
      meaning: 'Largest RM score in the batch.',
    },
  },
  charts: [
    {
      title: 'Reward model loss and accuracy',
      lines: [
        { metric: 'rm/loss', color: COLORS.blue },
        { metric: 'rm/accuracy', color: COLORS.green, axis: 'right' },
      ],
    },
  ],
  teaching: {
    title: 'Reward model',
    what: 'Labelers (simulated, or you) rank K samples of the SFT policy per prompt; a copy of the SFT model with a scalar head learns to score the preferred ones higher, all C(K,2) pairs of a prompt in one batch element, for one epoch.',
    why: 'People cannot score every sample of the policy, so a learned reward stands in for them. It is only a proxy: it inherits the labelers’ noise (InstructGPT’s agreed 72.6% of the time) and can be exploited.',
    healthy: 'The loss starts at log 2 ≈ 0.693 and falls; training and held-out accuracy rise above 0.5 and stay close, capped near the labelers’ own agreement. Agreement with the hidden gold reward can be higher than with the noisy labels.',
    formulas: [
      {
        title: 'Reward-model loss',
        text: 'loss(θ) = −1/C(K,2) · E₍x, y_w, y_l₎ [ log σ( r_θ(x, y_w) − r_θ(x, y_l) ) ]',
        symbols: [
          ['K', 'completions ranked for one prompt (4…9 in InstructGPT; 2 when you label pairs)'],
          ['C(K,2)', 'the K(K−1)/2 pairs of one ranking, all in one batch element'],
          ['y_w, y_l', 'the preferred and the less preferred completion of a pair'],
          ['r_θ(x, y)', 'the scalar the reward model reads at the final token of prompt + completion'],
          ['σ', 'the logistic function 1/(1 + e^(−z)): the Bradley–Terry probability that y_w wins'],
        ],
        source: 'InstructGPT (Ouyang et al. 2022), eq. 1',
      },
    ],
    metrics: ['rm/loss', 'rm/accuracy', 'rm/heldout_accuracy', 'rm/inter_labeler_agreement', 'rm/gold_agreement', 'rm/labeler_gold_agreement', 'rm/margin'],
  },
  memory: rewardModelMemory('the reward model', 'a training step'),
  trl: { load: () => import('./rm-trl') },
  run: async (ctx) => (await import('./rm-run')).runRewardModel(ctx),
} as const satisfies StageDescriptor;
