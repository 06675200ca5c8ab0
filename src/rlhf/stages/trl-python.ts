// What the stages' parts of train_trl.py (./<id>-trl.ts) share: Python literals, the prompt-source row, and the pairs
// of a ranking.
import type { PipelineConfig } from '../config';

/** A Python literal. */
export function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** The TRL row of an RL stage's promptSource: the trainers read a dataset of prompts, the export writes the task's training prompts. */
export const PROMPT_SOURCE_NOTE = 'the trainers read data/prompts.jsonl, the task’s training prompts; prompts generated while training are the lab’s own';
/** The TRL row of sft.promptSource: SFTTrainer reads the exported demonstrations, not the task's generator. */
export const SFT_SOURCE_NOTE = 'SFTTrainer reads data/sft.jsonl, the task’s demonstrations; demonstrations generated while training are the lab’s own';

/** The ordered pairs a ranking of labels.k completions expands into in data/preferences.jsonl: K(K−1)/2. */
export const pairsPerRanking = (c: PipelineConfig) => (c.labels.k * (c.labels.k - 1)) / 2;
