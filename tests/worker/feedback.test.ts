// Human feedback through the engine's protocol, in Node (Dawn on SwiftShader): label-request samples pairs from the
// current policy (no gold scores sent), `labels` adds them as source 'human' rankings and labels-stats reports their
// agreement with the hidden gold reward, `start` with humanLabels trains the reward model on them alone (rm metrics
// arrive; the exported rankings are all human), and `restore` loads exported checkpoints and saved rankings into a
// fresh configuration so the rm stage runs without pretrain/SFT. Refusals (bad ids, orders, too few labels, a
// checkpoint of another preset) change nothing. Also the page's feedback store (src/store/feedback.ts) against a
// fake worker. A nano pipeline with a few steps per stage keeps it quick.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { createNodeRuntime } from '../../src/gpu/node';
import { parsePreferenceJsonl, type Ranking } from '../../src/rlhf/preferences';
import { sentimentGold } from '../../src/rlhf/tasks';
import { createFeedbackStore } from '../../src/store/feedback';
import { createEngine, type Engine, goldAgreementOf } from '../../src/worker/engine';
import { BASE_MODEL_PATH, type Command, type EngineEvent, type LabelItem } from '../../src/worker/protocol';

type Of<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

class Recorder {
  readonly events: EngineEvent[] = [];
  readonly post = (event: EngineEvent) => void this.events.push(event);
  get mark(): number {
    return this.events.length;
  }
  of<T extends EngineEvent['type']>(type: T, from = 0): Of<T>[] {
    return this.events.slice(from).filter((e): e is Of<T> => e.type === type);
  }
  errors(from = 0): string[] {
    return this.of('error', from).map((e) => e.message);
  }
}

const QUICK = { seed: 3, 'pretrain.steps': 4, 'sft.steps': 2, 'rm.groupsPerStep': 2, 'labels.prompts': 4 };

describe('human feedback in the engine', () => {
  let rt: GpuRuntime;
  const rec = new Recorder();
  let engine: Engine;
  const send = (command: Command) => engine.handle(command);
  let items: LabelItem[] = [];
  /** The human rankings as exported after the rm stage trained on them. */
  let humanExport: Ranking[] = [];

  beforeAll(async () => {
    rt = await createNodeRuntime();
    engine = createEngine(rec.post, { runtime: async () => rt, asset: async (path) => new Uint8Array(await readFile(join('public', path))) });
  });
  afterAll(() => rt?.destroy());

  test('label-request before any policy exists is refused; after SFT it returns distinct pairs without gold', { timeout: 120_000 }, async () => {
    let from = rec.mark;
    await send({ type: 'label-request', count: 2 });
    expect(rec.errors(from)).toEqual([expect.stringMatching(/^label-request: configure the pipeline first/)]);
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: QUICK });
    from = rec.mark;
    await send({ type: 'label-request', count: 2 }); // nano has no bundled base model: pretrain first
    expect(rec.errors(from)).toEqual([expect.stringMatching(/no policy to sample yet — run the pretrain stage/)]);
    for (const bad of [{ count: 0 }, { count: 65 }, { count: 2, k: 1 }, { count: 2, k: 10 }]) {
      from = rec.mark;
      await send({ type: 'label-request', ...bad });
      expect(rec.errors(from)).toEqual([expect.stringMatching(/^label-request: (count|k) must be an integer/)]);
    }

    await send({ type: 'start', stages: ['pretrain', 'sft'] });
    expect(rec.of('pipeline-state').at(-1)?.state).toBe('done');
    from = rec.mark;
    await send({ type: 'label-request', count: 5 });
    expect(rec.errors(from)).toEqual([]);
    const [answer] = rec.of('label-items', from);
    expect(answer.policy).toBe('sft');
    items = answer.items;
    expect(items.length).toBeGreaterThanOrEqual(3);
    expect(items.length).toBeLessThanOrEqual(5);
    expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
    expect(new Set(items.map((i) => i.prompt)).size).toBe(items.length);
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(['completions', 'id', 'prompt']); // no gold scores leave the worker
      expect(item.completions).toHaveLength(2);
      expect(item.completions[0]).not.toBe(item.completions[1]);
    }

    // K > 2 works too, on fresh prompts.
    from = rec.mark;
    await send({ type: 'label-request', count: 1, k: 3 });
    const [three] = rec.of('label-items', from);
    expect(three.items[0].completions).toHaveLength(3);
    expect(items.map((i) => i.prompt)).not.toContain(three.items[0].prompt);
    items.push(...three.items);
  });

  test('labels become human rankings; stats report the gold agreement; bad batches add nothing', { timeout: 60_000 }, async () => {
    let from = rec.mark;
    await send({ type: 'labels', labels: [{ id: items[0].id, order: [1, 0] }, { id: 'nope', order: [0, 1] }] });
    await send({ type: 'labels', labels: [{ id: items[0].id, order: [0, 0] }] });
    await send({ type: 'labels', labels: [{ id: items[0].id, order: [0, 1] }, { id: items[0].id, order: [1, 0] }] });
    expect(rec.errors(from)).toEqual([
      expect.stringMatching(/^labels: nothing added — "nope": no such item/),
      expect.stringMatching(/^labels: nothing added — .*order must list each of the 2 completions' indices 0…1 once/),
      expect.stringMatching(/labelled twice in this batch/),
    ]);
    expect(rec.of('labels-stats', from)).toEqual([]);

    // Label every pair as the gold reward would, except the first one reversed; the 3-way item by index order.
    const pairs = items.filter((i) => i.completions.length === 2);
    const byGold = (item: LabelItem) => (sentimentGold(item.prompt, item.completions[0]) >= sentimentGold(item.prompt, item.completions[1]) ? [0, 1] : [1, 0]);
    const labels = pairs.map((item, n) => ({ id: item.id, order: n === 0 ? byGold(item).reverse() : byGold(item) }));
    from = rec.mark;
    await send({ type: 'labels', labels: labels.slice(0, 1) });
    await send({ type: 'labels', labels: [...labels.slice(1), { id: items.at(-1)!.id, order: [0, 1, 2] }] });
    const stats = rec.of('labels-stats', from);
    expect(stats.map((s) => s.count)).toEqual([1, pairs.length + 1]);
    expect(stats[1].pairs).toBe(pairs.length + 3);
    // Computed independently: the rankings as labelled, against sentimentGold (ties not counted).
    const rankings = [...labels.map((l) => ({ prompt: pairs.find((p) => p.id === l.id)!.prompt, completions: l.order.map((i) => pairs.find((p) => p.id === l.id)!.completions[i]) }))];
    rankings.push({ prompt: items.at(-1)!.prompt, completions: items.at(-1)!.completions });
    const expected = goldAgreementOf(
      rankings.map((r) => ({ ...r, source: 'human' as const })),
      sentimentGold,
    );
    expect(stats[1].goldAgreement).toBe(expected.agreement);
    expect(expected.counted).toBeGreaterThan(0);
    expect(stats[0].goldAgreement === null || stats[0].goldAgreement === 0).toBe(true); // the reversed pair (or a tie)

    // Labelled items cannot be labelled again.
    from = rec.mark;
    await send({ type: 'labels', labels: [labels[1]] });
    expect(rec.errors(from)).toEqual([expect.stringMatching(/no such item to label \(unknown, or labelled already\)/)]);
  });

  test('label-request forgets the items it is told to discard (skipped on the page); a bad discard forgets nothing', { timeout: 60_000 }, async () => {
    let from = rec.mark;
    await send({ type: 'label-request', count: 2 });
    const [{ items: fresh }] = rec.of('label-items', from);
    from = rec.mark;
    await send({ type: 'label-request', count: 1, discard: [fresh[0].id, 7] as unknown as string[] });
    expect(rec.errors(from)).toEqual([expect.stringMatching(/^label-request: `discard` must be an array of item ids/)]);
    expect(rec.of('label-items', from)).toEqual([]);
    from = rec.mark;
    await send({ type: 'label-request', count: 1, discard: [fresh[0].id, 'never-sent'] });
    expect(rec.errors(from)).toEqual([]);
    const [{ items: more }] = rec.of('label-items', from);
    expect(more).toHaveLength(1);
    // The discarded item can no longer be labelled; the one not discarded still can (checked, then left unlabelled).
    from = rec.mark;
    await send({ type: 'labels', labels: [{ id: fresh[0].id, order: [0, 1] }] });
    await send({ type: 'labels', labels: [{ id: fresh[1].id, order: [0, 0] }] });
    expect(rec.errors(from)).toEqual([
      expect.stringMatching(/no such item to label \(unknown, or labelled already\)/),
      expect.stringMatching(/order must list each of the 2 completions/), // known: refused only for its order
    ]);
  });

  test('start with humanLabels trains the reward model on the human rankings alone', { timeout: 120_000 }, async () => {
    const from = rec.mark;
    await send({ type: 'start', stages: ['rm'], humanLabels: 'replace' });
    expect(rec.errors(from)).toEqual([]);
    expect(rec.of('pipeline-state', from).at(-1)?.state).toBe('done');
    const rm = rec.of('metrics', from).flatMap((e) => e.records).filter((r) => r.stage === 'rm');
    expect(rm.some((r) => Number.isFinite(r['rm/loss']))).toBe(true);
    expect(rm.some((r) => Number.isFinite(r['rm/heldout_accuracy']))).toBe(true);
    expect(rec.of('log', from).map((e) => e.line)).toContainEqual(expect.stringMatching(/preference data: \d+ human rankings \(alone\)/));
    expect(rec.of('checkpoint', from).map((e) => e.name)).toEqual(['reward-model']);

    const exportFrom = rec.mark;
    await send({ type: 'export', format: 'preferences-jsonl' });
    const [file] = rec.of('file', exportFrom);
    const exported = parsePreferenceJsonl(new TextDecoder().decode(file.bytes));
    expect(exported.length).toBe(rec.of('labels-stats').at(-1)!.count);
    expect(new Set(exported.map((r) => r.source))).toEqual(new Set(['human']));
    expect(exported.every((r) => r.goldOrder !== undefined)).toBe(true);
    humanExport = exported;
  });

  test("humanLabels 'merge' adds the human rankings to the simulated labelers' ones; without the flag only simulated", { timeout: 120_000 }, async () => {
    const preferences = async () => {
      const from = rec.mark;
      await send({ type: 'export', format: 'preferences-jsonl' });
      return parsePreferenceJsonl(new TextDecoder().decode(rec.of('file', from)[0].bytes));
    };
    const humans = rec.of('labels-stats').at(-1)!.count;
    let from = rec.mark;
    await send({ type: 'start', stages: ['rm'], humanLabels: 'merge' });
    expect(rec.errors(from)).toEqual([]);
    expect(rec.of('log', from).map((e) => e.line)).toContainEqual(expect.stringMatching(new RegExp(`preference data: ${humans} human rankings \\(with the others\\) of \\d+ in all`)));
    let sources = (await preferences()).map((r) => r.source);
    expect(sources.filter((s) => s === 'human')).toHaveLength(humans);
    expect(sources.filter((s) => s === 'simulated').length).toBeGreaterThan(0);

    from = rec.mark;
    await send({ type: 'start', stages: ['rm'] });
    expect(rec.errors(from)).toEqual([]);
    sources = (await preferences()).map((r) => r.source);
    expect(new Set(sources)).toEqual(new Set(['simulated']));
  });

  test('restore loads exported checkpoints and saved rankings into a new configuration; bad ones change nothing', { timeout: 120_000 }, async () => {
    const exportOf = async (model: 'base' | 'sft') => {
      const from = rec.mark;
      await send({ type: 'export', format: 'safetensors', model });
      return { name: model, bytes: rec.of('file', from)[0].bytes };
    };
    const saved = [await exportOf('base'), await exportOf('sft')];
    const rankings = humanExport;
    expect(rankings.length).toBeGreaterThan(2);

    // Another task drops the human labels; the same task keeps them.
    let from = rec.mark;
    await send({ type: 'configure', task: 'instructions', preset: 'nano', overrides: QUICK });
    await send({ type: 'clear-labels' });
    expect(rec.of('labels-stats', from).map((s) => s.count)).toEqual([0]);
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { ...QUICK, seed: 4 } });

    // The bundled (tiny) base model does not fit nano; a ranking that is not human is refused. Nothing is restored.
    from = rec.mark;
    const tinyBase = new Uint8Array(await readFile(join('public', BASE_MODEL_PATH)));
    await send({ type: 'restore', checkpoints: [{ name: 'sft', bytes: tinyBase }] });
    await send({ type: 'restore', rankings: [{ ...rankings[0], source: 'simulated' }] });
    expect(rec.errors(from)).toEqual([expect.stringMatching(/^restore: nothing restored — sft: .*made for another preset/), expect.stringMatching(/^restore: nothing restored — ranking 0: source must be 'human'/)]);
    expect(rec.of('restored', from)).toEqual([]);

    from = rec.mark;
    await send({ type: 'start', stages: ['rm'], humanLabels: true });
    expect(rec.errors(from)).toEqual([expect.stringMatching(/^start: the reward model needs at least 2 of your labels .* you have 0/)]);

    from = rec.mark;
    await send({ type: 'restore', checkpoints: saved, rankings });
    await send({ type: 'restore', rankings }); // again: duplicates are not added twice
    expect(rec.errors(from)).toEqual([]);
    expect(rec.of('restored', from)).toEqual([
      { type: 'restored', checkpoints: ['base', 'sft'], rankings: rankings.length },
      { type: 'restored', checkpoints: [], rankings: rankings.length },
    ]);
    expect(rec.of('labels-stats', from).at(-1)!.count).toBe(rankings.length);

    // The rm stage runs on the restored SFT weights and labels, without pretrain or SFT.
    from = rec.mark;
    await send({ type: 'start', stages: ['rm'], humanLabels: 'replace' });
    expect(rec.errors(from)).toEqual([]);
    expect(rec.of('pipeline-state', from).at(-1)?.state).toBe('done');
    expect(rec.of('checkpoint', from).map((e) => e.name)).toEqual(['reward-model']);
    // checkpoint-data hands over the same bytes as the safetensors export (and the kept copy stays usable).
    from = rec.mark;
    await send({ type: 'checkpoint-data', name: 'reward-model' });
    await send({ type: 'export', format: 'safetensors', model: 'reward-model' });
    await send({ type: 'checkpoint-data', name: 'ppo' });
    const [data] = rec.of('checkpoint-data', from);
    expect(data.name).toBe('reward-model');
    expect(data.bytes).toEqual(rec.of('file', from)[0].bytes);
    expect(rec.errors(from)).toEqual([expect.stringMatching(/^checkpoint-data: there is no ppo checkpoint yet — run the ppo stage first/)]);
    // And sampling for labels uses the restored policy.
    from = rec.mark;
    await send({ type: 'label-request', count: 1 });
    expect(rec.of('label-items', from)[0]).toMatchObject({ policy: 'sft' });
    // A new configuration forgets the items waiting for labels (sampled from the previous one's policy).
    const [{ items: waiting }] = rec.of('label-items', from);
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { ...QUICK, seed: 4, 'ppo.klCoef': 0 } });
    from = rec.mark;
    await send({ type: 'labels', labels: [{ id: waiting[0].id, order: [0, 1] }] });
    expect(rec.errors(from)).toEqual([expect.stringMatching(/no such item to label \(unknown, or labelled already\)/)]);
  });
});

describe('feedback store (the page side, with a fake worker)', () => {
  const item = (id: string, k = 2): LabelItem => ({ id, prompt: `p${id}`, completions: Array.from({ length: k }, (_, i) => `c${id}.${i}`) });

  test('prefer/skip send labels and move on; an empty queue asks for more; events update the state', () => {
    const sent: Command[] = [];
    const store = createFeedbackStore((c) => sent.push(c), { batchSize: 3 });
    const s = () => store.getState();
    s().request();
    s().request(); // one request at a time
    expect(sent).toEqual([{ type: 'label-request', count: 3, k: 2 }]);
    expect(s().requesting).toBe(true);
    s().applyEvent({ type: 'label-items', items: [item('a'), item('b'), item('c', 3)], policy: 'sft' });
    expect(s()).toMatchObject({ requesting: false, policy: 'sft', queue: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });

    s().prefer(1);
    s().skip();
    expect(() => s().prefer(0)).toThrow(/has 3 completions; rank them instead/);
    s().rank([2, 0, 1]);
    expect(sent.slice(1)).toEqual([
      { type: 'labels', labels: [{ id: 'a', order: [1, 0] }] },
      { type: 'labels', labels: [{ id: 'c', order: [2, 0, 1] }] },
      { type: 'label-request', count: 3, k: 2, discard: ['b'] }, // the queue ran dry; b was skipped
    ]);
    expect(s()).toMatchObject({ labelled: 2, skipped: 1, queue: [], requesting: true });

    s().applyEvent({ type: 'labels-stats', count: 2, pairs: 4, goldAgreement: 0.75 });
    expect(s().stats).toEqual({ count: 2, pairs: 4, goldAgreement: 0.75 });
    s().applyEvent({ type: 'error', kind: 'pipeline', message: 'label-request: a run is going — wait' });
    s().applyEvent({ type: 'error', kind: 'pipeline', message: 'ppo stopped' }); // not feedback's
    expect(s()).toMatchObject({ requesting: false, error: 'label-request: a run is going — wait' });

    s().train();
    s().clear();
    expect(sent.slice(-2)).toEqual([{ type: 'start', stages: ['rm'], humanLabels: 'replace' }, { type: 'clear-labels' }]);
    expect(s()).toMatchObject({ labelled: 0, skipped: 0, error: undefined });
  });
});
