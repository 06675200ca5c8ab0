// The feedback store's choice of K and its rankings, against a fake worker: K (2…9, the worker's own limits) goes
// into every label-request, a K out of range is refused with nothing changed, changing K drops the waiting items of
// the other K and asks for new ones, and a ranking (any K) is sent as one `labels` command at once with the order as
// given — a bad order is refused before anything is sent. Prefer is a K = 2 ranking through the same path.
import { describe, expect, test } from 'vitest';
import { createFeedbackStore, MAX_LABEL_K, MIN_LABEL_K } from '../../src/store/feedback';
import type { Command, LabelItem } from '../../src/worker/protocol';

const item = (id: string, k: number): LabelItem => ({ id, prompt: `p${id}`, completions: Array.from({ length: k }, (_, i) => `c${id}.${i}`) });

function fakeWorker(options: Parameters<typeof createFeedbackStore>[1] = {}) {
  const sent: Command[] = [];
  const store = createFeedbackStore((c) => sent.push(c), { batchSize: 2, ...options });
  return { sent, store, s: () => store.getState() };
}

describe('feedback store: K', () => {
  test('K runs 2…9 as the worker allows; out of range (or not an integer) is refused and changes nothing', () => {
    expect([MIN_LABEL_K, MAX_LABEL_K]).toEqual([2, 9]);
    for (const bad of [1, 10, 2.5, Number.NaN]) expect(() => createFeedbackStore(() => {}, { k: bad })).toThrow(RangeError);

    const { sent, s } = fakeWorker({ k: 3 });
    expect(s().k).toBe(3);
    expect(() => s().setK(10)).toThrow(RangeError); // with nothing waiting too
    expect(s().k).toBe(3);
    s().applyEvent({ type: 'label-items', items: [item('a', 3)], policy: 'sft' });
    for (const bad of [0, 1, 10, 2.5, Number.NaN]) {
      expect(() => s().setK(bad)).toThrow(/K \(completions per item\) must be an integer in \[2, 9\]/);
    }
    expect(s()).toMatchObject({ k: 3, queue: [{ id: 'a' }] });
    expect(sent).toEqual([]);
  });

  test('the chosen K goes into each request; a new K drops waiting items of the other K and asks for more', () => {
    const { sent, s } = fakeWorker();
    s().setK(4); // nothing waiting: nothing asked for until requested
    expect(sent).toEqual([]);
    s().request();
    expect(sent).toEqual([{ type: 'label-request', count: 2, k: 4 }]);
    s().applyEvent({ type: 'label-items', items: [item('a', 4), item('b', 4)], policy: 'sft' });

    s().setK(4); // the same K keeps them
    expect(s().queue.map((i) => i.id)).toEqual(['a', 'b']);
    s().setK(9);
    expect(s()).toMatchObject({ k: 9, queue: [], requesting: true, labelled: 0, skipped: 0 });
    expect(sent.slice(1)).toEqual([{ type: 'label-request', count: 2, k: 9, discard: ['a', 'b'] }]); // the worker may offer their prompts again

    // Items of several K waiting (asked for before K changed): those of the new K stay, and nothing more is asked.
    s().applyEvent({ type: 'label-items', items: [item('c', 9), item('d', 2), item('e', 9)], policy: 'ppo' });
    s().setK(2);
    expect(s().queue.map((i) => i.id)).toEqual(['d']);
    expect(sent).toHaveLength(2);
  });

  test('without autoRefill a new K empties the queue and asks for nothing', () => {
    const { sent, s } = fakeWorker({ autoRefill: false });
    s().request();
    s().applyEvent({ type: 'label-items', items: [item('a', 2)], policy: 'base' });
    s().setK(5);
    expect(s()).toMatchObject({ k: 5, queue: [], requesting: false });
    expect(sent).toHaveLength(1);
  });
});

describe('feedback store: items dropped unlabelled', () => {
  test('skipped items and those of another K are named in the next request, once the worker has answered', () => {
    const { sent, s } = fakeWorker({ autoRefill: false });
    s().request();
    s().applyEvent({ type: 'label-items', items: [item('a', 2), item('b', 2), item('c', 3)], policy: 'sft' });
    s().skip(); // a
    s().prefer(0); // b: labelled, not dropped
    s().setK(4); // c (K = 3) dropped
    s().request();
    expect(sent.at(-1)).toEqual({ type: 'label-request', count: 2, k: 4, discard: ['a', 'c'] });
    // Refused: the next request names them again.
    s().applyEvent({ type: 'error', kind: 'pipeline', message: 'label-request: a run is going — wait for it to end (the GPU is busy)' });
    s().request();
    expect(sent.at(-1)).toEqual({ type: 'label-request', count: 2, k: 4, discard: ['a', 'c'] });
    // Answered: the worker forgot them; a later request names only what was dropped since.
    s().applyEvent({ type: 'label-items', items: [item('d', 4)], policy: 'sft' });
    s().skip(); // d
    s().request();
    expect(sent.at(-1)).toEqual({ type: 'label-request', count: 2, k: 4, discard: ['d'] });
    s().applyEvent({ type: 'label-items', items: [item('e', 4)], policy: 'sft' });
    s().request();
    expect(sent.at(-1)).toEqual({ type: 'label-request', count: 2, k: 4 });
  });

  test('an item skipped while a request is on its way is named in the request after its answer', () => {
    const { sent, s } = fakeWorker({ autoRefill: false });
    s().applyEvent({ type: 'label-items', items: [item('a', 2), item('b', 2)], policy: 'sft' });
    s().request(); // more asked for while a and b wait
    s().skip(); // a: dropped after that request went out, so it does not name it
    s().applyEvent({ type: 'label-items', items: [item('c', 2)], policy: 'sft' });
    s().request();
    expect(sent).toEqual([
      { type: 'label-request', count: 2, k: 2 },
      { type: 'label-request', count: 2, k: 2, discard: ['a'] },
    ]);
  });

  test('one request at a time: asking again while one is on its way sends nothing; its answer, a refusal or a new configuration ends the wait', () => {
    const { sent, s } = fakeWorker({ autoRefill: false });
    s().request();
    s().request();
    expect(sent).toHaveLength(1);
    s().applyEvent({ type: 'error', kind: 'pipeline', message: 'label-request: a run is going — wait for it to end (the GPU is busy)' });
    expect(s().requesting).toBe(false);
    s().request();
    s().applyEvent({ type: 'label-items', items: [item('a', 2)], policy: 'sft' });
    expect(s().requesting).toBe(false);
    s().request();
    expect(sent).toHaveLength(3);
    // The configuration changed while that request was on its way: the worker forgot it, so the next one goes out.
    s().applyEvent({ type: 'pipeline-config', config: {} as never, task: {} as never, kept: [] });
    expect(s()).toMatchObject({ queue: [], requesting: false });
    s().request();
    expect(sent).toHaveLength(4);
  });

  test('clearing the labels or a new configuration forgets the dropped items (the worker forgets every item)', () => {
    const { sent, s } = fakeWorker({ autoRefill: false });
    s().applyEvent({ type: 'label-items', items: [item('a', 2), item('b', 2)], policy: 'sft' });
    s().skip();
    s().clear();
    s().request();
    expect(sent.at(-1)).toEqual({ type: 'label-request', count: 2, k: 2 });
    s().applyEvent({ type: 'label-items', items: [item('c', 2)], policy: 'sft' });
    s().skip();
    s().applyEvent({ type: 'pipeline-config', config: {} as never, task: {} as never, kept: [] });
    s().request();
    expect(sent.at(-1)).toEqual({ type: 'label-request', count: 2, k: 2 });
  });
});

describe('feedback store: rankings', () => {
  test('rank sends the order as given, one labels command per judgement at once; the next item follows', () => {
    const { sent, s } = fakeWorker({ k: 4 });
    s().request();
    s().applyEvent({ type: 'label-items', items: [item('a', 4), item('b', 4)], policy: 'sft' });
    const order = [2, 0, 3, 1];
    s().rank(order);
    order.reverse(); // the store sent its own copy
    expect(sent.slice(1)).toEqual([{ type: 'labels', labels: [{ id: 'a', order: [2, 0, 3, 1] }] }]);
    expect(s()).toMatchObject({ labelled: 1, queue: [{ id: 'b' }] });
    s().rank([3, 2, 1, 0]);
    expect(sent.slice(2)).toEqual([
      { type: 'labels', labels: [{ id: 'b', order: [3, 2, 1, 0] }] },
      { type: 'label-request', count: 2, k: 4 }, // the queue ran dry
    ]);
    // Stats count pairs: two rankings of 4 are 2 · C(4, 2) = 12 comparisons.
    s().applyEvent({ type: 'labels-stats', count: 2, pairs: 12, goldAgreement: 0.5 });
    expect(s().stats).toEqual({ count: 2, pairs: 12, goldAgreement: 0.5 });
  });

  test('a bad order is refused before anything is sent, and the item stays', () => {
    const { sent, s } = fakeWorker({ k: 3 });
    s().applyEvent({ type: 'label-items', items: [item('a', 3)], policy: 'sft' });
    for (const bad of [[0, 1], [0, 1, 2, 3], [0, 0, 1], [0, 1, 3], [0, 1, -1], [0, 1, 1.5]]) {
      expect(() => s().rank(bad)).toThrow(/rank: order must list each of the 3 completions' indices 0…2 once/);
    }
    expect(sent).toEqual([]);
    expect(s()).toMatchObject({ labelled: 0, queue: [{ id: 'a' }] });
  });

  test('prefer is a K = 2 ranking through the same command; with nothing waiting rank does nothing', () => {
    const { sent, s } = fakeWorker({ autoRefill: false });
    s().rank([0, 1]);
    expect(sent).toEqual([]);
    s().applyEvent({ type: 'label-items', items: [item('a', 2), item('b', 2)], policy: 'sft' });
    s().prefer(1);
    s().rank([1, 0]);
    expect(sent).toEqual([
      { type: 'labels', labels: [{ id: 'a', order: [1, 0] }] },
      { type: 'labels', labels: [{ id: 'b', order: [1, 0] }] },
    ]);
  });
});
