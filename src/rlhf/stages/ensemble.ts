// The reward-model ensemble (Coste et al. 2024, "Reward Model Ensembles Help Mitigate Overoptimization"): M reward
// models, each trained like the reward-model stage's (the rm.* settings, the same code: rm-run.ts fitRewardModel) on
// a bootstrap resample of the run's training rankings with its own seeds, kept together as one checkpoint. An RL
// stage whose rewardSource is "ensemble" scores with all of them, combined by ensemble.combine.
import type { PresetName } from '../../model/config';
import { ENSEMBLE_CHECKPOINT, ENSEMBLE_COMBINES, type EnsembleCombine } from '../reward-source-kinds';
import { rewardModelMemory } from './rm';
import { COLORS, OPTIMIZER_METRICS } from './shared';
import type { StageConfig, StageDescriptor } from './types';

/** The ensemble's own settings; how each member trains is the reward model's (the rm section). */
export interface EnsembleSettings {
  readonly members: number;
  readonly combine: EnsembleCombine;
  readonly lambda: number;
}

// λ = 0.5: Coste et al. sweep UWO's λ and find it robust over a wide range; 0.5 penalises a disagreement of one
// reward unit (std 1, the spread of centred scores here) by half a unit. mean is the default combination: the plain
// ensemble, the conservative ones (min, uwo) are the experiment.
const DEFAULTS: EnsembleSettings = { members: 4, combine: 'mean', lambda: 0.5 };

export const ensemble = {
  id: 'ensemble',
  name: 'Reward-model ensemble',
  produces: 'reward model',
  reads: ['sft'],
  writes: ENSEMBLE_CHECKPOINT,
  // Each member trains with the reward model's settings on the same preference data.
  dependsOn: ['labels', 'rm'],
  // How the members' scores combine is the RL stage's reading of them (its dependsOn: 'ensemble'), not the members'.
  notInOutput: ['ensemble.combine', 'ensemble.lambda'],
  byDefault: false,
  lengthSettings: ['labels.prompts', 'rm.epochs', 'ensemble.members'],
  diagram: { lit: ['responses', 'reward-model'] },
  config: [
    {
      section: 'ensemble',
      defaults: (_preset: PresetName) => DEFAULTS,
      fields: {
        members: { kind: 'int', min: 2, max: 16, meaning: 'M: reward models in the ensemble, each trained (with the rm.* settings) on its own bootstrap resample of the training rankings and its own seeds (Coste et al.: 4–5 is enough)' },
        combine: { kind: 'choice', options: ENSEMBLE_COMBINES, meaning: 'how an RL stage with rewardSource=ensemble combines the members’ scores of a response: mean, min (worst-case optimisation, WCO) or uwo (mean − λ·variance over the members: uncertainty-weighted optimisation)' },
        lambda: { kind: 'number', min: 0, max: 100, meaning: 'λ of uwo: the weight of the members’ (population) variance subtracted from their mean' },
      },
    } as const satisfies StageConfig<EnsembleSettings>,
  ],
  metrics: {
    ...OPTIMIZER_METRICS,
    'ensemble/loss': {
      label: 'Ensemble member loss',
      meaning: 'Ranking loss of the member being trained (as rm/loss), one optimizer step per record; the members train one after another.',
      healthy: 'Starts near log 2 ≈ 0.693 for every member and falls.',
      unit: 'nats',
    },
    'ensemble/train_accuracy': {
      label: 'Ensemble member training accuracy',
      meaning: 'Fraction of the step’s training pairs the member being trained orders as the labels do (as rm/accuracy).',
      healthy: 'Above 0.5 and rising for every member.',
    },
    'ensemble/member': {
      label: 'Ensemble member',
      meaning: 'Which member (0 … M−1) the record belongs to.',
    },
    'ensemble/member_accuracy': {
      label: 'Member held-out accuracy',
      meaning: 'Pairwise accuracy of one member on the held-out rankings (one record per member, after its training).',
      healthy: 'Near the single reward model’s rm/heldout_accuracy; each member saw only a resample of the rankings.',
    },
    'ensemble/accuracy': {
      label: 'Ensemble held-out accuracy',
      meaning: 'Pairwise accuracy on the held-out rankings of the members’ mean score (the mean-combined ensemble).',
      healthy: 'At or above the members’ own accuracies: averaging cancels part of each member’s error.',
    },
    'ensemble/member_accuracy_min': {
      label: 'Worst member held-out accuracy',
      meaning: 'The lowest held-out accuracy of any member.',
    },
    'ensemble/member_accuracy_max': {
      label: 'Best member held-out accuracy',
      meaning: 'The highest held-out accuracy of any member.',
    },
    'ensemble/disagreement': {
      label: 'Ensemble disagreement',
      meaning: 'Mean over the held-out responses of the standard deviation of the members’ (centred) scores: how much they disagree where they were not trained.',
      healthy: 'Clearly above 0 (identical members would make the ensemble pointless) and small next to the spread of the scores themselves.',
    },
    'ensemble/gold_agreement': {
      label: 'Ensemble–gold agreement',
      meaning: 'Fraction of held-out response pairs the members’ mean score orders as the hidden gold reward does.',
      healthy: 'At or above rm/gold_agreement.',
    },
  },
  charts: [
    {
      title: 'Ensemble members: loss and accuracy',
      lines: [
        { metric: 'ensemble/loss', color: COLORS.blue },
        { metric: 'ensemble/train_accuracy', color: COLORS.green, axis: 'right' },
      ],
    },
    {
      title: 'Ensemble held-out accuracy and disagreement',
      lines: [
        { metric: 'ensemble/member_accuracy', color: COLORS.teal },
        { metric: 'ensemble/accuracy', color: COLORS.green },
        { metric: 'ensemble/disagreement', color: COLORS.purple, axis: 'right' },
      ],
    },
  ],
  teaching: {
    title: 'Reward-model ensemble',
    what: 'Trains M reward models one after another, each like the reward-model stage’s but on its own bootstrap resample of the training rankings (drawn with replacement) and with its own seeds, and keeps them together; an RL stage with rewardSource=ensemble scores each response with all of them and combines the scores: their mean, their minimum (WCO) or their mean minus λ times their variance (UWO).',
    why: 'One reward model is confidently wrong where it saw no data, and the policy finds those places. Members trained on different resamples agree where the data pins the reward down and disagree where it does not; a conservative combination (the worst member, or a penalty on disagreement) takes the reward away exactly where the policy would exploit it. Coste et al. found that this practically removes over-optimisation for best-of-N and, with a small KL penalty, for PPO.',
    healthy: 'Every member’s loss falls from log 2 and its held-out accuracy is near the single reward model’s; the mean-combined ensemble’s held-out accuracy is at or above the members’; the disagreement is clearly above 0. Members that agree exactly (disagreement 0) would make the ensemble a single reward model.',
    formulas: [
      {
        title: 'Conservative ensemble rewards',
        text: 'R_mean = (1/M)·Σᵢ Rᵢ      R_WCO = minᵢ Rᵢ      R_UWO = (1/M)·Σᵢ Rᵢ − λ·(1/M)·Σᵢ (Rᵢ − R_mean)²',
        symbols: [
          ['Rᵢ', 'member i’s score of the response (each centred so the demonstrations average 0)'],
          ['M', 'the members (ensemble.members, 4 by default)'],
          ['λ', 'the weight of the members’ variance in UWO (ensemble.lambda)'],
        ],
        source: 'Coste, Anwar, Kirk & Krueger 2024, Reward Model Ensembles Help Mitigate Overoptimization (ICLR), §3',
      },
    ],
    metrics: ['ensemble/loss', 'ensemble/member_accuracy', 'ensemble/accuracy', 'ensemble/member_accuracy_min', 'ensemble/disagreement', 'ensemble/gold_agreement'],
  },
  // Members train one at a time, so one reward model and its optimizer are on the GPU at once (as the reward-model
  // stage's); the finished members wait as CPU copies. Sampling for the labelers only when no stage made the
  // preference data yet. (An RL stage scoring with the ensemble holds all M: see shared.ts rewardSourceModels.)
  memory: rewardModelMemory('a member of the ensemble', 'a member’s training step'),
  trl: { notRerun: 'TRL has no reward ensemble: the script trains one reward model' },
  run: async (ctx) => (await import('./ensemble-run')).runEnsemble(ctx),
} as const satisfies StageDescriptor;
