// Property tests of the custom task's JSONL import, along the page's path: the file's bytes are read as the page reads
// them (src/store/import-file.ts: strict UTF-8), its kind is detected (detectDatasetFile) and the worker imports it
// (importTask). Valid record sets written by the exporters (toJsonl for demonstrations, PreferenceDataset.toJsonl for
// preferences; prompts files have no exporter, so one JSON object per line as TRL writes them) come back the same;
// random byte corruption of such a file is refused with line-numbered problems or imports exactly what the corrupted
// file says — never a crash, never U+FFFD or lone surrogates from bad bytes, never a line dropped. Seeded.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { toJsonl } from '../../src/corpus/generators';
import type { SftExample } from '../../src/model/data';
import { PreferenceDataset, type Ranking, type RankingSource } from '../../src/rlhf/preferences';
import { importTask, type Task, TaskImportError } from '../../src/rlhf/tasks';
import { detectDatasetFile } from '../../src/store';
import { firstNonUtf8Byte, readImportFile } from '../../src/store/import-file';

type Imported = { file: string; text: string; task: Task } | { problems: { line?: number; message: string }[]; lineCount: number };

/** A file's bytes through the page's read, its detection and the worker's import. */
async function importBytes(bytes: Uint8Array): Promise<Imported> {
  const lineCount = bytes.reduce((n, b) => (b === 0x0a ? n + 1 : n), 1);
  const read = await readImportFile(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  if (!('text' in read)) return { problems: read.problems, lineCount };
  const file = detectDatasetFile(read.text);
  try {
    return { file, text: read.text, task: importTask({ [file]: read.text }, { seed: 1 }) };
  } catch (e) {
    if (!(e instanceof TaskImportError)) throw e;
    return { problems: e.problems, lineCount };
  }
}

const encode = (text: string) => new TextEncoder().encode(text);
const strict = (bytes: Uint8Array) => new TextDecoder('utf-8', { fatal: true }).decode(bytes);
const decodes = (bytes: Uint8Array) => {
  try {
    strict(bytes);
    return true;
  } catch {
    return false;
  }
};
const LONE_SURROGATE = /\p{Cs}/u;

// Text of every kind: ASCII (with the characters JSON escapes), and any code point (4-byte UTF-8 included).
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary-ascii', maxLength: 8 }));
const demonstrations = fc.array(fc.record({ prompt: text, completion: text }), { minLength: 1, maxLength: 6 });
const ranking: fc.Arbitrary<Ranking> = fc
  .record({ prompt: text, completions: fc.uniqueArray(text, { minLength: 2, maxLength: 4 }), source: fc.constantFrom<RankingSource>('simulated', 'human', 'imported'), gold: fc.boolean() })
  .chain(({ gold, ...r }) => {
    const indices = r.completions.map((_, i) => i);
    return gold ? fc.shuffledSubarray(indices, { minLength: indices.length, maxLength: indices.length }).map((goldOrder) => ({ ...r, goldOrder })) : fc.constant(r);
  });
const rankings = fc.array(ranking, { minLength: 1, maxLength: 5 });
/** A prompts file's lines: prompts, and pretraining text, at least one prompt. */
const promptLines = fc.array(fc.oneof(fc.record({ prompt: text }), fc.record({ text })), { minLength: 1, maxLength: 8 }).filter((lines) => lines.some((l) => 'prompt' in l));
const promptsJsonl = (lines: readonly ({ prompt: string } | { text: string })[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

/** The prompts a task has, train and held out. */
const promptSet = (task: Task) => new Set([...task.prompts.train, ...task.prompts.heldout]);

describe('valid record sets round-trip: export → import gives the same records', () => {
  test('demonstrations (toJsonl)', async () => {
    await fc.assert(
      fc.asyncProperty(demonstrations, async (examples: SftExample[]) => {
        const got = await importBytes(encode(toJsonl(examples)));
        expect(got).toMatchObject({ file: 'sft' });
        if (!('task' in got)) return;
        expect(got.task.demonstrations).toEqual(examples);
        expect(got.task.preferences).toEqual([]);
      }),
      { seed: 1, numRuns: 150 },
    );
  });

  test('preferences (PreferenceDataset.toJsonl), source and gold order included', async () => {
    await fc.assert(
      fc.asyncProperty(rankings, async (rs) => {
        const got = await importBytes(encode(new PreferenceDataset(rs).toJsonl()));
        expect(got).toMatchObject({ file: 'preferences' });
        if (!('task' in got)) return;
        expect(got.task.preferences).toEqual(rs);
        expect(promptSet(got.task)).toEqual(new Set(rs.map((r) => r.prompt)));
      }),
      { seed: 1, numRuns: 150 },
    );
  });

  test('prompts, with pretraining text lines anywhere (before the first prompt too)', async () => {
    await fc.assert(
      fc.asyncProperty(promptLines, async (lines) => {
        const got = await importBytes(encode(promptsJsonl(lines)));
        expect(got).toMatchObject({ file: 'prompts' });
        if (!('task' in got)) return;
        expect(promptSet(got.task)).toEqual(new Set(lines.flatMap((l) => ('prompt' in l ? [l.prompt] : []))));
        expect(got.task.pretrainText).toEqual(lines.flatMap((l) => ('text' in l ? [l.text] : [])));
      }),
      { seed: 1, numRuns: 150 },
    );
  });
});

/** The JSON value of every non-blank line. */
const lineValues = (text: string): unknown[] =>
  text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));

/** Fields only records of other files have. */
const FIELDS_OF_OTHER_FILES: Record<string, readonly string[]> = {
  sft: ['chosen', 'rejected', 'completions'],
  preferences: [],
  prompts: ['chosen', 'rejected', 'completions', 'completion'],
};

/**
 * What a file that was imported must have given, read independently: every non-blank line is a JSON object, of the
 * kinds its file holds, and becomes exactly one record.
 */
function expectedImport(file: string, text: string): { demonstrations: SftExample[]; preferences: Ranking[]; pretrainText: string[]; prompts: Set<string> } {
  const objects = lineValues(text) as Record<string, unknown>[];
  const demonstrations: SftExample[] = [];
  const preferences: Ranking[] = [];
  const pretrainText: string[] = [];
  const prompts = new Set<string>();
  for (const o of objects) {
    expect(Object.keys(o).filter((k) => FIELDS_OF_OTHER_FILES[file].includes(k))).toEqual([]); // no record of another kind
    if (file === 'preferences') {
      const r: Ranking = { prompt: o.prompt as string, completions: o.completions as string[], source: (o.source ?? 'imported') as RankingSource };
      if ('gold_order' in o) r.goldOrder = o.gold_order as number[];
      preferences.push(r);
      prompts.add(r.prompt);
    } else if (!('prompt' in o)) pretrainText.push(o.text as string);
    else if (file === 'sft') {
      demonstrations.push({ prompt: o.prompt as string, completion: o.completion as string });
      prompts.add(o.prompt as string);
    } else prompts.add(o.prompt as string);
  }
  return { demonstrations, preferences, pretrainText, prompts };
}

/** Strings anywhere in a value. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (typeof v === 'object' && v !== null) return Object.values(v).flatMap(strings);
  return [];
}

/** One byte replaced, inserted or deleted; JSON's whitespace often, as it may leave every value as it was. */
const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x20, 0x09, 0x0a, 0x0d));
const corruption = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), byte: fc.constant(0) }),
);

function corrupt(bytes: Uint8Array, edits: readonly { op: 'set' | 'insert' | 'delete'; at: number; byte: number }[]): Uint8Array {
  let out = Array.from(bytes);
  for (const { op, at, byte } of edits) {
    const i = at % (out.length + 1);
    if (op === 'insert') out.splice(i, 0, byte);
    else if (i < out.length) out = op === 'set' ? out.map((b, j) => (j === i ? byte : b)) : out.filter((_, j) => j !== i);
  }
  return Uint8Array.from(out);
}

describe('random byte corruption: a specific parse error or exactly what the file says, never a crash', () => {
  const files = fc.oneof(demonstrations.map(toJsonl), rankings.map((rs) => new PreferenceDataset(rs).toJsonl()), promptLines.map(promptsJsonl));

  test('a corrupted file is refused line by line, or imported record for record', async () => {
    const outcomes = { refused: 0, imported: 0, identical: 0 };
    await fc.assert(
      fc.asyncProperty(files, fc.array(corruption, { minLength: 1, maxLength: 3 }), async (valid, edits) => {
        const bytes = corrupt(encode(valid), edits);
        const got = await importBytes(bytes); // anything but a parse error fails the property here
        if ('problems' in got) {
          outcomes.refused++;
          expect(got.problems.length).toBeGreaterThan(0);
          for (const p of got.problems) {
            expect(p.message).not.toBe('');
            expect(p.line ?? 0).toBeGreaterThanOrEqual(0);
            expect(p.line ?? 0).toBeLessThanOrEqual(got.lineCount);
          }
          return;
        }
        outcomes.imported++;
        expect(decodes(bytes)).toBe(true); // no bad byte became U+FFFD
        const want = expectedImport(got.file, got.text);
        expect(got.task.demonstrations).toEqual(want.demonstrations);
        expect(got.task.preferences).toEqual(want.preferences);
        expect(got.task.pretrainText).toEqual(want.pretrainText);
        expect(promptSet(got.task)).toEqual(want.prompts);
        expect(strings(got.task).filter((s) => LONE_SURROGATE.test(s))).toEqual([]);
        // Corruption that leaves every line's JSON value as it was (a space inserted between tokens) imports identically.
        if (JSON.stringify(lineValues(got.text)) === JSON.stringify(lineValues(valid))) {
          outcomes.identical++;
          expect(got.task).toEqual(importTask({ [got.file]: valid }, { seed: 1 }));
        }
      }),
      { seed: 1, numRuns: 400 },
    );
    // Every outcome happens, so no branch is vacuous.
    expect(outcomes.refused).toBeGreaterThan(50);
    expect(outcomes.imported).toBeGreaterThan(20);
    expect(outcomes.identical).toBeGreaterThan(5);
  });

  test('a string escaping a lone surrogate is refused naming its line', async () => {
    await fc.assert(
      fc.asyncProperty(promptLines, fc.nat(), fc.integer({ min: 0xd800, max: 0xdfff }), async (lines, pick, unit) => {
        const at = pick % lines.length;
        const escaped = `{"prompt":"x\\u${unit.toString(16)}y"}`;
        const text = promptsJsonl(lines).split('\n').map((l, i) => (i === at ? escaped : l)).join('\n');
        const got = await importBytes(encode(text));
        expect(got).toMatchObject({ problems: expect.arrayContaining([expect.objectContaining({ line: at + 1, message: expect.stringMatching(/lone UTF-16 surrogate/) })]) });
      }),
      { seed: 1, numRuns: 100 },
    );
  });
});

describe('the first byte that is not UTF-8', () => {
  // Valid UTF-8 with bytes replaced: most bad bytes sit after valid multi-byte sequences.
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.tuple(fc.string({ unit: 'binary', maxLength: 12 }), fc.array(corruption, { maxLength: 3 })).map(([s, edits]) => corrupt(encode(s), edits)));

  test('is found exactly where a strict TextDecoder fails: everything before it decodes, nothing from it does', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const at = firstNonUtf8Byte(b);
        expect(at === -1).toBe(decodes(b));
        if (at === -1) return;
        expect(decodes(b.subarray(0, at))).toBe(true);
        for (let n = 1; n <= 4 && at + n <= b.length; n++) expect(decodes(b.subarray(at, at + n))).toBe(false);
      }),
      { seed: 1, numRuns: 2000 },
    );
  });

  test('the lead bytes whose first continuation byte has a narrower range: overlong, surrogate, above U+10FFFF', () => {
    // Random bytes rarely hit these; each is refused by a strict TextDecoder at its lead byte, and its neighbour is valid.
    for (const bad of [[0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80]]) {
      const b = Uint8Array.of(0x61, ...bad);
      expect(decodes(b), bad.join(',')).toBe(false);
      expect(firstNonUtf8Byte(b), bad.join(',')).toBe(1);
    }
    for (const good of [[0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf]]) expect(firstNonUtf8Byte(Uint8Array.of(...good)), good.join(',')).toBe(-1);
  });
});
