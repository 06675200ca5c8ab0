// Importing a file of one's own, from the file the person picks to what the page shows, with the worker's validation
// (acceptConfiguration, as the engine runs it) behind the store's `send`: a file whose lines are of two kinds is
// refused naming the first line of the other kind and both kinds (it was read as the first line's kind, dropping the
// rest); a file larger than MAX_IMPORT_BYTES is refused before it is read; a file that cannot be read, or is not
// UTF-8, or escapes a lone surrogate, is refused with a clear message and its line; and a file of 300,000 bad lines
// makes a short refusal (the first 20 problems, then how many more).
import { describe, expect, test, vi } from 'vitest';
import { SHOWN_PROBLEM_CHARS, SHOWN_PROBLEMS } from '../../src/model/data';
import { importTask, TaskImportError } from '../../src/rlhf/tasks';
import { MAX_IMPORT_BYTES } from '../../src/rlhf/tasks/custom-files';
import { detectDatasetFile } from '../../src/store';
import { labWithConfigureWorker as page } from '../helpers/configure-worker';

const file = (name: string, ...parts: BlobPart[]) => new File(parts, name);
const lines = (...records: object[]) => records.map((r) => JSON.stringify(r)).join('\n');

describe('a file holds one kind of record', () => {
  const mixed = lines({ prompt: 'Say hi.' }, { prompt: 'Say hi.', chosen: 'Hi!', rejected: 'Go away.' }, { prompt: 'Wave.', completions: ['*waves*', 'no'] });

  test('prompts first, then preferences: refused naming line 2, its kind and the file kind (not imported as prompts)', async () => {
    const { lab } = page();
    await lab.getState().importFile(file('mixed.jsonl', mixed));
    const s = lab.getState();
    expect(s.dataset).toBeUndefined();
    expect(s.importRefusal).toMatchObject({ name: 'mixed.jsonl', file: 'prompts' });
    expect(s.importRefusal!.problems).toEqual([
      { field: 'custom.prompts', line: 2, message: 'a preference record ({"chosen","rejected"} or {"completions"}), but line 1 made this a file of prompts: every line must be of the file\'s one kind' },
    ]);
  });

  test('importTask refuses every mix, naming the first line of another kind; text lines belong with SFT and prompts', () => {
    const problemsOf = (files: Parameters<typeof importTask>[0]) => {
      try {
        importTask(files, { seed: 1 });
      } catch (e) {
        if (e instanceof TaskImportError) return e.problems.map((p) => `${p.file}:${p.line}: ${p.message}`);
        throw e;
      }
      return [];
    };
    const demo = { prompt: 'a', completion: 'b' };
    const pref = { prompt: 'a', chosen: 'b', rejected: 'c' };
    expect(problemsOf({ sft: lines(demo, { prompt: 'x' }, pref) })).toEqual(['sft:2: a prompt ({"prompt"} alone), but line 1 made this a file of SFT demonstrations: every line must be of the file\'s one kind']);
    expect(problemsOf({ preferences: lines({ text: 't' }, pref, demo) })).toEqual(['preferences:1: pretraining text ({"text"}), but this is a file of preferences: every line must be of the file\'s one kind']);
    expect(problemsOf({ prompts: lines({ text: 't' }, { prompt: 'p' }, { text: 'u' }) })).toEqual([]);
    expect(problemsOf({ sft: lines({ text: 't' }, demo) })).toEqual([]);
  });

  test('the page reads the kind from the first line of a definite kind: text lines fit SFT and prompts files alike', () => {
    expect(detectDatasetFile(lines({ text: 't' }, { prompt: 'p' }))).toBe('prompts');
    expect(detectDatasetFile(lines({ text: 't' }, { prompt: 'p', completion: 'c' }))).toBe('sft');
    expect(detectDatasetFile(lines({ text: 't' }))).toBe('sft');
  });
});

describe('reading the picked file', () => {
  test(`a file over MAX_IMPORT_BYTES (${MAX_IMPORT_BYTES}) is refused before it is read; nothing goes to the worker`, async () => {
    const { lab, sent } = page();
    const arrayBuffer = vi.fn();
    const huge = { name: 'huge.jsonl', size: MAX_IMPORT_BYTES + 1, arrayBuffer, text: arrayBuffer, stream: arrayBuffer } as unknown as File;
    await lab.getState().importFile(huge);
    expect(arrayBuffer).not.toHaveBeenCalled();
    expect(lab.getState().importRefusal).toEqual({ name: 'huge.jsonl', message: 'The file is 20.0 MiB; an import may be at most 20 MiB.', problems: [] });
    expect(sent).toEqual([]);
    // A file of exactly the limit is read.
    await lab.getState().importFile(file('limit.jsonl', new Uint8Array(MAX_IMPORT_BYTES).fill(0x20)));
    expect(sent).toHaveLength(1);
  });

  test('a file the browser cannot read is refused with why', async () => {
    const { lab, sent } = page();
    const gone = new File(['{}'], 'gone.jsonl');
    vi.spyOn(gone, 'arrayBuffer').mockRejectedValue(new DOMException('The file changed on disk.', 'NotReadableError'));
    await lab.getState().importFile(gone);
    expect(lab.getState().importRefusal).toEqual({ name: 'gone.jsonl', message: 'The file could not be read (The file changed on disk.): choose it again.', problems: [] });
    expect(sent).toEqual([]);
  });

  test('a byte that is not UTF-8 is refused with its line, not imported as U+FFFD', async () => {
    const { lab, sent } = page();
    const good = new TextEncoder().encode(`${lines({ prompt: 'héllo' }, { prompt: 'ok' })}\n`);
    await lab.getState().importFile(file('latin1.jsonl', good, new Uint8Array([0x7b, 0x22, 0x70, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]))); // {"p":"<0xe9>"} on line 3
    expect(lab.getState().importRefusal).toEqual({
      name: 'latin1.jsonl',
      message: 'The file is not UTF-8 text.',
      problems: [{ field: 'custom', line: 3, message: `the bytes from offset ${good.length + 6} (0xe9) are not UTF-8: save the file as UTF-8` }],
    });
    expect(sent).toEqual([]);
  });

  test('a lone surrogate escaped in JSON ("\\ud800") is refused with its line', async () => {
    const { lab } = page();
    await lab.getState().importFile(file('lone.jsonl', `${lines({ prompt: 'a' })}\n{"prompt": "b\\ud800"}`));
    expect(lab.getState().importRefusal!.problems).toEqual([{ field: 'custom.prompts', line: 2, message: expect.stringMatching(/^a string holds a lone UTF-16 surrogate/) }]);
    expect(lab.getState().dataset).toBeUndefined();
  });

  test('a good file becomes the custom task', async () => {
    const { lab } = page();
    await lab.getState().importFile(file('prefs.jsonl', lines({ prompt: 'Say hi.', chosen: 'Hi!', rejected: 'Go away.' })));
    expect(lab.getState()).toMatchObject({ importRefusal: undefined, dataset: { file: 'preferences' }, configured: { task: { id: 'custom', preferences: 1 } } });
  });
});

describe('a refusal is short however many lines are bad', () => {
  // 300,000, and one more than are shown (the smallest count that hides one).
  test.for([300_000, SHOWN_PROBLEMS + 1])('%i bad lines: the first 20 problems, then how many more; the worker sends a few kilobytes', async (count) => {
    const { lab, answers } = page();
    // Arrays, not objects: JSON that parses (a line of invalid JSON costs an exception, slow by the 300,000).
    const bad = Array.from({ length: count }, (_, i) => `[${i}]`);
    await lab.getState().importFile(file('bad.jsonl', [lines({ prompt: 'p' }), ...bad].join('\n')));
    const [answer] = answers;
    expect(answer).toMatchObject({ type: 'error', kind: 'config' });
    expect(JSON.stringify(answer).length).toBeLessThan(12_000);
    const { problems } = lab.getState().importRefusal!;
    expect(problems).toHaveLength(SHOWN_PROBLEMS + 1);
    expect(problems[0]).toEqual({ field: 'custom.prompts', line: 2, message: 'expected an object {"prompt": string} or {"text": string}, got an array' });
    expect(problems.at(-1)).toEqual({ field: 'custom.prompts', message: `… and ${count - SHOWN_PROBLEMS} more` });
  });

  test('a problem quoting a huge value from the file is clipped', async () => {
    const { lab, answers } = page();
    const record = { prompt: 'p', chosen: 'a', rejected: 'b', source: 'x'.repeat(1_000_000) };
    await lab.getState().importFile(file('big-value.jsonl', lines(record)));
    expect(JSON.stringify(answers[0]).length).toBeLessThan(2_000);
    const [problem] = lab.getState().importRefusal!.problems;
    expect(problem.message).toMatch(/^"source" must be one of simulated, human, imported, got "xxx.*…$/);
    expect(problem.message).toHaveLength(SHOWN_PROBLEM_CHARS);
  }, 60_000);
});

describe('the worker parses no text longer than the limit', () => {
  test('a file longer than MAX_IMPORT_BYTES is refused unparsed', () => {
    expect(() => importTask({ prompts: ' '.repeat(MAX_IMPORT_BYTES + 1) }, { seed: 1 })).toThrow(/prompts: longer than the 20 MiB an import may be/);
  });
});
