// The worker's restore module on the CPU, with checkpoints of the nano preset built here and a stand-in pipeline: a
// saved checkpoint must be of a known name, the preset's architecture, the head its name says and the pipeline's
// tokenizer, its weights finite; the request is all
// or nothing (rankings checked before the pipeline is even asked for); what is restored becomes the pipeline's weights
// and the session's kept checkpoints (copies), the rankings join the human ones without duplicates, and the answer is
// `restored`, then the labels' stats.
import { describe, expect, test } from 'vitest';
import { joinMembers, saveCheckpoint } from '../../src/model/checkpoint';
import { BpeTokenizer } from '../../src/model/bpe-tokenizer';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { tokenizerFromJSON } from '../../src/model/tokenizer';
import type { BpeTokenizerJSON } from '../../src/model/tokenizer-base';
import type { Pipeline } from '../../src/rlhf/pipeline';
import type { Ranking } from '../../src/rlhf/preferences';
import { CHECKPOINT_NAMES } from '../../src/rlhf/stages';
import { Feedback } from '../../src/worker/feedback';
import { BASE_MODEL_PATH } from '../../src/worker/protocol';
import { restore, savedWeights } from '../../src/worker/restore';
import { checkpointBytes, filledWeights, nanoModel, publicAsset, testSession } from './fakes';

const human = (prompt: string): Ranking => ({ prompt, completions: ['yes', 'no'], source: 'human' });

/** What restore reads of a nano pipeline: its architecture and its tokenizer (the bundled one). */
const nanoPipeline = (nano: Awaited<ReturnType<typeof nanoModel>>) => ({ modelConfig: nano.config, tokenizer: tokenizerFromJSON(nano.tokenizerJson) });

/** A character tokenizer with `vocabSize` ids (5 specials, then code points from U+0100): the BPE's size, other tokens. */
const charTokenizerOfSize = (vocabSize: number) => CharTokenizer.fromText(String.fromCodePoint(...Array.from({ length: vocabSize - 5 }, (_, i) => 0x100 + i)));

describe('savedWeights', () => {
  test('the weights of a checkpoint that fits; else what does not', async () => {
    const nano = await nanoModel();
    const want = nanoPipeline(nano);
    expect(savedWeights('sft', checkpointBytes(nano, 0.5), want)).toEqual({ weights: filledWeights(nano.config, 0.5) });
    expect(savedWeights('reward-model', checkpointBytes(nano, 0.5, 'score'), want)).toEqual({ weights: filledWeights(nano.config, 0.5, 'score') });
    expect(savedWeights('policy', checkpointBytes(nano, 0), want)).toEqual({ problem: `unknown checkpoint "policy" (known: ${CHECKPOINT_NAMES.join(', ')})` });
    expect(savedWeights('sft', await publicAsset(BASE_MODEL_PATH), want)).toEqual({ problem: expect.stringMatching(/^sft: contextLength 128 ≠ 32, nLayer 4 ≠ 2, .* — it was made for another preset$/) });
    expect(savedWeights('ppo', checkpointBytes(nano, 0, 'score'), want)).toEqual({ problem: 'ppo: has a score head, expected none (the LM head)' });
    expect(savedWeights('reward-model', checkpointBytes(nano, 0), want)).toEqual({ problem: 'reward-model: has no head, expected a score' });
    expect(savedWeights('base', new Uint8Array([1, 2, 3]), want)).toEqual({ problem: expect.stringMatching(/^base: /) });
  });

  test("the ensemble's checkpoint: its members (score heads, member<i>/ names), and nothing else under its name", async () => {
    const nano = await nanoModel();
    const want = nanoPipeline(nano);
    const members = [filledWeights(nano.config, 0.25, 'score'), filledWeights(nano.config, 0.5, 'score')];
    const ensemble = saveCheckpoint(joinMembers(members), nano.config, nano.tokenizerJson);
    expect(savedWeights('reward-ensemble', ensemble, want)).toEqual({ weights: joinMembers(members) });
    expect(savedWeights('reward-ensemble', checkpointBytes(nano, 0.5, 'score'), want)).toEqual({ problem: 'reward-ensemble: holds one model, expected an ensemble of 2 or more (weights member<i>/…)' });
    const single = saveCheckpoint(joinMembers([members[0]]), nano.config, nano.tokenizerJson);
    expect(savedWeights('reward-ensemble', single, want)).toEqual({ problem: 'reward-ensemble: holds one model, expected an ensemble of 2 or more (weights member<i>/…)' });
    expect(savedWeights('reward-model', ensemble, want)).toEqual({ problem: 'reward-model: holds 2 models, expected one' });
    const policies = saveCheckpoint(joinMembers([filledWeights(nano.config, 0.5), filledWeights(nano.config, 0.5)]), nano.config, nano.tokenizerJson);
    expect(savedWeights('reward-ensemble', policies, want)).toEqual({ problem: 'reward-ensemble: has no head, expected a score' });
  });

  test('a weight that is not finite: refused, naming the tensor, the flat index and the value', async () => {
    const nano = await nanoModel();
    const weights = filledWeights(nano.config, 0.5);
    weights['h.1.mlp.c_fc.weight'][5] = NaN;
    expect(savedWeights('sft', saveCheckpoint(weights, nano.config, nano.tokenizerJson), nanoPipeline(nano))).toEqual({
      problem: expect.stringMatching(/^sft: checkpoint: tensor transformer\.h\.1\.mlp\.c_fc\.weight holds NaN at flat index 5: every weight must be finite/),
    });
  });

  test("another tokenizer of the same size: refused, naming both and the difference; none recorded: refused", async () => {
    const nano = await nanoModel();
    const want = nanoPipeline(nano);
    const ours = `the pipeline uses the 'bpe-${nano.config.vocabSize}' #[0-9a-f]{8}`;
    const withTokenizer = (tokenizerJson: unknown, extra: Record<string, string> = {}) => saveCheckpoint(filledWeights(nano.config, 0.5), nano.config, tokenizerJson, extra);
    const chars = charTokenizerOfSize(nano.config.vocabSize);
    const run = { 'rlhf_lab.pipeline': JSON.stringify({ task: 'sentiment', stage: 'sft', seed: 1 }) };
    expect(savedWeights('sft', withTokenizer(chars.toJSON(), run), want)).toEqual({
      problem: expect.stringMatching(new RegExp(`^sft: this checkpoint's tokenizer is the 'char-${nano.config.vocabSize}' #[0-9a-f]{8} of task "sentiment"; ${ours} \\(char ≠ bpe\\) — the same architecture, but its token ids mean other text$`)),
    });
    // The same BPE size, its last merge another pair.
    const bundled = nano.tokenizerJson as BpeTokenizerJSON;
    const last = nano.config.vocabSize - 1;
    const merges = [...bundled.merges.slice(0, -1), [255, last - 1] as [number, number]];
    const other = BpeTokenizer.fromJSON({ ...bundled, merges });
    expect(savedWeights('sft', withTokenizer(other.toJSON()), want)).toEqual({
      problem: expect.stringMatching(new RegExp(`^sft: this checkpoint's tokenizer is the 'bpe-${nano.config.vocabSize}' #[0-9a-f]{8}; ${ours} \\(id ${last} is .+ ≠ .+\\) — the same architecture`)),
    });
    expect(savedWeights('sft', withTokenizer(undefined), want)).toEqual({
      problem: expect.stringMatching(new RegExp(`^sft: it records no tokenizer \\(no "rlhf_lab.tokenizer" in its metadata\\), so its token ids cannot be checked; ${ours}$`)),
    });
    expect(savedWeights('sft', withTokenizer({ kind: 'wordpiece' }), want)).toEqual({ problem: 'sft: invalid tokenizer JSON: "kind" must be "char", "bpe" or "gpt2", got "wordpiece"' });
  });
});

describe('restore', () => {
  async function setup() {
    const nano = await nanoModel();
    const { session, rec } = testSession();
    const pipeline = { ...nanoPipeline(nano), weights: {} } as unknown as Pipeline;
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
      `restore: nothing restored — ppo: has a score head, expected none (the LM head); unknown checkpoint "x" (known: ${CHECKPOINT_NAMES.join(', ')})`,
    );
    expect([pipeline.weights, session.checkpoints.size, session.human, rec.events]).toEqual([{}, 0, [], []]);
  });

  test('a weight that is not finite or another tokenizer refuses it all: no `restored`, which the page waits for to say "Loaded"', async () => {
    const { nano, session, rec, pipeline, run } = await setup();
    const weights = filledWeights(nano.config, 0.1);
    weights.wpe[3] = Infinity;
    await expect(run([{ name: 'sft', bytes: saveCheckpoint(weights, nano.config, nano.tokenizerJson) }])).rejects.toThrow(
      /^restore: nothing restored — sft: checkpoint: tensor transformer\.wpe\.weight holds Infinity at flat index 3: /,
    );
    const chars = saveCheckpoint(filledWeights(nano.config, 0.1), nano.config, charTokenizerOfSize(nano.config.vocabSize).toJSON());
    await expect(run([{ name: 'ppo', bytes: chars }])).rejects.toThrow(/^restore: nothing restored — ppo: this checkpoint's tokenizer is the 'char-\d+' #[0-9a-f]{8}; the pipeline uses/);
    expect([pipeline.weights, session.checkpoints.size, rec.events]).toEqual([{}, 0, []]);
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
