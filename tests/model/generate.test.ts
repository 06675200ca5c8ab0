import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { makeConfig } from '../../src/model/config';
import { generate, type GenerateOptions, type GenerateResult, generateText } from '../../src/model/generate';
import { GPT } from '../../src/model/gpt';
import { gptForward } from '../../src/reference/gpt';
import { sampleForward, sampleUniform } from '../../src/reference/sample';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { gpuTest } from '../helpers/gpu';
import { integers } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

const nano = makeConfig('nano');
// N(0, 0.3²) weights: peaked-but-not-degenerate next-token distributions, so sampling settings matter.
const weights = randomGptWeights(nano, 7, 0.3);
// Ragged prompts: lengths 5, 1 and 9; with 20 new tokens the longest row fills 29 of the 32 positions.
const prompts = [integers(5, nano.vocabSize, 1), integers(1, nano.vocabSize, 2), integers(9, nano.vocabSize, 3)];
const MAX_NEW = 20;

// GPU logits match the float64 reference GPT to ~5e-5 absolute (tests/model/gpt.test.ts); a log-softmax adds the
// error of the log-sum-exp (of the same order), divided by τ ≥ 0.7 here: 3e-4 absolute covers it with margin.
const LOGPROB = { atol: 3e-4, rtol: 1e-4 };
// A reference draw can only disagree with the GPU's when f32 logits move it across a boundary: with logits good
// to ~5e-5 the probabilities are good to ~1e-4 relative, so the CDF's boundaries move by ≲ 1e-4 of its mass; draws
// nearer a boundary than 3× that are not compared (about one in ten here: mostly low-probability tokens, whose
// whole CDF interval is that narrow).
const MARGIN = 3e-4;

async function withModel<R>(rt: GpuRuntime, f: (model: GPT) => Promise<R>): Promise<R> {
  const model = GPT.create(rt, nano, { weights });
  try {
    return await f(model);
  } finally {
    model.dispose();
  }
}

/** Each row's full sequence (prompt + generated ids) and the reference logits over it (float64 GPT). */
function referenceLogits(prompt: ArrayLike<number>, ids: ArrayLike<number>): { seq: Uint32Array; logits: Float64Array } {
  const seq = Uint32Array.from([...Array.from(prompt), ...Array.from(ids)]);
  return { seq, logits: gptForward(nano, weights, seq, 1, seq.length) };
}

/**
 * Checks a result against the float64 reference GPT and the reference sampler: every logprob is
 * log softmax(logits/τ)[id] of the reference logits, and every draw is the reference sampler's for the same
 * uniform (seed, row, position), except draws within MARGIN of a boundary. Returns how many draws were compared.
 */
function checkAgainstReference(result: GenerateResult, o: Omit<GenerateOptions, 'prompts' | 'maxNewTokens'>, rows = prompts): number {
  const V = nano.vocabSize;
  const tau = o.temperature ?? 1;
  let compared = 0;
  rows.forEach((prompt, b) => {
    const { seq, logits } = referenceLogits(prompt, result.ids[b]);
    const expected = new Float64Array(result.ids[b].length);
    for (let i = 0; i < result.ids[b].length; i++) {
      const q = prompt.length + i; // position of the sampled token; its logits are at q − 1
      const row = logits.subarray((q - 1) * V, q * V);
      const r = sampleForward(row, V, sampleUniform(o.seed ?? 0, b, q), { temperature: tau, topK: o.topK, topP: o.topP });
      if (r.margin > MARGIN) {
        expect(seq[q], `row ${b} token ${i}: the reference sampler's draw (margin ${r.margin.toExponential(2)})`).toBe(r.id);
        compared++;
      }
      const t = tau === 0 ? 1 : tau;
      const M = Math.max(...row);
      let S = 0;
      for (const z of row) S += Math.exp((z - M) / t);
      expected[i] = (row[seq[q]] - M) / t - Math.log(S);
    }
    expectClose(result.logprobs[b], expected, LOGPROB, `row ${b} logprobs vs log_softmax of the reference logits`);
  });
  return compared;
}

describe('generate (nano, seeded weights, 3 ragged prompts)', () => {
  const settings: Omit<GenerateOptions, 'prompts' | 'maxNewTokens'>[] = [
    { temperature: 1, seed: 11 },
    { temperature: 0.7, topK: 8, topP: 0.9, seed: 12 },
  ];
  for (const o of settings) {
    gpuTest(`cached and full-context sampling give the same tokens, matching the reference sampler: ${JSON.stringify(o)}`, async ({ rt }) => {
      await withModel(rt, async (model) => {
        const cached = await generate(model, { ...o, prompts, maxNewTokens: MAX_NEW, stepsPerSubmit: 7 });
        const full = await generate(model, { ...o, prompts, maxNewTokens: MAX_NEW, useCache: false, stepsPerSubmit: 7 });
        for (let b = 0; b < prompts.length; b++) {
          expect(cached.ids[b].length, `row ${b} length`).toBe(MAX_NEW);
          expect(Array.from(cached.ids[b]), `row ${b}: cached vs full-context tokens`).toEqual(Array.from(full.ids[b]));
          // Both are f32 logits of the same model by different kernels: ~1e-5 apart.
          expectClose(cached.logprobs[b], full.logprobs[b], { atol: 1e-4, rtol: 1e-4 }, `row ${b}: cached vs full-context logprobs`);
        }
        expect(cached.finished).toEqual([false, false, false]);
        const compared = checkAgainstReference(cached, o);
        expect(compared, 'draws compared with the reference sampler').toBeGreaterThan(0.8 * prompts.length * MAX_NEW);
        // Sampling actually samples: not every row is the greedy continuation.
        const greedy = await generate(model, { prompts, maxNewTokens: MAX_NEW, temperature: 0 });
        expect(greedy.ids.some((ids, b) => ids.some((id, i) => id !== cached.ids[b][i]))).toBe(true);
      });
    });
  }

  gpuTest('greedy decoding (temperature 0) follows the argmax of the reference GPT’s logits, both paths', async ({ rt }) => {
    await withModel(rt, async (model) => {
      for (const useCache of [true, false]) {
        const result = await generate(model, { prompts, maxNewTokens: MAX_NEW, temperature: 0, useCache, seed: 3 });
        prompts.forEach((prompt, b) => {
          const { seq, logits } = referenceLogits(prompt, result.ids[b]);
          const V = nano.vocabSize;
          for (let i = 0; i < MAX_NEW; i++) {
            const q = prompt.length + i;
            const row = Array.from(logits.subarray((q - 1) * V, q * V));
            const best = row.indexOf(Math.max(...row));
            const second = Math.max(...row.filter((_, j) => j !== best));
            if (row[best] - second > 1e-4) expect(seq[q], `useCache=${useCache} row ${b} token ${i}`).toBe(best);
          }
        });
        checkAgainstReference(result, { temperature: 0 });
      }
    });
  });

  gpuTest('a row generates what it would alone: ragged batching does not change its tokens', async ({ rt }) => {
    await withModel(rt, async (model) => {
      const o = { maxNewTokens: 12, temperature: 0.9, seed: 5 };
      const batch = await generate(model, { ...o, prompts });
      // The RNG is indexed by the row, so row 0 alone draws the same uniforms as row 0 of the batch.
      const alone = await generate(model, { ...o, prompts: [prompts[0]] });
      expect(Array.from(alone.ids[0])).toEqual(Array.from(batch.ids[0]));
      expectClose(alone.logprobs[0], batch.logprobs[0], { atol: 1e-5, rtol: 1e-5 }, 'row 0 alone vs in the batch');
      // With its stream given, any row does too, anywhere in any batch: the last row alone, the batch reversed.
      const last = await generate(model, { ...o, prompts: [prompts[2]], streams: [[o.seed, 2]] });
      expect(Array.from(last.ids[0])).toEqual(Array.from(batch.ids[2]));
      const reversed = await generate(model, { ...o, prompts: prompts.slice().reverse(), streams: [2, 1, 0].map((b) => [o.seed, b] as const) });
      expect(reversed.ids.map((ids) => Array.from(ids)).reverse()).toEqual(batch.ids.map((ids) => Array.from(ids)));
      await expect(generate(model, { ...o, prompts, streams: [[1, 0]] })).rejects.toThrow(/generate: 1 streams for 3 prompts/);
      await expect(generate(model, { ...o, prompts, streams: [[1, 0], [1, -1], [1, 2]] })).rejects.toThrow(/generate: stream 1 must be two u32s, got \[1, -1\]/);
    });
  });

  gpuTest('EOS stops a row (included in its output) and generation once every row has stopped', async ({ rt }) => {
    await withModel(rt, async (model) => {
      const o = { maxNewTokens: MAX_NEW, temperature: 1, seed: 21 };
      const free = await generate(model, { ...o, prompts });
      const eos = free.ids[0][3]; // row 0's fourth token: row 0 must stop at its first occurrence
      // (EOS handling is shared by both paths; the tests above show they produce the same tokens.)
      const stopped = await generate(model, { ...o, prompts, eos, stepsPerSubmit: 3 });
      prompts.forEach((_, b) => {
        const at = free.ids[b].indexOf(eos);
        const n = at >= 0 ? at + 1 : MAX_NEW;
        expect(stopped.finished[b], `row ${b} finished`).toBe(at >= 0);
        expect(Array.from(stopped.ids[b]), `row ${b} ids`).toEqual(Array.from(free.ids[b].subarray(0, n)));
        expectClose(stopped.logprobs[b], free.logprobs[b].subarray(0, n), { atol: 0, rtol: 0 }, `row ${b} logprobs`);
      });
      expect(stopped.finished[0]).toBe(true);
      expect(stopped.ids[0].length).toBeLessThanOrEqual(4);
      // Identical greedy rows all stop at step 2: with 2 steps per submit, one submit is all it takes.
      const same = [prompts[2], prompts[2], prompts[2]];
      const g = await generate(model, { prompts: same, maxNewTokens: MAX_NEW, temperature: 0 });
      const before = rt.counters.submits;
      const early = await generate(model, { prompts: same, maxNewTokens: MAX_NEW, temperature: 0, eos: g.ids[0][1], stepsPerSubmit: 2 });
      expect(rt.counters.submits - before).toBe(1);
      expect(early.finished).toEqual([true, true, true]);
      expect(early.ids.map((ids) => Array.from(ids))).toEqual(same.map(() => Array.from(g.ids[0].subarray(0, 2))));
    });
  });

  gpuTest('maxNewTokens is respected (including 0 and filling the context exactly)', async ({ rt }) => {
    await withModel(rt, async (model) => {
      const none = await generate(model, { prompts, maxNewTokens: 0 });
      expect(none.ids.map((x) => x.length)).toEqual([0, 0, 0]);
      expect(none.finished).toEqual([false, false, false]);
      const three = await generate(model, { prompts, maxNewTokens: 3, seed: 9 });
      expect(three.ids.map((x) => x.length)).toEqual([3, 3, 3]);
      expect(three.logprobs.map((x) => x.length)).toEqual([3, 3, 3]);
      // The longest prompt (9) + 23 = 32 = contextLength: the last token lands in the last position.
      const full = await generate(model, { prompts, maxNewTokens: nano.contextLength - 9, seed: 9, stepsPerSubmit: 32 });
      expect(full.ids.map((x) => x.length)).toEqual([23, 23, 23]);
      expect(Array.from(full.ids[0].subarray(0, 3))).toEqual(Array.from(three.ids[0]));
    });
  });

  gpuTest('restores the model’s training mode; bad requests throw before anything runs', async ({ rt }) => {
    await withModel(rt, async (model) => {
      model.train();
      await generate(model, { prompts: [prompts[1]], maxNewTokens: 2 });
      expect(model.training).toBe(true);
      const submits = rt.counters.submits;
      await expect(generate(model, { prompts, maxNewTokens: 24 })).rejects.toThrow(/longest prompt \(9 tokens\) plus maxNewTokens \(24\) exceeds contextLength 32/);
      await expect(generate(model, { prompts: [new Uint32Array(0)], maxNewTokens: 2 })).rejects.toThrow(/prompt 0 is empty/);
      await expect(generate(model, { prompts: [[1, 64]], maxNewTokens: 2 })).rejects.toThrow(/token id 64 at position 1 is outside the vocabulary/);
      await expect(generate(model, { prompts, maxNewTokens: 2, topP: 0 })).rejects.toThrow(/topP must be in \(0, 1\]/);
      await expect(generate(model, { prompts, maxNewTokens: 2, eos: 99 })).rejects.toThrow(/eos 99 is not a token id/);
      await expect(generate(model, { prompts: [], maxNewTokens: 2 })).rejects.toThrow(/no prompts/);
      expect(rt.counters.submits).toBe(submits);
    });
  });

  gpuTest('generateText encodes with BOS, stops at the tokenizer’s EOS and decodes', async ({ rt }) => {
    const tok = CharTokenizer.fromText('abcdefgh ');
    const config = makeConfig('nano', { vocabSize: tok.vocabSize });
    const model = GPT.create(rt, config, { weights: randomGptWeights(config, 3, 0.5) });
    try {
      const out = await generateText(model, tok, ['abc', 'h'], { maxNewTokens: 10, temperature: 1, seed: 2 });
      const raw = await generate(model, { prompts: [Uint32Array.from([tok.special.bos, ...tok.encode('abc')]), Uint32Array.from([tok.special.bos, ...tok.encode('h')])], maxNewTokens: 10, temperature: 1, seed: 2, eos: tok.special.eos });
      expect(out.ids.map((x) => Array.from(x))).toEqual(raw.ids.map((x) => Array.from(x)));
      expect(out.finished).toEqual(raw.finished);
      expect(out.texts).toEqual(raw.ids.map((ids) => tok.decode(ids, { specials: 'drop' })));
      const mismatch = GPT.create(rt, nano, { weights });
      try {
        await expect(generateText(mismatch, tok, ['a'], { maxNewTokens: 1 })).rejects.toThrow(/the tokenizer has 14 ids, the model's vocabulary is 64/);
      } finally {
        mismatch.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});
