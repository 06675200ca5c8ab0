// Pretraining: next-token prediction on the bundled stories, only when no bundled base model fits the preset.
import type { PresetName } from '../../model/config';
import type { StagePlan } from '../memory';
import { LM_LOSS_FORMULA, LM_LOSS_METRIC, OPTIMIZER_METRICS } from './shared';
import type { StageConfig, StageDescriptor } from './types';

/** Pretraining from scratch: used when no base checkpoint fits the preset (nano, small), or when forced. */
export interface PretrainSettings {
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly force: boolean;
}

const DEFAULTS: Readonly<Record<PresetName, PretrainSettings>> = {
  nano: { steps: 16, batchSize: 8, lr: 3e-3, force: false },
  tiny: { steps: 600, batchSize: 4, lr: 3e-3, force: false },
  small: { steps: 2000, batchSize: 8, lr: 1e-3, force: false },
};

export const pretrain = {
  id: 'pretrain',
  name: 'Pretrain',
  produces: 'base model',
  reads: [],
  writes: 'base',
  // The task is built from task, seed and ppo.maxResponseTokens (createTask): every output depends on them.
  dependsOn: ['task', 'preset', 'seed', 'ppo.maxResponseTokens'],
  byDefault: true,
  lengthSettings: ['pretrain.steps'],
  // An LM loss on plain text: the policy-to-be and its update, no prompts, rewards or reference yet.
  diagram: { lit: ['policy', 'update'] },
  config: [
    {
      section: 'pretrain',
      defaults: (preset) => DEFAULTS[preset],
      fields: {
        steps: { kind: 'int', min: 1, max: 1_000_000, meaning: 'optimizer steps of next-token prediction on the bundled stories' },
        batchSize: { kind: 'int', min: 1, max: 1024, meaning: 'sequences per optimizer step' },
        lr: { kind: 'number', min: 0, max: 1, minOpen: true, meaning: 'peak learning rate of AdamW (linear warm-up, then cosine decay to a tenth of it)' },
        force: { kind: 'boolean', meaning: 'pretrain even when the bundled base model fits the preset (tiny)' },
      },
    } as const satisfies StageConfig<PretrainSettings>,
  ],
  metrics: { loss: LM_LOSS_METRIC, ...OPTIMIZER_METRICS },
  teaching: {
    title: 'Pretraining',
    what: 'Next-token prediction on plain text (short stories): the model learns the language before it learns the task.',
    why: 'Everything later starts from this model. The lab ships a pretrained tiny model; the nano and small presets pretrain their own.',
    healthy: 'The loss falls fast and then flattens. A loss that stops near log(vocabulary size) means the model learned nothing; NaN means the learning rate is too high.',
    formulas: [LM_LOSS_FORMULA],
    metrics: ['loss', 'lr', 'grad_norm'],
  },
  memory: ({ pretrainRowTokens, model, trained, training }, c): StagePlan => ({
    resident: [model('the model'), trained('its optimizer')],
    phases: [training('a training step', 'pretrain.batchSize', c.pretrain.batchSize * pretrainRowTokens, 'lm-loss')],
  }),
  trl: { notRerun: 'pretraining is not rerun: models/base is the base model' },
  run: async (ctx) => (await import('./pretrain-run')).runPretrain(ctx),
} as const satisfies StageDescriptor;
