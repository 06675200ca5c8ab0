// A custom task imported from JSONL files in Hugging Face TRL's dataset formats (one JSON object per line):
//   sft          {"prompt": "...", "completion": "..."}   demonstrations for SFT (parsed by parseSftJsonl)
//                {"text": "..."}                          plain text for the PPO-ptx pretraining loss
//   preferences  {"prompt": "...", "chosen": "...", "rejected": "..."}, Anthropic HH {"chosen", "rejected"}, or
//                rankings {"prompt": "...", "completions": ["best", …, "worst"]} (K ≥ 2 distinct; see preferences.ts)
//   prompts      {"prompt": "..."}                         prompts for RL (and held-out evaluation)
//                {"text": "..."}                          plain text for PPO-ptx
// Every file is optional, but together they must provide at least one prompt. Every malformed line of every file is
// reported with its file and line number in one TaskImportError; nothing is imported when there is any.
// A custom task has no gold reward: its preferences come from the files (or people in the UI), and the reward model
// is the only judge. Held-out prompts (for the policy's win-rate evaluation) are split off deterministically from the
// seed, taking prompts that carry no demonstration or preference first; all demonstrations and preferences are kept.
// Plain TypeScript (no node:*, no DOM): runs in Node and in a browser Web Worker.
import { importProblemsMessage, jsonlObjects, jsonTypeName, mixSeed, parseSftJsonl, SftParseError, type SftExample } from '../../model/data';
import { hashString, parsePreferenceJsonl, PreferenceParseError, type Ranking } from '../preferences';
import { CUSTOM } from './descriptors';
import type { CustomTaskFiles, Task, TaskDefinition } from './types';

export interface CustomTaskOptions {
  seed: number;
  /** Fraction of the distinct prompts held out, in [0, 1) (default 0.2; at least one when > 0 and there are ≥ 2 prompts). */
  heldoutFraction?: number;
  maxResponseTokens?: number; // default 32
  title?: string; // default CUSTOM.title
}

export interface TaskImportProblem {
  file: keyof CustomTaskFiles | 'task';
  line: number; // 1-based; 0 for problems of the task as a whole
  message: string;
}

export class TaskImportError extends Error {
  constructor(readonly problems: TaskImportProblem[]) {
    const where = (p: TaskImportProblem) => (p.line > 0 ? `${p.file} line ${p.line}` : p.file);
    super(importProblemsMessage('custom task import', 'problem', problems, (p) => `${where(p)}: ${p.message}`));
    this.name = 'TaskImportError';
  }
}


/** JSON object of a line, or undefined (blank line, invalid JSON, not an object: left for the caller to report). */
function object(raw: string): Record<string, unknown> | undefined {
  const s = raw.trim();
  if (s === '') return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** SFT file: {"text"} lines are pretraining text, everything else goes through parseSftJsonl (line numbers kept). */
function parseSftFile(text: string, problems: TaskImportProblem[]): { demos: SftExample[]; texts: string[] } {
  const lines = text.split(/\r?\n/);
  const texts: string[] = [];
  let rest = 0;
  const forSft = lines.map((raw, i) => {
    const o = object(raw);
    if (o && 'text' in o && !('prompt' in o) && !('completion' in o)) {
      if (typeof o.text === 'string') texts.push(o.text);
      else problems.push({ file: 'sft', line: i + 1, message: `"text" must be a string, got ${jsonTypeName(o.text)}` });
      return '';
    }
    if (raw.trim() !== '') rest++;
    return raw;
  });
  let demos: SftExample[] = [];
  if (rest > 0 || texts.length === 0) {
    try {
      demos = parseSftJsonl(forSft.join('\n'));
    } catch (e) {
      if (!(e instanceof SftParseError)) throw e;
      for (const p of e.problems) problems.push({ file: 'sft', line: p.line, message: p.message });
    }
  }
  return { demos, texts };
}

function parsePromptsFile(text: string, problems: TaskImportProblem[]): { prompts: string[]; texts: string[] } {
  const prompts: string[] = [];
  const texts: string[] = [];
  const parsed = jsonlObjects(text, '{"prompt": string} or {"text": string}');
  const found: TaskImportProblem[] = parsed.problems.map((p) => ({ file: 'prompts', ...p }));
  for (const { line, value: o } of parsed.objects) {
    const hasPrompt = 'prompt' in o;
    const hasText = 'text' in o;
    if (hasPrompt && hasText) found.push({ file: 'prompts', line, message: 'has both "prompt" and "text": use one per line' });
    else if (!hasPrompt && !hasText) found.push({ file: 'prompts', line, message: 'missing "prompt" (or "text" for pretraining text)' });
    else {
      const field = hasPrompt ? 'prompt' : 'text';
      const v = o[field];
      if (typeof v !== 'string') found.push({ file: 'prompts', line, message: `"${field}" must be a string, got ${jsonTypeName(v)}` });
      else (hasPrompt ? prompts : texts).push(v);
    }
  }
  found.sort((a, b) => a.line - b.line);
  problems.push(...found);
  if (prompts.length === 0 && texts.length === 0 && found.length === 0) problems.push({ file: 'prompts', line: parsed.lineCount, message: 'no prompts in the file' });
  return { prompts, texts };
}

/**
 * A custom task from JSONL text (see the file header). Deterministic from (files, seed). Throws one TaskImportError
 * listing every malformed line of every file, or a task-level problem (no files, no prompts, bad options).
 */
export function importTask(files: CustomTaskFiles, options: CustomTaskOptions): Task {
  const { seed, heldoutFraction = 0.2, maxResponseTokens = 32, title = CUSTOM.title } = options;
  const problems: TaskImportProblem[] = [];
  if (!Number.isInteger(seed)) problems.push({ file: 'task', line: 0, message: `seed must be an integer, got ${seed}` });
  if (!(heldoutFraction >= 0 && heldoutFraction < 1)) problems.push({ file: 'task', line: 0, message: `heldoutFraction must be in [0, 1), got ${heldoutFraction}` });
  if (!(Number.isInteger(maxResponseTokens) && maxResponseTokens >= 1)) problems.push({ file: 'task', line: 0, message: `maxResponseTokens must be an integer ≥ 1, got ${maxResponseTokens}` });
  if (files.sft === undefined && files.preferences === undefined && files.prompts === undefined) {
    problems.push({ file: 'task', line: 0, message: 'no files: give at least one of sft, preferences, prompts' });
  }
  let demonstrations: SftExample[] = [];
  let preferences: Ranking[] = [];
  const pretrainText: string[] = [];
  const extraPrompts: string[] = [];
  if (files.sft !== undefined) {
    const { demos, texts } = parseSftFile(files.sft, problems);
    demonstrations = demos;
    pretrainText.push(...texts);
  }
  if (files.preferences !== undefined) {
    try {
      preferences = parsePreferenceJsonl(files.preferences);
    } catch (e) {
      if (!(e instanceof PreferenceParseError)) throw e;
      for (const p of e.problems) problems.push({ file: 'preferences', line: p.line, message: p.message });
    }
  }
  if (files.prompts !== undefined) {
    const { prompts, texts } = parsePromptsFile(files.prompts, problems);
    extraPrompts.push(...prompts);
    pretrainText.push(...texts);
  }
  const labelled = new Set([...demonstrations.map((d) => d.prompt), ...preferences.map((r) => r.prompt)]);
  const all = [...new Set([...demonstrations.map((d) => d.prompt), ...preferences.map((r) => r.prompt), ...extraPrompts])];
  if (problems.length === 0 && all.length === 0) problems.push({ file: 'task', line: 0, message: 'no prompts: the files must give at least one prompt' });
  if (problems.length > 0) throw new TaskImportError(problems);

  // Held out: unlabelled prompts first, then by a seeded hash (independent of file order).
  // At least one held out when the fraction is > 0, never all of them (a single prompt stays in train).
  const n = heldoutFraction === 0 || all.length < 2 ? 0 : Math.max(1, Math.min(Math.ceil(heldoutFraction * all.length), all.length - 1));
  const ranked = all
    .map((p) => ({ p, labelled: labelled.has(p) ? 1 : 0, k: mixSeed(seed, hashString(p)) }))
    .sort((a, b) => a.labelled - b.labelled || a.k - b.k || (a.p < b.p ? -1 : a.p > b.p ? 1 : 0));
  const held = new Set(ranked.slice(0, n).map((x) => x.p));
  const imported =
    `Imported: ${demonstrations.length} demonstrations, ${preferences.length} preference rankings, ${all.length} prompts ` +
    `(${held.size} held out), ${pretrainText.length} pretraining documents.`;
  return {
    id: CUSTOM.id,
    title,
    description: `${imported} ${CUSTOM.description}`,
    prompts: { train: all.filter((p) => !held.has(p)), heldout: all.filter((p) => held.has(p)) },
    demonstrations,
    pretrainText,
    maxResponseTokens,
    preferences,
  };
}

/** What the registry (index.ts) lists for this task: createTask('custom', { files, … }) imports the files. */
export const customTask: TaskDefinition<'custom'> = {
  ...CUSTOM,
  create({ files, seed, heldoutFraction, maxResponseTokens }) {
    if (!files) throw new RangeError('createTask: the custom task needs files to import ({ sft?, preferences?, prompts? })');
    return importTask(files, { seed, heldoutFraction, maxResponseTokens });
  },
};
