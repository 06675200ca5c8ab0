// The types every task module shares. They live apart from the registry (index.ts), which imports the task
// modules, so no task module imports the registry back.
import type { SftExample } from '../../model/data';
import type { Ranking } from '../preferences';

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
  /** A checkable answer (RL with verifiable rewards): 1 when the response is exactly right, else 0; absent where a task has none. */
  readonly verifier?: (prompt: string, response: string) => 0 | 1;
  /**
   * An endless stream of fresh examples from the task's own generator — a prompt and its right answer — deterministic
   * from `seed`, never a held-out prompt; gold and the verifier judge every prompt it gives. Absent where the prompts
   * are a fixed set. A stage with promptSource "generated" trains on it: an RL stage on its prompts (a reward needs
   * no demonstration or label), SFT on the pairs as demonstrations.
   */
  readonly exampleGenerator?: (seed: number) => () => SftExample;
  /** Imported human/other preferences (custom task); simulated labelers make them otherwise. */
  readonly preferences?: readonly Ranking[];
}

/** The JSONL files a custom task is imported from (formats in custom.ts). */
export interface CustomTaskFiles {
  sft?: string;
  preferences?: string;
  prompts?: string;
}

export interface TaskOptions {
  seed: number;
  /** custom only: the JSONL files to import (see src/rlhf/tasks/custom.ts). */
  files?: CustomTaskFiles;
  /** custom only: fraction of the prompts held out (default 0.2). */
  heldoutFraction?: number;
  /** Overrides the task's response budget in tokens. */
  maxResponseTokens?: number;
}

/** What the page and the CLI know of a task without building it (descriptors.ts). */
export interface TaskDescriptor<Id extends string = string> {
  readonly id: Id;
  /** The Task's title: for the UI. */
  readonly title: string;
  /** The Task's description (a custom task prefixes what it imported). */
  readonly description: string;
  /** Offered by the page's task form and the CLI; a custom task is not: it comes from imported files. */
  readonly inForm: boolean;
}

/** A task module's export: its descriptor and how to build the task. */
export interface TaskDefinition<Id extends string = string> extends TaskDescriptor<Id> {
  /** Deterministic from `options.seed` (same seed → same prompts, demonstrations, pretraining text). */
  create(options: TaskOptions): Task;
}
