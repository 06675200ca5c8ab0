// Pretraining: next-token prediction on the bundled stories, only when no bundled base model fits the preset.
import { LM_LOSS_FORMULA, LM_LOSS_METRIC, OPTIMIZER_METRICS } from './shared';
import type { StageDescriptor } from './types';

export const pretrain = {
  id: 'pretrain',
  name: 'Pretrain',
  produces: 'base model',
  reads: [],
  writes: 'base',
  // The task is built from task, seed and ppo.maxResponseTokens (createTask): every output depends on them.
  dependsOn: ['task', 'preset', 'seed', 'pretrain', 'ppo.maxResponseTokens'],
  byDefault: true,
  metrics: { loss: LM_LOSS_METRIC, ...OPTIMIZER_METRICS },
  teaching: {
    title: 'Pretraining',
    what: 'Next-token prediction on plain text (short stories): the model learns the language before it learns the task.',
    why: 'Everything later starts from this model. The lab ships a pretrained tiny model; the nano and small presets pretrain their own.',
    healthy: 'The loss falls fast and then flattens. A loss that stops near log(vocabulary size) means the model learned nothing; NaN means the learning rate is too high.',
    formulas: [LM_LOSS_FORMULA],
    metrics: ['loss', 'lr', 'grad_norm'],
  },
  run: async (ctx) => (await import('./pretrain-run')).runPretrain(ctx),
} as const satisfies StageDescriptor;
