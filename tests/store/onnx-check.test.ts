// The ONNX check's store against a fake worker and a fake ONNX Runtime: `check` asks for the export, ONNX Runtime's
// continuation goes back as `policy-greedy`, and the result compares the two (the policy, both texts, where they first
// differ, the largest logit difference and its step); ONNX Runtime failing, the check's own refusals and a lost engine
// end it with their message, while other commands' errors, late answers and a second check while one goes change nothing.
import { describe, expect, test } from 'vitest';
import type { GreedyContinuation, GreedyRequest } from '../../src/onnx/ort-greedy';
import { createOnnxCheckStore, ONNX_CHECK_TOKENS } from '../../src/store/onnx-check';
import type { Command, EngineEvent } from '../../src/worker/protocol';

const V = 3;
const EXPORTED: Extract<EngineEvent, { type: 'policy-onnx' }> = { type: 'policy-onnx', model: 'ppo', onnx: Uint8Array.of(8, 1), tokens: [0, 5], maxNewTokens: 3, eos: 1 };

/** A store whose ONNX Runtime answers (or fails) when the test says. */
function fakes() {
  const sent: Command[] = [];
  const runs: { request: GreedyRequest; resolve: (c: GreedyContinuation) => void; reject: (e: Error) => void }[] = [];
  const store = createOnnxCheckStore(
    (c) => sent.push(c),
    (request) => new Promise((resolve, reject) => runs.push({ request, resolve, reject })),
  );
  return { sent, runs, s: () => store.getState() };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** ONNX Runtime's continuation [2, 0, 1] with logits 0, 1, 2, … */
const ORT: GreedyContinuation = { ids: [2, 0, 1], logits: Float32Array.from({ length: 3 * V }, (_, i) => i) };

function engineAnswer(ids: number[], changes: Record<number, number> = {}): Extract<EngineEvent, { type: 'policy-greedy' }> {
  const logits = ORT.logits.map((x, i) => x + (changes[i] ?? 0));
  return { type: 'policy-greedy', model: 'ppo', ids, text: `engine ${ids}`, continuationText: 'onnx text', logits };
}

/** A check through ONNX Runtime's answer: the store now waits for the engine's side. */
async function toEngine() {
  const f = fakes();
  f.s().check('Hi');
  f.s().applyEvent(EXPORTED);
  f.runs[0].resolve(ORT);
  await settle();
  return f;
}

describe('ONNX check store', () => {
  test('check → policy-onnx; its answer runs in ONNX Runtime; its continuation → policy-greedy; a second check waits', async () => {
    const { sent, runs, s } = fakes();
    s().check('Hi');
    expect(sent).toEqual([{ type: 'policy-onnx', prompt: 'Hi', maxNewTokens: ONNX_CHECK_TOKENS }]);
    expect(s().status).toEqual({ state: 'exporting', prompt: 'Hi' });
    s().check('again');
    expect(sent.length).toBe(1);
    s().applyEvent(EXPORTED);
    expect(s().status.state).toBe('onnx-runtime');
    expect(runs.map((r) => r.request)).toEqual([{ onnx: EXPORTED.onnx, tokens: [0, 5], maxNewTokens: 3, eos: 1 }]);
    runs[0].resolve(ORT);
    await settle();
    expect(s().status.state).toBe('engine');
    expect(sent[1]).toEqual({ type: 'policy-greedy', continuation: [2, 0, 1] });
  });

  test('the same continuation: the result names the policy, both texts and the largest logit difference with its step', async () => {
    const { s } = await toEngine();
    s().applyEvent(engineAnswer([2, 0, 1], { 1: 2 ** -20, 4: -(2 ** -15), 8: 2 ** -16 })); // exact in float32
    const { status } = s();
    expect(status.state).toBe('done');
    if (status.state !== 'done') return;
    expect(status.result).toMatchObject({ model: 'ppo', prompt: 'Hi', onnx: { ids: [2, 0, 1], text: 'onnx text' }, engine: { ids: [2, 0, 1], text: 'engine 2,0,1' }, firstDifference: undefined });
    expect(status.result.largest).toEqual({ difference: 2 ** -15, step: 1 });
  });

  test('continuations that differ: where they first do (a shorter one too)', async () => {
    for (const [ids, at] of [
      [[2, 1, 1], 1],
      [[2, 0], 2],
      [[2, 0, 1, 1], 3],
    ] as const) {
      const { s } = await toEngine();
      s().applyEvent(engineAnswer([...ids]));
      expect(s().status).toMatchObject({ state: 'done', result: { firstDifference: at, largest: { difference: 0 } } });
    }
  });

  test('ONNX Runtime failing ends the check with its message; a late engine answer changes nothing; a new check can start', async () => {
    const { sent, runs, s } = fakes();
    s().check('Hi');
    s().applyEvent(EXPORTED);
    runs[0].reject(new Error('ONNX Runtime Web could not be loaded: 404'));
    await settle();
    expect(s().status).toEqual({ state: 'failed', message: 'ONNX Runtime Web could not be loaded: 404' });
    s().applyEvent(engineAnswer([2, 0, 1]));
    expect(s().status.state).toBe('failed');
    expect(sent.map((c) => c.type)).toEqual(['policy-onnx']);
    s().check('Hi');
    expect(s().status.state).toBe('exporting');
  });

  test("the check's refusals and a lost engine end it; other commands' errors, and errors with no check going, do not", async () => {
    const { s } = await toEngine();
    s().applyEvent({ type: 'error', kind: 'pipeline', message: 'label-request: a run is going' });
    s().applyEvent({ type: 'error', kind: 'config', message: 'the pipeline configuration was refused: x', problems: [] });
    expect(s().status.state).toBe('engine');
    s().applyEvent({ type: 'error', kind: 'pipeline', message: 'policy-greedy: a run is going — wait for it to end (the GPU is busy)' });
    expect(s().status).toEqual({ state: 'failed', message: 'policy-greedy: a run is going — wait for it to end (the GPU is busy)' });

    const lost = fakes();
    lost.s().applyEvent({ type: 'error', kind: 'device-lost', message: 'before any check' });
    expect(lost.s().status).toEqual({ state: 'idle' });
    lost.s().check('Hi');
    lost.s().applyEvent({ type: 'error', kind: 'device-lost', message: 'The GPU device was lost' });
    expect(lost.s().status).toEqual({ state: 'failed', message: 'The GPU device was lost' });
  });
});
