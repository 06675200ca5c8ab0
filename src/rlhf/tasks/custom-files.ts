// What the custom task's files are, as the page and the worker both need it: the one size an import may be, and
// which kind of record a JSONL object is, so that the page detects a file's kind and the worker refuses a file whose
// lines are of two kinds by the same rule. Plain data and functions without the parsers (custom.ts), so the page's
// main bundle can import it.
import type { CustomTaskFiles } from './types';

export type CustomFile = keyof CustomTaskFiles;

/** The largest file the page imports (checked before it reads one) and the worker parses. */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
export const MAX_IMPORT_TEXT = `${MAX_IMPORT_BYTES / (1024 * 1024)} MiB`;

/** What each file holds, in words. */
export const FILE_TEXT: Readonly<Record<CustomFile, string>> = { preferences: 'preferences', sft: 'SFT demonstrations', prompts: 'prompts' };

/** A JSONL record's kind by its fields; 'text' (pretraining text) belongs in an SFT file or a prompts file. */
export type RecordKind = CustomFile | 'text';

export const RECORD_TEXT: Readonly<Record<RecordKind, string>> = {
  preferences: 'a preference record ({"chosen","rejected"} or {"completions"})',
  sft: 'an SFT demonstration ({"prompt","completion"})',
  prompts: 'a prompt ({"prompt"} alone)',
  text: 'pretraining text ({"text"})',
};

/** The kinds of record each file may hold. */
export const FILE_HOLDS: Readonly<Record<CustomFile, readonly RecordKind[]>> = { preferences: ['preferences'], sft: ['sft', 'text'], prompts: ['prompts', 'text'] };

/** The kind of a JSONL object, or undefined when its fields name none (its file's parser says what is missing). */
export function recordKind(o: object): RecordKind | undefined {
  if ('chosen' in o || 'rejected' in o || 'completions' in o) return 'preferences';
  if ('completion' in o) return 'sft';
  if ('prompt' in o) return 'prompts';
  if ('text' in o) return 'text';
  return undefined;
}
