// The worker's restore module on the CPU, with checkpoints of the nano preset built here and a stand-in pipeline: a
// saved checkpoint must be of a known name, the preset's architecture and the head its name says; the request is all
// or nothing (rankings checked before the pipeline is even asked for); what is restored becomes the pipeline's weights
// and the session's kept checkpoints (copies), the rankings join the human ones without duplicates, and the answer is
// `restored`, then the labels' stats.
import { describe, expect, test } from 'vitest';
import type { Pipeline } from '../../src/rlhf/pipeline';
import type { Ranking } from '../../src/rlhf/preferences';
import { Feedback } from '../../src/worker/feedback';
import { BASE_MODEL_PATH } from '../../src/worker/protocol';
import { restore, savedWeights } from '../../src/worker/restore';
import { checkpointBytes, filledWeights, nanoModel, publicAsset, testSession } from './fakes';

const human = (prompt: string): Ranking => ({ prompt, completions: ['yes', 'no'], source: 'human' });

describe('savedWeights', () => {
  test('the weights of a checkpoint that fits; else what does not', async () => {
    const nano = await nanoModel();
    const want = nano.config;
    expect(savedWeights('sft', checkpointBytes(nano, 0.5), want)).toEqual({ weights: filledWeights(want, 0.5) });
    expect(savedWeights('reward-model', checkpointBytes(nano, 0.5, 'score'), want)).toEqual({ weights: filledWeights(want, 0.5, 'score') });
    expect(savedWeights('policy', checkpointBytes(nano, 0), want)).toEqual({ problem: 'unknown checkpoint "policy" (known: base, sft, reward-model, ppo, dpo)' });
    expect(savedWeights('sft', await publicAsset(BASE_MODEL_PATH), want)).toEqual({ problem: expect.stringMatching(/^sft: contextLength 128 ≠ 32, nLayer 4 ≠ 2, .* — it was made for another preset$/) });
    expect(savedWeights('ppo', checkpointBytes(nano, 0, 'score'), want)).toEqual({ problem: 'ppo: has a score head, expected none (the LM head)' });
    expect(savedWeights('reward-model', checkpointBytes(nano, 0), want)).toEqual({ problem: 'reward-model: has no head, expected a score' });
    expect(savedWeights('base', new Uint8Array([1, 2, 3]), want)).toEqual({ problem: expect.stringMatching(/^base: /) });
  });
});

describe('restore', () => {
  async function setup() {
    const nano = await nanoModel();
    const { session, rec } = testSession();
    const pipeline = { modelConfig: nano.config, weights: {} } as unknown as Pipeline;
    const asked: string[] = [];
    const ensure = async (who: string) => {
      asked.push(who);
      return pipeline;
    };
    const feedback = new Feedback(session, ensure, () => false);
    return { nano, session, rec, pipeline, asked, run: (saved: { name: string; bytes: Uint8Array }[], rankings: Ranking[] = []) => restore(session, feedback, ensure, saved, rankings) };
  }

  test('a bad ranking refuses the request before the pipeline is asked for; a bad checkpoint refuses it all', async () => {
    const { nano, session, rec, pipeline, asked, run } = await setup();
    const good = { name: 'sft', bytes: checkpointBytes(nano, 0.1) };
    await expect(run([good], [human('a'), { ...human('b'), source: 'simulated' }])).rejects.toThrow(`restore: nothing restored — ranking 1: source must be 'human', got "simulated"`);
    expect(asked).toEqual([]);
    await expect(run([good, { name: 'ppo', bytes: checkpointBytes(nano, 0, 'score') }, { name: 'x', bytes: good.bytes }], [human('a')])).rejects.toThrow(
      'restore: nothing restored — ppo: has a score head, expected none (the LM head); unknown checkpoint "x" (known: base, sft, reward-model, ppo, dpo)',
    );
    expect([pipeline.weights, session.checkpoints.size, session.human, rec.events]).toEqual([{}, 0, [], []]);
  });

  test('checkpoints become the weights and kept copies, rankings join once; answered by restored and the stats', async () => {
    const { nano, session, rec, pipeline, asked, run } = await setup();
    const saved = [
      { name: 'base', bytes: checkpointBytes(nano, 0.1) },
      { name: 'reward-model', bytes: checkpointBytes(nano, 0.2, 'score') },
    ];
    await run(saved, [human('a'), human('b')]);
    expect(asked).toEqual(['restore']);
    expect(Object.keys(pipeline.weights)).toEqual(['base', 'reward-model']);
    expect(pipeline.weights['reward-model']).toEqual(filledWeights(nano.config, 0.2, 'score'));
    expect([...session.checkpoints.keys()]).toEqual(['base', 'reward-model']);
    expect(session.checkpoints.get('base')!.buffer === saved[0].bytes.buffer).toBe(false);
    expect(rec.events).toEqual([
      { type: 'restored', checkpoints: ['base', 'reward-model'], rankings: 2 },
      { type: 'labels-stats', count: 2, pairs: 2, goldAgreement: null },
    ]);

    // Rankings alone (none of them new): no pipeline needed, nothing added twice.
    await run([], [human('b')]);
    expect(asked).toHaveLength(1);
    expect(rec.events.slice(2)).toEqual([
      { type: 'restored', checkpoints: [], rankings: 2 },
      { type: 'labels-stats', count: 2, pairs: 2, goldAgreement: null },
    ]);
  });
});
