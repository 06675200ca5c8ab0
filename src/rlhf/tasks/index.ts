// RLHF tasks: what the policy is asked (prompts), how the SFT policy is taught (demonstrations), the pretraining text
// PPO-ptx mixes in (InstructGPT, Ouyang et al. 2022), and a hidden gold reward that stands in for human judgement.
// The lab follows Gao, Schulman & Hilton (2022): the gold function labels data (through noisy simulated labelers,
// src/rlhf/labelers.ts), the reward model learned from those labels is the proxy the policy optimises, and charts
// show proxy and gold against √KL, so over-optimisation (proxy up, gold down) is visible. The reward model and the
// policy never see `gold`.
// This module is the registry: one task module per descriptor of descriptors.ts. A new task is a descriptor there,
// a module exporting its TaskDefinition, and a line below.
// Plain TypeScript (no node:*, no DOM): runs in Node and in a browser Web Worker.
import { customTask } from './custom';
import { TASK_IDS, type TaskId } from './descriptors';
import { instructionsTask } from './instructions';
import { sentimentTask } from './sentiment';
import type { Task, TaskDefinition, TaskOptions } from './types';

// The type makes this list every descriptor's id, each with the module that declares it.
const TASKS: { readonly [Id in TaskId]: TaskDefinition<Id> } = {
  sentiment: sentimentTask,
  instructions: instructionsTask,
  custom: customTask,
};

/** The task `id`, deterministic from `options.seed` (same seed → same prompts, demonstrations, pretraining text). */
export function createTask(id: TaskId, options: TaskOptions): Task {
  if (!Number.isInteger(options.seed)) throw new RangeError(`createTask: seed must be an integer, got ${options.seed}`);
  if (!Object.hasOwn(TASKS, id)) throw new RangeError(`createTask: unknown task "${id as string}" (known: ${TASK_IDS.join(', ')})`);
  return TASKS[id].create(options);
}

export { TASK_IDS, type TaskId } from './descriptors';
export type { CustomTaskFiles, Task, TaskOptions } from './types';
export { importTask, TaskImportError, type TaskImportProblem } from './custom';
export { instructionAnswer } from './instructions';
export { sentimentGold } from './sentiment';

/** Sizes every built-in task meets (train ≥ 512 and held-out ≥ 128 prompts, disjoint; ≥ 256 demonstrations and documents). */
export const MIN_TRAIN_PROMPTS = 512;
export const MIN_HELDOUT_PROMPTS = 128;
export const MIN_DEMONSTRATIONS = 256;
export const MIN_PRETRAIN_DOCS = 256;
