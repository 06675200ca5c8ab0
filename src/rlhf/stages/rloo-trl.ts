// RLOO in train_trl.py: RLOOTrainer with the reward model as its reward function.
import { GROUP_TRL_NEEDS, groupTrlScript, groupTrlSettings } from './group-trl';
import { py } from './trl-python';
import type { StageTrl } from './types';

export const trl: StageTrl = {
  settings: {
    'rloo.k': ['RLOOConfig.num_generations', ''],
    ...groupTrlSettings('rloo', 'RLOOConfig', '= episodes / (promptsPerIteration × k)'),
    'rloo.beta': ['RLOOConfig.beta', ''],
  },
  ...GROUP_TRL_NEEDS,
  script: ({ rloo: r, ppo }) => {
    const batch = r.promptsPerIteration * r.k;
    return groupTrlScript(
      'rloo',
      'RLOOTrainer',
      'RLOOConfig',
      `max_steps=${py(r.episodes / batch)}, per_device_train_batch_size=${py(batch)}, num_generations=${py(r.k)},
                           learning_rate=${py(r.lr)}, warmup_steps=${py(r.warmup)}, lr_scheduler_type="constant_with_warmup", beta=${py(r.beta)}, max_grad_norm=${py(r.gradClip)},
                           max_completion_length=${py(ppo.maxResponseTokens)}, temperature=1.0`,
    );
  },
};
