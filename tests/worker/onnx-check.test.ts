// The engine's side of the ONNX Runtime Web check (src/worker/onnx-check.ts): which policy is checked (the most
// recent trained policy, else SFT, else the pipeline's pretrained base, else the loaded base model); and, in Node on
// Dawn/SwiftShader with onnxruntime-web's Node build in place of the page's ORT worker, the whole exchange: the
// export and the prompt's ids, ONNX Runtime's greedy continuation (src/onnx/ort-greedy.ts), and the engine's answer —
// the same continuation, logits within float32 rounding of ORT's — on the loaded base model and on a checkpoint kept
// at export time (a newer one written meanwhile does not change it); then the refusals.
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { createNodeRuntime } from '../../src/gpu/node';
import { saveCheckpoint } from '../../src/model/checkpoint';
import { tokenizerFromJSON } from '../../src/model/tokenizer';
import { greedyInOrt, largestLogitDifference } from '../../src/onnx/ort-greedy';
import { loadBaseModel } from '../../src/worker/base-model';
import { PipelineCommandError } from '../../src/worker/errors';
import { checkedPolicy, OnnxCheck } from '../../src/worker/onnx-check';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { ENGINE_VS_ORT_LOGITS } from '../helpers/tolerance';
import { nanoModel, testSession } from './fakes';

ort.env.wasm.numThreads = 1;

describe('checkedPolicy', () => {
  test.each([
    [[], undefined],
    [['reward-model'], undefined],
    [['base'], 'base'],
    [['base', 'sft', 'reward-model'], 'sft'],
    [['sft', 'reward-model', 'ppo'], 'ppo'],
    [['sft', 'ppo', 'dpo'], 'dpo'],
    [['sft', 'dpo', 'ppo'], 'ppo'],
    [['sft', 'grpo', 'rloo', 'reward-model'], 'rloo'],
  ])('written %j: %s', (written, expected) => {
    expect(checkedPolicy(written)).toBe(expected);
  });
});

describe('OnnxCheck (engine and ONNX Runtime, Node)', () => {
  let rt: GpuRuntime;
  beforeAll(async () => {
    rt = await createNodeRuntime();
  });
  afterAll(() => rt?.destroy());

  async function setup() {
    const { session, rec } = testSession();
    await loadBaseModel(session, rt);
    let running = false;
    const check = new OnnxCheck(session, async () => rt, () => running);
    return { session, rec, check, setRunning: (r: boolean) => (running = r) };
  }

  /** policy-onnx, ORT's greedy run of its answer, then policy-greedy: both answers and ORT's continuation. */
  async function roundTrip({ rec, check }: Awaited<ReturnType<typeof setup>>, prompt: string, maxNewTokens: number) {
    const from = rec.mark;
    await check.exportPolicy(prompt, maxNewTokens);
    const [exported] = rec.of('policy-onnx', from);
    const onnx = await greedyInOrt(ort, exported);
    await check.greedy(onnx.ids);
    const [engine] = rec.of('policy-greedy', from);
    expect(rec.errors(from)).toEqual([]);
    return { exported, onnx, engine };
  }

  test('the loaded base model: the same greedy continuation in both, logits within float32 rounding', async () => {
    const s = await setup();
    const { exported, onnx, engine } = await roundTrip(s, 'Once upon a time', 24);
    const tokenizer = s.session.loaded!.tokenizer;
    expect(exported.model).toBeUndefined();
    expect(exported.tokens).toEqual([tokenizer.special.bos, ...tokenizer.encode('Once upon a time')]);
    expect([exported.maxNewTokens, exported.eos]).toEqual([24, tokenizer.special.eos]);
    expect(engine.model).toBeUndefined();
    expect(onnx.ids.length).toBeGreaterThan(0);
    expect(engine.ids).toEqual(onnx.ids);
    expect(engine.text).toBe(engine.continuationText);
    expect(engine.text).toBe(tokenizer.decode(onnx.ids, { specials: 'drop' }));
    expect(engine.logits.length).toBe(onnx.ids.length * 1024);
    const largest = largestLogitDifference(onnx.logits, engine.logits, 1024);
    expect(largest.difference).toBeLessThan(ENGINE_VS_ORT_LOGITS);
    // A continuation other than the engine's own: its text is of the ids sent, the engine's text stays its own.
    const other = Array.from(tokenizer.encode(' the end'));
    const from = s.rec.mark;
    await s.check.greedy(other);
    const [answer] = s.rec.of('policy-greedy', from);
    expect(answer.continuationText).toBe(tokenizer.decode(other, { specials: 'drop' }));
    expect(answer.ids).toEqual(engine.ids);
    expect(answer.text).toBe(engine.text);
    expect(answer.logits.length).toBe(other.length * 1024);
  });

  test('a trained policy checkpoint: checked as exported, even when a newer one is written before policy-greedy', async () => {
    const s = await setup();
    const nano = await nanoModel();
    const policy = (seed: number) => saveCheckpoint(randomGptWeights(nano.config, seed, 0.3), nano.config, nano.tokenizerJson);
    s.session.checkpoints.set('sft', policy(1));
    s.session.checkpoints.set('ppo', policy(2));
    const from = s.rec.mark;
    await s.check.exportPolicy('Hi', 40);
    const [exported] = s.rec.of('policy-onnx', from);
    expect(exported.model).toBe('ppo');
    expect(exported.maxNewTokens).toBe(nano.config.contextLength - exported.tokens.length); // what the context leaves
    const onnx = await greedyInOrt(ort, exported);
    s.session.checkpoints.set('dpo', policy(3));
    await s.check.greedy(onnx.ids);
    const [engine] = s.rec.of('policy-greedy', from);
    expect(engine.model).toBe('ppo');
    expect(engine.ids).toEqual(onnx.ids);
    expect(engine.continuationText).toBe(tokenizerFromJSON(nano.tokenizerJson).decode(onnx.ids, { specials: 'drop' }));
    expect(largestLogitDifference(onnx.logits, engine.logits, nano.config.vocabSize).difference).toBeLessThan(ENGINE_VS_ORT_LOGITS);
  });

  test('refusals: policy-greedy first, a continuation out of range, a prompt the context cannot hold, a run going', async () => {
    const s = await setup();
    const refused = (p: Promise<void>, message: string) => expect(p).rejects.toThrow(new PipelineCommandError(message));
    await refused(s.check.greedy([1]), 'policy-greedy: no policy was exported for the check yet — send policy-onnx first');
    await s.check.exportPolicy('A', 4);
    await refused(s.check.greedy([]), 'policy-greedy: the continuation must be an array of 1 to 4 token ids');
    await refused(s.check.greedy([1, 2, 3, 4, 5]), 'policy-greedy: the continuation must be an array of 1 to 4 token ids');
    await refused(s.check.greedy([1, 1024]), 'policy-greedy: continuation token 1 is 1024, not an id of the vocabulary 0..1023');
    await refused(s.check.exportPolicy('A', 0), 'policy-onnx: maxNewTokens must be a positive integer, got 0');
    const long = 'ab '.repeat(200);
    const withBos = s.session.loaded!.tokenizer.encode(long).length + 1;
    await refused(s.check.exportPolicy(long, 8), `policy-onnx: the prompt is ${withBos} tokens with BOS, and the context holds 128: shorten it`);
    // At the edge: a prompt that fills the context leaves no room, one token less leaves room for exactly one.
    const tokenizer = s.session.loaded!.tokenizer;
    const fits = (n: number) =>
      ['a', ' a', ' ab', '.', ' the', 'x ']
        .flatMap((unit) => Array.from({ length: 2 * n }, (_, i) => unit.repeat(i + 1)))
        .find((text) => tokenizer.encode(text).length + 1 === n);
    const [full, oneLess] = [fits(128), fits(127)];
    expect(full && oneLess).toBeTruthy();
    await refused(s.check.exportPolicy(full!, 8), 'policy-onnx: the prompt is 128 tokens with BOS, and the context holds 128: shorten it');
    const from = s.rec.mark;
    await s.check.exportPolicy(oneLess!, 8);
    expect(s.rec.of('policy-onnx', from)).toMatchObject([{ maxNewTokens: 1 }]);
    s.setRunning(true);
    await refused(s.check.exportPolicy('A', 4), 'policy-onnx: a run is going — wait for it to end (the GPU is busy)');
    await refused(s.check.greedy([1]), 'policy-greedy: a run is going — wait for it to end (the GPU is busy)');
  });
});
