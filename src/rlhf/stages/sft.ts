// Supervised fine-tuning on the task's demonstrations: the starting policy of every method and the KL anchor.
import type { PresetName } from '../../model/config';
import type { StagePlan } from '../memory';
import { COLORS, LM_LOSS_FORMULA, LM_LOSS_METRIC, OPTIMIZER_METRICS, PROMPT_SOURCES, type PromptSourceKind } from './shared';
import type { StageConfig, StageDescriptor } from './types';

/** Supervised fine-tuning on the task's demonstrations. */
export interface SFTSettings {
  readonly steps: number;
  readonly batchSize: number;
  readonly seq: number;
  readonly lr: number;
  readonly warmup: number;
  readonly promptSource: PromptSourceKind;
}

const DEFAULTS: Readonly<Record<PresetName, SFTSettings>> = {
  nano: { steps: 8, batchSize: 8, seq: 32, lr: 1e-3, warmup: 2, promptSource: 'train' },
  tiny: { steps: 150, batchSize: 8, seq: 64, lr: 5e-4, warmup: 10, promptSource: 'train' },
  small: { steps: 300, batchSize: 16, seq: 96, lr: 3e-4, warmup: 20, promptSource: 'train' },
};

export const sft = {
  id: 'sft',
  name: 'SFT',
  produces: 'policy',
  reads: ['base'],
  writes: 'sft',
  byDefault: true,
  lengthSettings: ['sft.steps'],
  // The demonstrations' prompts (and their responses, as targets) train the policy; it becomes the SFT reference.
  diagram: { lit: ['prompts', 'policy', 'update'], explains: ['reference'] },
  config: [
    {
      section: 'sft',
      defaults: (preset) => DEFAULTS[preset],
      fields: {
        steps: { kind: 'int', min: 0, max: 1_000_000, meaning: 'optimizer steps on the demonstrations (0: the base model is the SFT policy)' },
        batchSize: { kind: 'int', min: 1, max: 1024, meaning: 'demonstrations per optimizer step' },
        seq: { kind: 'int', min: 4, max: { text: 'the context length', of: (_, model) => model.contextLength }, meaning: 'tokens per training row: prompt + response (a longer demonstration loses the start of its prompt)' },
        lr: { kind: 'number', min: 0, max: 1, minOpen: true, meaning: 'peak learning rate of AdamW (linear warm-up, then cosine decay)' },
        warmup: { kind: 'int', min: 0, max: 1_000_000, meaning: 'optimizer steps of linear learning-rate warm-up' },
        promptSource: {
          kind: 'choice',
          options: PROMPT_SOURCES,
          meaning: 'where the demonstrations come from: train = the task’s demonstrations, drawn with replacement; generated = drawn from the task’s own generator (a prompt and its right answer), new draws each step, never a held-out prompt (instructions task only)',
        },
      },
    } as const satisfies StageConfig<SFTSettings>,
  ],
  metrics: {
    loss: LM_LOSS_METRIC,
    ...OPTIMIZER_METRICS,
    'sft/heldout_loss': {
      label: 'SFT held-out loss',
      meaning: 'Cross-entropy of the response tokens of held-out demonstrations (dropout off), after SFT.',
      healthy: 'Close to the final training loss; far above it means the demonstrations were memorised.',
      unit: 'nats/token',
    },
    mean_token_accuracy: {
      label: 'Token accuracy',
      meaning: "Fraction of response tokens where the model's most likely next token is the target.",
      healthy: 'Rises along with falling loss.',
    },
    entropy: {
      label: 'Entropy',
      meaning: "Mean entropy of the model's next-token distribution over response tokens.",
      healthy: 'Falls slowly; a collapse toward 0 means the model has become (over)confident.',
      unit: 'nats/token',
    },
  },
  charts: [{ title: 'SFT loss', lines: [{ metric: 'loss', color: COLORS.blue }] }],
  teaching: {
    title: 'Supervised fine-tuning (SFT)',
    what: 'Fine-tunes the base model on demonstrations (prompt → good response), with the loss on the response tokens only.',
    why: 'It teaches the format and a first version of the behaviour, and gives every alignment method its starting policy and the KL anchor π_SFT. InstructGPT fine-tuned for 16 epochs and chose the model by reward-model score, not by validation loss.',
    healthy: 'Training loss and held-out loss both fall and stay close; token accuracy rises. Held-out loss far above training loss means the demonstrations were memorised.',
    formulas: [LM_LOSS_FORMULA],
    metrics: ['loss', 'sft/heldout_loss', 'mean_token_accuracy', 'entropy'],
  },
  memory: ({ model, trained, training }, c): StagePlan => ({
    resident: [model('the model'), trained('its optimizer')],
    phases: [training('a training step', 'sft.batchSize', c.sft.batchSize * c.sft.seq, 'lm-loss')],
  }),
  trl: { load: () => import('./sft-trl') },
  run: async (ctx) => (await import('./sft-run')).runSft(ctx),
} as const satisfies StageDescriptor;
