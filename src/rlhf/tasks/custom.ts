// A custom task imported from JSONL files in Hugging Face TRL's dataset formats (one JSON object per line):
//   sft          {"prompt": "...", "completion": "..."}   demonstrations for SFT (as parseSftJsonl reads them)
//                {"text": "..."}                          plain text for the PPO-ptx pretraining loss
//   preferences  {"prompt": "...", "chosen": "...", "rejected": "..."}, Anthropic HH {"chosen", "rejected"}, or
//                rankings {"prompt": "...", "completions": ["best", …, "worst"]} (K ≥ 2 distinct; see preferences.ts)
//   prompts      {"prompt": "..."}                         prompts for RL (and held-out evaluation)
//                {"text": "..."}                          plain text for PPO-ptx
// Every file is optional, but together they must provide at least one prompt. Each file holds one kind of record
// (custom-files.ts FILE_HOLDS: a file of prompts with a preference line in it is refused, not read as prompts with
// the ranking dropped) and is at most MAX_IMPORT_BYTES long. Every malformed line of every file is reported with its
// file and line number in one TaskImportError; nothing is imported when there is any.
// A custom task has no gold reward: its preferences come from the files (or people in the UI), and the reward model
// is the only judge. Held-out prompts (for the policy's win-rate evaluation) are split off deterministically from the
// seed, taking prompts that carry no demonstration or preference first; all demonstrations and preferences are kept.
// Plain TypeScript (no node:*, no DOM): runs in Node and in a browser Web Worker.
import { importProblemsMessage, jsonlObjects, jsonTypeName, mixSeed, sftExampleOf, type SftExample } from '../../model/data';
import { hashString, rankingOf, type Ranking } from '../preferences';
import { type CustomFile, FILE_HOLDS, FILE_TEXT, MAX_IMPORT_BYTES, MAX_IMPORT_TEXT, RECORD_TEXT, type RecordKind, recordKind } from './custom-files';
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


/** What each file's lines must be, for the message of a line that is not an object. */
const EXPECTED: Readonly<Record<CustomFile, string>> = {
  sft: '{"prompt": string, "completion": string} or {"text": string}',
  preferences: 'with "prompt" and "chosen"/"rejected" or "completions"',
  prompts: '{"prompt": string} or {"text": string}',
};

const EMPTY: Readonly<Record<CustomFile, string>> = { sft: 'no examples in the file', preferences: 'no preferences in the file', prompts: 'no prompts in the file' };

/** What the files hold, each kind in file order. */
interface FileRecords {
  demonstrations: SftExample[];
  preferences: Ranking[];
  prompts: string[];
  /** Pretraining text for PPO-ptx, from the SFT and prompts files. */
  texts: string[];
}

/** Reads one object (of `kind`, one its file holds) into `into`; returns what is wrong with it instead. */
type LineReader = (o: Record<string, unknown>, kind: RecordKind | undefined, into: FileRecords) => string | undefined;

function readText(o: Record<string, unknown>, into: FileRecords): string | undefined {
  if (typeof o.text !== 'string') return `"text" must be a string, got ${jsonTypeName(o.text)}`;
  into.texts.push(o.text);
  return undefined;
}

const READ_LINE: Readonly<Record<CustomFile, LineReader>> = {
  sft: (o, kind, into) => {
    if (kind === 'text') return readText(o, into);
    const example = sftExampleOf(o);
    if (typeof example === 'string') return example;
    into.demonstrations.push(example);
    return undefined;
  },
  preferences: (o, _kind, into) => {
    const ranking = rankingOf(o);
    if (typeof ranking === 'string') return ranking;
    into.preferences.push(ranking);
    return undefined;
  },
  prompts: (o, _kind, into) => {
    const hasPrompt = 'prompt' in o;
    if (hasPrompt && 'text' in o) return 'has both "prompt" and "text": use one per line';
    if (!hasPrompt) return 'text' in o ? readText(o, into) : 'missing "prompt" (or "text" for pretraining text)';
    if (typeof o.prompt !== 'string') return `"prompt" must be a string, got ${jsonTypeName(o.prompt)}`;
    into.prompts.push(o.prompt);
    return undefined;
  },
};

/**
 * The records of one file; its problems, in line order, go to `problems`. Every line must be of the file's one kind
 * (FILE_HOLDS): the first line of another kind is reported naming both kinds and the line that made the file's kind
 * (the page reads a file's kind from its first such line), and lines of other kinds are not read as this one's.
 */
function readFile(file: CustomFile, text: string, problems: TaskImportProblem[]): FileRecords {
  const into: FileRecords = { demonstrations: [], preferences: [], prompts: [], texts: [] };
  if (text.length > MAX_IMPORT_BYTES) {
    problems.push({ file, line: 0, message: `longer than the ${MAX_IMPORT_TEXT} an import may be` });
    return into;
  }
  const parsed = jsonlObjects(text, EXPECTED[file]);
  const found: TaskImportProblem[] = parsed.problems.map((p) => ({ file, ...p }));
  let fileKindLine: number | undefined; // the first line of exactly the file's kind
  let otherKind: TaskImportProblem | undefined;
  for (const { line, value } of parsed.objects) {
    const kind = recordKind(value);
    if (kind !== undefined && !FILE_HOLDS[file].includes(kind)) {
      const why = fileKindLine === undefined ? `this is a file of ${FILE_TEXT[file]}` : `line ${fileKindLine} made this a file of ${FILE_TEXT[file]}`;
      otherKind ??= { file, line, message: `${RECORD_TEXT[kind]}, but ${why}: every line must be of the file's one kind` };
      continue;
    }
    if (kind === file) fileKindLine ??= line;
    const problem = READ_LINE[file](value, kind, into);
    if (problem !== undefined) found.push({ file, line, message: problem });
  }
  if (otherKind) found.push(otherKind);
  found.sort((a, b) => a.line - b.line);
  const read = into.demonstrations.length + into.preferences.length + into.prompts.length + into.texts.length;
  if (read === 0 && found.length === 0) found.push({ file, line: parsed.lineCount, message: EMPTY[file] });
  for (const p of found) problems.push(p); // not push(...found): a file's 300,000 problems overflow the stack as arguments
  return into;
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
  const read = (['sft', 'preferences', 'prompts'] as const).flatMap((file) => (files[file] === undefined ? [] : [readFile(file, files[file], problems)]));
  const demonstrations = read.flatMap((r) => r.demonstrations);
  const preferences = read.flatMap((r) => r.preferences);
  const extraPrompts = read.flatMap((r) => r.prompts);
  const pretrainText = read.flatMap((r) => r.texts);
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
