// RLHF tasks: what the policy is asked (prompts), how the SFT policy is taught (demonstrations), the pretraining text
// PPO-ptx mixes in (InstructGPT, Ouyang et al. 2022), and a hidden gold reward that stands in for human judgement.
// The lab follows Gao, Schulman & Hilton (2022): the gold function labels data (through noisy simulated labelers,
// src/rlhf/labelers.ts), the reward model learned from those labels is the proxy the policy optimises, and charts
// show proxy and gold against √KL, so over-optimisation (proxy up, gold down) is visible. The reward model and the
// policy never see `gold`.
// Plain TypeScript (no node:*, no DOM): runs in Node and in a browser Web Worker.
import type { SftExample } from '../../model/data';
import type { Ranking } from '../preferences';
import { importTask, type CustomTaskFiles } from './custom';
import { createInstructionsTask } from './instructions';
import { createSentimentTask } from './sentiment';

export interface Task {
  readonly id: string; // 'sentiment' | 'instructions' | 'custom'
  readonly title: string; // for the UI
  readonly description: string; // one paragraph: what "good" means, what the gold function is, how it can be hacked
  readonly prompts: { readonly train: readonly string[]; readonly heldout: readonly string[] }; // disjoint
  readonly demonstrations: readonly SftExample[]; // {prompt, completion} for SFT
  readonly pretrainText: readonly string[]; // documents for PPO-ptx (plain LM loss)
  readonly maxResponseTokens: number;
  /** The hidden gold reward of a response (higher is better); absent for a custom task without one. The reward model never sees it. */
  readonly gold?: (prompt: string, response: string) => number;
  /** Imported human/other preferences (custom task); simulated labelers make them otherwise. */
  readonly preferences?: readonly Ranking[];
}

export const TASK_IDS = ['sentiment', 'instructions', 'custom'] as const;
export type TaskId = (typeof TASK_IDS)[number];

export interface TaskOptions {
  seed: number;
  /** custom only: the JSONL files to import (see src/rlhf/tasks/custom.ts). */
  files?: CustomTaskFiles;
  /** custom only: fraction of the prompts held out (default 0.2). */
  heldoutFraction?: number;
  /** Overrides the task's response budget in tokens. */
  maxResponseTokens?: number;
}

/** The task `id`, deterministic from `options.seed` (same seed → same prompts, demonstrations, pretraining text). */
export function createTask(id: TaskId, options: TaskOptions): Task {
  if (!Number.isInteger(options.seed)) throw new RangeError(`createTask: seed must be an integer, got ${options.seed}`);
  const { seed, maxResponseTokens } = options;
  switch (id) {
    case 'sentiment':
      return createSentimentTask({ seed, maxResponseTokens });
    case 'instructions':
      return createInstructionsTask({ seed, maxResponseTokens });
    case 'custom':
      if (!options.files) throw new RangeError('createTask: the custom task needs files to import ({ sft?, preferences?, prompts? })');
      return importTask(options.files, { seed, heldoutFraction: options.heldoutFraction, maxResponseTokens });
    default:
      throw new RangeError(`createTask: unknown task "${id as string}" (known: ${TASK_IDS.join(', ')})`);
  }
}

export { importTask, TaskImportError, type CustomTaskFiles, type TaskImportProblem } from './custom';
export { createInstructionsTask, instructionAnswer, instructionGold } from './instructions';
export { createSentimentTask, sentimentGold, sentimentBreakdown } from './sentiment';

/** Sizes every built-in task meets (train ≥ 512 and held-out ≥ 128 prompts, disjoint; ≥ 256 demonstrations and documents). */
export const MIN_TRAIN_PROMPTS = 512;
export const MIN_HELDOUT_PROMPTS = 128;
export const MIN_DEMONSTRATIONS = 256;
export const MIN_PRETRAIN_DOCS = 256;
