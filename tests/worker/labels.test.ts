// The worker's human-feedback module without a GPU: a made-up task (its gold reward: a response's length), a stand-in
// pipeline holding named weights, and a sampler that makes up completions. label-request's refusals and which policy
// it samples (the registry's trained policies first, then SFT, then the base model), items of k distinct completions
// from prompts not labelled or waiting, `discard`; labels' all-or-nothing validation and the gold-agreement stats;
// clear-labels; saved rankings checked and merged for restore.
import { describe, expect, test } from 'vitest';
import type { Pipeline } from '../../src/rlhf/pipeline';
import type { Ranking } from '../../src/rlhf/preferences';
import type { Task } from '../../src/rlhf/tasks';
import { PipelineCommandError } from '../../src/worker/errors';
import { Feedback, goldAgreementOf, judgedItems, MAX_LABEL_ITEMS, type Sampler } from '../../src/worker/feedback';
import { type LabelItem, MAX_LABEL_K } from '../../src/worker/protocol';
import type { Configured } from '../../src/worker/session';
import { testSession } from './fakes';

const gold = (_prompt: string, response: string) => response.length;
const TASK = { id: 'made-up', prompts: { train: ['p0', 'p1', 'p2', 'p3'], heldout: ['h0', 'h1'] }, gold } as unknown as Task;

/** Distinct completions of growing length (so the gold prefers the later ones), `distinct` of them per prompt. */
const completions = (prompt: string, n: number, distinct = n) => Array.from({ length: n }, (_, i) => `${prompt}${'!'.repeat(i % distinct)}`);

/** A Feedback on a session configured with TASK, over a pipeline holding weights named `policies`. */
function lab(policies: string[] = ['base', 'sft'], texts: (prompt: string, n: number) => string[] = completions) {
  const { session, rec } = testSession();
  session.configured = { config: {}, task: TASK } as Configured;
  const weights = Object.fromEntries(policies.map((name) => [name, {}]));
  const pipeline = { task: TASK, config: { seed: 1 }, weights } as unknown as Pipeline;
  const state = { running: false, pipelineAsked: 0 };
  const sampled: { policy: string | undefined; prompts: string[]; n: number }[] = [];
  const sampler: Sampler = async (_p, w, prompts, n) => {
    sampled.push({ policy: Object.keys(weights).find((name) => weights[name] === w), prompts, n });
    return prompts.map((prompt) => texts(prompt, n));
  };
  const feedback = new Feedback(
    session,
    async () => {
      state.pipelineAsked++;
      return pipeline;
    },
    () => state.running,
    sampler,
  );
  /** The items a request posts (it must post no error). */
  const request = async (count: number, k?: number, split?: 'train' | 'heldout', discard?: string[]) => {
    const from = rec.mark;
    await feedback.request(count, k, split, discard);
    return rec.of('label-items', from)[0];
  };
  return { session, rec, feedback, state, sampled, request };
}

const item = (id: string, k = 2): LabelItem => ({ id, prompt: `prompt ${id}`, completions: completions(`c${id}`, k) });

describe('label-request', () => {
  test('malformed requests and a request while a run goes are refused before the pipeline is asked', async () => {
    const { feedback, state } = lab();
    const refusal = (count: number, k?: number, split?: string, discard?: unknown) => feedback.request(count, k, split as 'train', discard as string[]);
    await expect(refusal(0)).rejects.toThrow(new PipelineCommandError(`label-request: count must be an integer in [1, ${MAX_LABEL_ITEMS}], got 0`));
    await expect(refusal(65)).rejects.toThrow('label-request: count must be an integer in [1, 64], got 65');
    await expect(refusal(1.5)).rejects.toThrow(/count must be an integer/);
    await expect(refusal(1, 1)).rejects.toThrow('label-request: k must be an integer in [2, 9], got 1');
    await expect(refusal(1, 10)).rejects.toThrow(/k must be an integer/);
    await expect(refusal(1, 2, 'test')).rejects.toThrow(`label-request: split must be 'train' or 'heldout', got "test"`);
    await expect(refusal(1, 2, 'train', [7])).rejects.toThrow('label-request: `discard` must be an array of item ids');
    state.running = true;
    await expect(refusal(1)).rejects.toThrow('label-request: a run is going — wait for it to end (the GPU is busy)');
    expect(state.pipelineAsked).toBe(0);
  });

  test('the largest request there may be is accepted: MAX_LABEL_ITEMS items of MAX_LABEL_K completions', async () => {
    const { request, sampled } = lab(['sft']);
    const answer = await request(MAX_LABEL_ITEMS, MAX_LABEL_K);
    expect(sampled).toEqual([{ policy: 'sft', prompts: expect.any(Array), n: MAX_LABEL_K + 2 }]);
    expect(answer.items).toHaveLength(TASK.prompts.train.length); // every prompt there is
    for (const it of answer.items) expect(it.completions).toHaveLength(MAX_LABEL_K);
  });

  test('samples the latest policy there is: a trained one (registry order), else SFT, else the base model', async () => {
    await expect(lab([]).feedback.request(1)).rejects.toThrow('label-request: there is no policy to sample yet — run the pretrain stage first (this preset has no bundled base model)');
    for (const [policies, policy] of [
      [['base'], 'base'],
      [['base', 'sft'], 'sft'],
      [['base', 'sft', 'dpo'], 'dpo'],
      [['base', 'sft', 'dpo', 'ppo'], 'ppo'],
    ] as const) {
      const l = lab([...policies]);
      expect((await l.request(1)).policy).toBe(policy);
      expect(l.sampled.map((s) => s.policy)).toEqual([policy]);
    }
  });

  test('items of k distinct completions, from half as many prompts again; repetitive prompts are dropped', async () => {
    // p-prompts whose completions all repeat give no item.
    const { request, sampled, rec } = lab(['sft'], (prompt, n) => completions(prompt, n, prompt === 'p1' ? 1 : n));
    const answer = await request(2, 3);
    expect(sampled).toEqual([{ policy: 'sft', prompts: expect.any(Array), n: 5 }]); // k + 2 samples each
    expect(sampled[0].prompts).toHaveLength(4); // ⌈2 · 1.5⌉ + 1, all there are
    expect(answer.items).toHaveLength(2);
    for (const it of answer.items) {
      expect(it.prompt).not.toBe('p1');
      expect(it.completions).toEqual(completions(it.prompt, 3));
      expect(it.id).toMatch(/^1-\d$/);
    }
    expect(rec.of('label-items')[0]).toEqual({ type: 'label-items', items: answer.items, policy: 'sft' });

    const { feedback } = lab(['sft'], (prompt, n) => completions(prompt, n, 1));
    await expect(feedback.request(2)).rejects.toThrow('label-request: the sft policy gave fewer than 2 distinct completions for every prompt tried — it is too repetitive to label');
  });

  test('prompts waiting or labelled are not drawn again; discarded ones are; the held-out split on request', async () => {
    const { request, feedback } = lab();
    const first = await request(2);
    const second = await request(2);
    const drawn = [...first.items, ...second.items].map((i) => i.prompt);
    expect(new Set(drawn)).toEqual(new Set(TASK.prompts.train));
    await expect(feedback.request(1)).rejects.toThrow('label-request: every train prompt is labelled or waiting already');
    feedback.label([{ id: first.items[0].id, order: [1, 0] }]);
    const again = await request(1, 2, 'train', [second.items[1].id, 'never-sent']);
    expect(again.items.map((i) => i.prompt)).toEqual([second.items[1].prompt]);
    expect((await request(2, 2, 'heldout')).items.map((i) => i.prompt).sort()).toEqual(['h0', 'h1']);
  });

  test('one request at a time: another while it samples is refused', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { session } = testSession();
    const feedback = new Feedback(session, async () => ({ task: TASK, config: { seed: 1 }, weights: { sft: {} } }) as unknown as Pipeline, () => false, async (_p, _w, prompts, n) => {
      await gate;
      return prompts.map((p) => completions(p, n));
    });
    const first = feedback.request(1);
    expect(feedback.labelling).toBeDefined();
    await expect(feedback.request(1)).rejects.toThrow('label-request: the previous request is still sampling — wait for its label-items');
    release();
    await first;
    expect(feedback.labelling).toBeUndefined();
  });
});

describe('labels', () => {
  const pending = new Map([item('a'), item('b', 3)].map((i) => [i.id, i]));

  test('each judged item with its completions in the order given', () => {
    expect(judgedItems([{ id: 'b', order: [2, 0, 1] }], pending)).toEqual([{ id: 'b', prompt: 'prompt b', completions: ['cb!!', 'cb', 'cb!'] }]);
  });

  test('every problem of a batch is named, and the whole batch refused', () => {
    expect(() => judgedItems({} as never, pending)).toThrow(new PipelineCommandError('labels: `labels` must be an array of {id, order}'));
    const labels = [
      { id: 'nope', order: [0, 1] },
      { id: 'a', order: [0, 0] },
      { id: 'b', order: [0, 1, 2] },
      { id: 'b', order: [0, 1, 2] },
    ];
    expect(() => judgedItems(labels, pending)).toThrow(
      new PipelineCommandError(
        `labels: nothing added — "nope": no such item to label (unknown, or labelled already); a: order must list each of the 2 completions' indices 0…1 once, best → worst, got [0,0]; b: labelled twice in this batch`,
      ),
    );
  });

  test('labels become human rankings with their gold order; the stats count pairs and gold agreement; labelled items go', async () => {
    const { request, feedback, session, rec } = lab();
    const { items } = await request(2, 3);
    feedback.label([{ id: items[0].id, order: [2, 1, 0] }]); // as the gold orders them (longer is better)
    expect(session.human).toEqual([{ prompt: items[0].prompt, completions: [2, 1, 0].map((i) => items[0].completions[i]), source: 'human', goldOrder: [0, 1, 2] }]);
    expect(rec.of('labels-stats').at(-1)).toEqual({ type: 'labels-stats', count: 1, pairs: 3, goldAgreement: 1 });
    feedback.label([{ id: items[1].id, order: [0, 1, 2] }]); // the reverse
    expect(rec.of('labels-stats').at(-1)).toEqual({ type: 'labels-stats', count: 2, pairs: 6, goldAgreement: 0.5 });
    expect(() => feedback.label([{ id: items[0].id, order: [0, 1, 2] }])).toThrow(/no such item to label/);

    const { items: more } = await request(1);
    feedback.clear();
    expect(session.human).toEqual([]);
    expect(rec.of('labels-stats').at(-1)).toEqual({ type: 'labels-stats', count: 0, pairs: 0, goldAgreement: null });
    expect(() => feedback.label([{ id: more[0].id, order: [0, 1] }])).toThrow(/no such item to label/); // forgotten too
  });

  test('goldAgreementOf: pairs whose gold scores differ, and how many of them the ranking orders as the gold does', () => {
    const rankings: Ranking[] = [
      { prompt: 'x', completions: ['ccc', 'a', 'bb'], source: 'human' }, // (ccc, a) agree, (ccc, bb) agree, (a, bb) not
      { prompt: 'y', completions: ['dd', 'ee'], source: 'human' }, // a tie: not counted
    ];
    expect(goldAgreementOf(rankings, gold)).toEqual({ pairs: 4, counted: 3, agree: 2, agreement: 2 / 3 });
    expect(goldAgreementOf(rankings, undefined)).toEqual({ pairs: 4, counted: 0, agree: 0, agreement: null });
  });
});

describe('saved rankings (restore)', () => {
  const human = (prompt: string, completions = ['long one', 'short']): Ranking => ({ prompt, completions, source: 'human' });

  test("each must be a valid ranking of source 'human'; the good ones get this task's gold order", () => {
    const { feedback } = lab();
    const { rankings, problems } = feedback.restored([human('a'), { ...human('b'), source: 'simulated' }, human('c', ['same', 'same'])]);
    expect(problems).toEqual([`ranking 1: source must be 'human', got "simulated"`, expect.stringMatching(/^ranking 2: .*same/)]);
    expect(rankings).toEqual([{ ...human('a'), goldOrder: [0, 1] }]);
  });

  test('merge adds those not held already (the same prompt and order)', () => {
    const { feedback, session } = lab();
    feedback.merge([human('a'), human('b')]);
    feedback.merge([human('b'), human('a', ['short', 'long one']), human('b')]);
    expect(session.human.map((r) => `${r.prompt}: ${r.completions.join(' > ')}`)).toEqual(['a: long one > short', 'b: long one > short', 'a: short > long one']);
  });
});
