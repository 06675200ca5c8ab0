// The feedback store wired to the real engine (Dawn on SwiftShader; the tiny preset, whose bundled base model is the
// policy sampled, so nothing needs training first; short completions): with K = 4 the store's label-request brings
// items of 4 completions, a ranking submitted through the store becomes the engine's human ranking in exactly that
// order — seen through the gold agreement, which counts C(4, 2) = 6 pairs per ranking — and a new K drops the
// waiting items of the old one and has the engine sample the new K.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { createNodeRuntime } from '../../src/gpu/node';
import { sentimentGold } from '../../src/rlhf/tasks';
import { createFeedbackStore, type FeedbackStore } from '../../src/store/feedback';
import { createEngine, type Engine } from '../../src/worker/engine';
import type { EngineEvent, LabelItem } from '../../src/worker/protocol';

const SHORT = { seed: 5, 'ppo.maxResponseTokens': 8 };

const gold = (item: LabelItem) => item.completions.map((c) => sentimentGold(item.prompt, c));

/** Of the item's pairs the gold scores do not tie (`untied`), how many `order` (best → worst) puts as gold does. */
function goldAgreeing(item: LabelItem, order: readonly number[]) {
  const g = gold(item);
  let [agree, untied] = [0, 0];
  for (let a = 0; a < order.length; a++) {
    for (let b = a + 1; b < order.length; b++) {
      if (g[order[a]] === g[order[b]]) continue;
      untied++;
      if (g[order[a]] > g[order[b]]) agree++;
    }
  }
  return { agree, untied };
}

/** Of the gold order and its reverse, the one whose agreement differs most from the order as sampled's, so that a
 * ranking lost on the way (sent as sampled) shows. */
function telltaleOrder(item: LabelItem): number[] {
  const g = gold(item);
  const best = g.map((_, i) => i).sort((a, b) => g[b] - g[a] || a - b);
  const sampled = goldAgreeing(item, [0, 1, 2, 3]).agree;
  const distance = (order: number[]) => Math.abs(goldAgreeing(item, order).agree - sampled);
  const worst = best.slice().reverse();
  return distance(best) >= distance(worst) ? best : worst;
}

describe('feedback store on the engine', () => {
  let rt: GpuRuntime;
  let engine: Engine;
  let store: FeedbackStore;
  const errors: string[] = [];
  /** Commands the store sent, still being handled. */
  const handling: Promise<void>[] = [];
  const settle = async () => {
    while (handling.length > 0) await handling.shift();
  };

  beforeAll(async () => {
    rt = await createNodeRuntime();
    const post = (event: EngineEvent) => {
      if (event.type === 'error') errors.push(event.message);
      store.getState().applyEvent(event);
    };
    engine = createEngine(post, { runtime: async () => rt, asset: async (path) => new Uint8Array(await readFile(join('public', path))) });
    store = createFeedbackStore((command) => void handling.push(engine.handle(command)), { batchSize: 2, k: 4 });
    await engine.handle({ type: 'configure', task: 'sentiment', preset: 'tiny', overrides: SHORT });
    expect(errors).toEqual([]);
  });
  afterAll(() => rt?.destroy());

  test('K = 4 items come through the store; its rankings reach the engine in the order given', { timeout: 120_000 }, async () => {
    const s = () => store.getState();
    s().request();
    await settle();
    expect(errors).toEqual([]);
    expect(s().policy).toBe('base');
    expect(s().queue.length).toBeGreaterThanOrEqual(1);
    for (const item of s().queue) expect(item.completions).toHaveLength(4);

    // A ranking whose gold agreement tells it from the order as sampled.
    const [firstItem] = s().queue;
    const firstOrder = telltaleOrder(firstItem);
    const first = goldAgreeing(firstItem, firstOrder);
    expect(first.agree).not.toBe(goldAgreeing(firstItem, [0, 1, 2, 3]).agree);
    s().rank(firstOrder);
    await settle();
    expect(errors).toEqual([]);
    expect(s().stats).toEqual({ count: 1, pairs: 6, goldAgreement: first.agree / first.untied });

    // The next (already waiting, or asked for when the queue ran dry): the pairs add up.
    const [secondItem] = s().queue;
    const secondOrder = telltaleOrder(secondItem);
    const second = goldAgreeing(secondItem, secondOrder);
    s().rank(secondOrder);
    await settle();
    expect(errors).toEqual([]);
    expect(s().stats).toEqual({ count: 2, pairs: 12, goldAgreement: (first.agree + second.agree) / (first.untied + second.untied) });
  });

  test('a new K drops the waiting items and the engine samples the new K', { timeout: 120_000 }, async () => {
    const s = () => store.getState();
    if (s().queue.length === 0) {
      s().request();
      await settle();
    }
    expect(s().queue.length).toBeGreaterThan(0);
    store.getState().setK(3);
    await settle();
    expect(errors).toEqual([]);
    expect(s().queue.length).toBeGreaterThan(0);
    for (const item of s().queue) expect(item.completions).toHaveLength(3);
  });
});
