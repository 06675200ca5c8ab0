// What the stages' parts of train_trl.py (./<id>-trl.ts) share: Python literals, and the pairs of a ranking.
import type { PipelineConfig } from '../config';

/** A Python literal. */
export function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** The ordered pairs a ranking of labels.k completions expands into in data/preferences.jsonl: K(K−1)/2. */
export const pairsPerRanking = (c: PipelineConfig) => (c.labels.k * (c.labels.k - 1)) / 2;
