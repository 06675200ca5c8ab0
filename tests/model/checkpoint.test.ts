import { describe, expect, test } from 'vitest';
import { checkpointTensorName, CheckpointError, joinMembers, loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint';
import { makeConfig, parameterShapes, type GPTConfig } from '../../src/model/config';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type TensorInput } from '../../src/model/safetensors';
import { randomGptWeights } from '../helpers/gpt-fixtures';

const CONFIG = makeConfig('nano', { vocabSize: 37, nLayer: 2 });
const TOKENIZER = { type: 'char', vocab: ['<|endoftext|>', 'a', 'b', '"', '\\', 'é', '✓'] };
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Element-wise identity of two arrays (fast; toEqual on large typed arrays is slow), naming the first difference. */
function expectSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) expect.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

/** Seeded weights with the finite float32 special values planted in wte: ±0, subnormals, the smallest normal, extremes. */
function weightsWithSpecials(config: GPTConfig, seed = 1): Record<string, Float32Array> {
  const w = randomGptWeights(config, seed);
  bits(w.wte).set([0x80000000, 0x00000000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff]);
  return w;
}

/** The checkpoint's tensors as encoder input, to build altered files. */
function tensorsOf(bytes: Uint8Array): TensorInput[] {
  return decodeSafetensors(bytes).tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: t.data }));
}
const metadataOf = (bytes: Uint8Array) => decodeSafetensors(bytes).metadata;
const f32Tensor = (name: string, shape: number[], data = new Float32Array(shape.reduce((a, b) => a * b, 1))): TensorInput => ({
  name,
  dtype: 'F32',
  shape,
  data,
});

const expectCheckpointError = (bytes: Uint8Array, message: RegExp, expected?: GPTConfig) => {
  expect(() => loadCheckpoint(bytes, expected)).toThrow(CheckpointError);
  expect(() => loadCheckpoint(bytes, expected)).toThrow(message);
};

describe('checkpoint round trip', () => {
  test('weights come back bit-exact (−0, subnormals, extremes), with config and tokenizer', () => {
    const weights = weightsWithSpecials(CONFIG);
    const bytes = saveCheckpoint(weights, CONFIG, TOKENIZER, { step: '1200', note: 'pretrained' });
    const loaded = loadCheckpoint(bytes, CONFIG);
    expect(loaded.config).toEqual(CONFIG);
    expect(loaded.tokenizerJson).toEqual(TOKENIZER);
    expect(loaded.metadata).toMatchObject({ format: 'pt', 'rlhf_lab.version': '1', step: '1200', note: 'pretrained' });
    expect(Object.keys(loaded.weights)).toEqual(parameterShapes(CONFIG).map((p) => p.name));
    for (const [name, w] of Object.entries(weights)) {
      expect(loaded.weights[name]).toBeInstanceOf(Float32Array);
      expectSame(bits(loaded.weights[name]), bits(w), name);
    }
    // Deterministic: saving what was loaded gives the same bytes.
    expectSame(saveCheckpoint(loaded.weights, loaded.config, loaded.tokenizerJson, { step: '1200', note: 'pretrained' }), bytes, 'resaved');
  });

  test('the loaded weights are copies: changing them leaves the file bytes alone', () => {
    const bytes = saveCheckpoint(randomGptWeights(CONFIG, 2), CONFIG, TOKENIZER);
    const before = bytes.slice();
    loadCheckpoint(bytes).weights['h.0.ln_1.bias'].fill(7);
    expectSame(bytes, before, 'file bytes');
  });

  test('loads from a Node Buffer at an odd offset in a shared pool (as fs.readFileSync may return)', () => {
    const weights = weightsWithSpecials(CONFIG, 9);
    const bytes = saveCheckpoint(weights, CONFIG, TOKENIZER);
    const buffer = Buffer.concat([Buffer.from('xyz'), bytes, Buffer.from('garbage')]).subarray(3, 3 + bytes.length);
    const loaded = loadCheckpoint(buffer);
    for (const [name, w] of Object.entries(weights)) expectSame(bits(loaded.weights[name]), bits(w), name);
  });

  test('without an expected config the file’s own config is used; dropout is not part of the match', () => {
    const trained = makeConfig('nano', { vocabSize: 37, dropout: 0.1 });
    const bytes = saveCheckpoint(randomGptWeights(trained, 3), trained, undefined);
    expect(loadCheckpoint(bytes).config).toEqual(trained);
    expect(loadCheckpoint(bytes, { ...trained, dropout: 0 }).config.dropout).toBe(0.1);
    expect(loadCheckpoint(bytes).tokenizerJson).toBeUndefined();
    expect(metadataOf(bytes)['rlhf_lab.tokenizer']).toBeUndefined();
  });
});

describe('checkpoint file layout (Hugging Face GPT-2)', () => {
  test('GPT2LMHeadModel names, Conv1D [in, out] shapes, F32, no lm_head.weight, metadata', () => {
    const weights = randomGptWeights(CONFIG, 4);
    const file = decodeSafetensors(saveCheckpoint(weights, CONFIG, TOKENIZER));
    const C = CONFIG.dModel;
    const byName = Object.fromEntries(file.tensors.map((t) => [t.name, t]));
    expect(byName['transformer.wte.weight'].shape).toEqual([CONFIG.vocabSize, C]);
    expect(byName['transformer.wpe.weight'].shape).toEqual([CONFIG.contextLength, C]);
    expect(byName['transformer.h.1.attn.c_attn.weight'].shape).toEqual([C, 3 * C]);
    expect(byName['transformer.h.1.mlp.c_fc.weight'].shape).toEqual([C, 4 * C]);
    expect(byName['transformer.h.1.mlp.c_proj.weight'].shape).toEqual([4 * C, C]);
    expect(byName['transformer.ln_f.bias'].shape).toEqual([C]);
    expect(byName['lm_head.weight']).toBeUndefined(); // tied to transformer.wte.weight, as transformers saves GPT-2
    expect(file.tensors).toHaveLength(2 + 12 * CONFIG.nLayer + 2);
    expect(file.tensors.every((t) => t.dtype === 'F32' && t.name.startsWith('transformer.'))).toBe(true);
    // Row-major [in, out]: element (i, j) of c_attn.weight is at i·3C + j, as in our weights.
    const cAttn = new Float32Array(byName['transformer.h.1.attn.c_attn.weight'].data.slice().buffer);
    expect(cAttn[5 * 3 * C + 7]).toBe(weights['h.1.attn.c_attn.weight'][5 * 3 * C + 7]);
    expect(file.metadata.format).toBe('pt');
    expect(JSON.parse(file.metadata['rlhf_lab.config'])).toEqual({ ...CONFIG });
    expect(JSON.parse(file.metadata['rlhf_lab.tokenizer'])).toEqual(TOKENIZER);
    expect(checkpointTensorName('wte')).toBe('transformer.wte.weight');
    expect(checkpointTensorName('h.3.ln_2.bias')).toBe('transformer.h.3.ln_2.bias');
  });

  test('reads GPT-2 files as transformers writes them: unprefixed names, mask buffers, tied lm_head, F16/BF16', () => {
    const weights = randomGptWeights(CONFIG, 5);
    const tensors = tensorsOf(saveCheckpoint(weights, CONFIG, undefined));
    // GPT2Model / original GPT-2 names (no `transformer.`), the old attn.bias / attn.masked_bias buffers, no config.
    const T = CONFIG.contextLength;
    const unprefixed: TensorInput[] = tensors.map((t) => ({ ...t, name: t.name.slice('transformer.'.length) }));
    unprefixed.push(
      { name: 'h.0.attn.bias', dtype: 'U8', shape: [1, 1, T, T], data: new Uint8Array(T * T) },
      f32Tensor('h.1.attn.masked_bias', []),
    );
    const loaded = loadCheckpoint(encodeSafetensors(unprefixed, { format: 'pt' }), CONFIG);
    expect(loaded.config).toBe(CONFIG);
    expectSame(bits(loaded.weights['h.1.mlp.c_fc.weight']), bits(weights['h.1.mlp.c_fc.weight']), 'c_fc');
    // A tied lm_head.weight (bit-identical to wte) is accepted; an untied one is not.
    const wte = tensors.find((t) => t.name === 'transformer.wte.weight')!;
    const tied = encodeSafetensors([...tensors, { ...wte, name: 'lm_head.weight' }], metadataOf(saveCheckpoint(weights, CONFIG, undefined)));
    expectSame(bits(loadCheckpoint(tied).weights.wte), bits(weights.wte), 'wte');
    const head = Float32Array.from(weights.wte);
    head[3] += 1;
    const untied = encodeSafetensors([...tensors, f32Tensor('lm_head.weight', [...wte.shape], head)], metadataOf(tied));
    expectCheckpointError(untied, /lm_head.weight differs from wte: untied LM heads are not supported/);
    // F16 / BF16 tensors are widened exactly: 1.5 in F16 is 0x3e00, -2 in BF16 is 0xc000.
    const halves = tensors.map((t): TensorInput => {
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (t.name === 'transformer.ln_f.weight') return { ...t, dtype: 'F16', data: new Uint16Array(n).fill(0x3e00) };
      if (t.name === 'transformer.ln_f.bias') return { ...t, dtype: 'BF16', data: new Uint16Array(n).fill(0xc000) };
      return t;
    });
    const widened = loadCheckpoint(encodeSafetensors(halves, metadataOf(tied)));
    expect([...widened.weights['ln_f.weight']]).toEqual(Array(CONFIG.dModel).fill(1.5));
    expect([...widened.weights['ln_f.bias']]).toEqual(Array(CONFIG.dModel).fill(-2));
  });
});

describe('checkpoint validation', () => {
  const good = saveCheckpoint(randomGptWeights(CONFIG, 6), CONFIG, TOKENIZER);
  const headerLength = Number(new DataView(good.buffer).getBigUint64(0, true));

  test('a truncated file is rejected at every kind of cut point', () => {
    const cuts: [number, RegExp][] = [
      [0, /file is 0 bytes, too short for the 8-byte header length/], // inside the length
      [5, /file is 5 bytes, too short/],
      [8, /header length \d+ runs past the end of the 8-byte file/], // inside the header
      [9, /runs past the end/],
      [8 + headerLength / 2, /runs past the end/],
      [8 + headerLength - 1, /runs past the end/],
      [8 + headerLength, /needs data bytes \[0, \d+\) but the data section has only 0 bytes \(truncated\?\)/], // inside the data
      [8 + headerLength + 1, /but the data section has only 1 bytes/],
      [Math.floor((8 + headerLength + good.length) / 2), /needs data bytes .* \(truncated\?\)/],
      [good.length - 1, /tensor "transformer\.wte\.weight" needs data bytes \[\d+, \d+\) but the data section has only \d+ bytes/],
    ];
    for (const [cut, message] of cuts) {
      expect(() => loadCheckpoint(good.subarray(0, cut)), `cut at ${cut}`).toThrow(SafetensorsError);
      expect(() => loadCheckpoint(good.subarray(0, cut)), `cut at ${cut}`).toThrow(message);
    }
  });

  test('an oversized file or header length is rejected', () => {
    const longer = new Uint8Array(good.length + 5);
    longer.set(good);
    expect(() => loadCheckpoint(longer)).toThrow(/5 trailing bytes after the last tensor/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(() => loadCheckpoint(huge)).toThrow(/header length 1099511627776 exceeds the 100000000-byte limit/);
    const past = good.slice();
    new DataView(past.buffer).setBigUint64(0, BigInt(good.length), true);
    expect(() => loadCheckpoint(past)).toThrow(/runs past the end of the \d+-byte file/);
  });

  test('header garbage is rejected', () => {
    const garbled = good.slice();
    garbled.set(new TextEncoder().encode('{"__metadata__": garbage'), 8);
    expect(() => loadCheckpoint(garbled)).toThrow(/header is not valid JSON/);
    const notJson = good.slice();
    notJson.fill(0x41, 8, 16);
    expect(() => loadCheckpoint(notJson)).toThrow(/header does not start with "\{"/);
  });

  test('a model of another size is rejected, naming every differing field', () => {
    expectCheckpointError(good, /does not match the expected config: dModel 32 \(expected 64\)/, makeConfig('nano', { vocabSize: 37, dModel: 64 }));
    expectCheckpointError(
      good,
      /does not match the expected config: vocabSize 37 \(expected 40\), nLayer 2 \(expected 3\)/,
      makeConfig('nano', { vocabSize: 40, nLayer: 3 }),
    );
    expectCheckpointError(good, /nHead 2 \(expected 4\)/, makeConfig('nano', { vocabSize: 37, nHead: 4 }));
  });

  test('a tensor whose shape disagrees with the config is rejected (with a hint when transposed)', () => {
    const C = CONFIG.dModel;
    const swap = (name: string, shape: number[]) =>
      encodeSafetensors(tensorsOf(good).map((t) => (t.name === name ? { ...t, shape } : t)), metadataOf(good));
    expectCheckpointError(
      swap('transformer.h.1.attn.c_attn.weight', [3 * C, C]),
      /tensor transformer.h.1.attn.c_attn.weight has shape \[96, 32\], expected \[32, 96\] \(transposed: GPT-2 stores linear weights \[in, out\]/,
    );
    expectCheckpointError(swap('transformer.h.0.ln_1.bias', [2, C / 2]), /tensor transformer.h.0.ln_1.bias has shape \[2, 16\], expected \[32\]$/);
  });

  test('a missing or an unexpected tensor is rejected', () => {
    const without = encodeSafetensors(tensorsOf(good).filter((t) => t.name !== 'transformer.h.1.mlp.c_fc.bias'), metadataOf(good));
    expectCheckpointError(without, /tensor transformer.h.1.mlp.c_fc.bias is missing/);
    const extra = encodeSafetensors([...tensorsOf(good), f32Tensor('transformer.h.2.ln_1.weight', [CONFIG.dModel])], metadataOf(good));
    expectCheckpointError(extra, /unexpected tensors transformer.h.2.ln_1.weight \(not parameters of/);
  });

  test('a tensor of the wrong dtype is rejected', () => {
    const retype = (dtype: 'F64' | 'I32') =>
      encodeSafetensors(
        tensorsOf(good).map((t) => {
          if (t.name !== 'transformer.ln_f.bias') return t;
          return dtype === 'F64' ? { ...t, dtype, data: new Float64Array(CONFIG.dModel) } : { ...t, dtype, data: new Int32Array(CONFIG.dModel) };
        }),
        metadataOf(good),
      );
    expectCheckpointError(retype('F64'), /tensor transformer.ln_f.bias has dtype F64; expected F32 \(F16 and BF16 are widened\)/);
    expectCheckpointError(retype('I32'), /has dtype I32; expected F32/);
  });

  test('bad metadata is rejected: config, tokenizer, version, member count', () => {
    const withMeta = (changes: Record<string, string | undefined>) => {
      const metadata = { ...metadataOf(good), ...changes };
      for (const k of Object.keys(metadata)) if (metadata[k] === undefined) delete metadata[k];
      return encodeSafetensors(tensorsOf(good), metadata as Record<string, string>);
    };
    expectCheckpointError(withMeta({ 'rlhf_lab.config': undefined }), /no "rlhf_lab.config" in the metadata and no expected config given/);
    expect(loadCheckpoint(withMeta({ 'rlhf_lab.config': undefined }), CONFIG).config).toBe(CONFIG);
    expectCheckpointError(withMeta({ 'rlhf_lab.config': '{"vocabSize": 37,' }), /metadata "rlhf_lab.config" is not valid JSON/);
    expectCheckpointError(withMeta({ 'rlhf_lab.config': '[1]' }), /metadata "rlhf_lab.config" is not an object/);
    expectCheckpointError(withMeta({ 'rlhf_lab.config': JSON.stringify({ ...CONFIG, nHead: 3 }) }), /invalid config in the file: GPTConfig.dModel \(32\) must be divisible by nHead \(3\)/);
    expectCheckpointError(withMeta({ 'rlhf_lab.config': JSON.stringify({ ...CONFIG, dModel: undefined }) }), /config field "dModel" is missing or not a number/);
    expectCheckpointError(withMeta({ 'rlhf_lab.config': JSON.stringify({ ...CONFIG, nEmbd: 3 }) }), /config has an unknown field "nEmbd"/);
    expectCheckpointError(withMeta({ 'rlhf_lab.tokenizer': '{' }), /metadata "rlhf_lab.tokenizer" is not valid JSON/);
    expectCheckpointError(withMeta({ 'rlhf_lab.version': '2' }), /unsupported checkpoint version "2" \(this build reads version 1\)/);
    const pair = saveCheckpoint(joinMembers([randomGptWeights(CONFIG, 6), randomGptWeights(CONFIG, 7)]), CONFIG, TOKENIZER);
    expect(loadCheckpoint(pair).members).toBe(2);
    expectCheckpointError(encodeSafetensors(tensorsOf(pair), { ...metadataOf(pair), 'rlhf_lab.members': '3' }), /metadata "rlhf_lab\.members" says 3 members, the file holds 2/);
  });

  test('a NaN or an infinity is rejected, naming the tensor, the flat index and the value of the first one', () => {
    const planted = (name: string, values: Record<number, number>) => {
      const w = randomGptWeights(CONFIG, 6);
      for (const [i, v] of Object.entries(values)) w[name][Number(i)] = v;
      return saveCheckpoint(w, CONFIG, TOKENIZER);
    };
    expectCheckpointError(planted('wte', { 0: NaN }), /^checkpoint: tensor transformer\.wte\.weight holds NaN at flat index 0: every weight must be finite/);
    expectCheckpointError(planted('h.1.mlp.c_fc.weight', { 77: Infinity, 90: NaN }), /tensor transformer\.h\.1\.mlp\.c_fc\.weight holds Infinity at flat index 77:/);
    expectCheckpointError(planted('ln_f.bias', { [CONFIG.dModel - 1]: -Infinity }), /tensor transformer\.ln_f\.bias holds -Infinity at flat index 31:/);
    // Half precision widens to the same infinity (F16 0x7c00): checked after widening.
    const half = encodeSafetensors(
      tensorsOf(good).map((t) => (t.name === 'transformer.ln_f.weight' ? { ...t, dtype: 'F16' as const, data: new Uint16Array(CONFIG.dModel).fill(0x3c00).fill(0x7c00, 5, 6) } : t)),
      metadataOf(good),
    );
    expectCheckpointError(half, /tensor transformer\.ln_f\.weight holds Infinity at flat index 5:/);
  });

  test('a failed load leaves the current model untouched', () => {
    const current = randomGptWeights(CONFIG, 7);
    const snapshot = Object.fromEntries(Object.entries(current).map(([k, v]) => [k, v.slice()]));
    let model = current;
    // The last tensor in the file is wrong: nothing is returned, so nothing can be half-applied.
    const bad = encodeSafetensors(
      tensorsOf(good).map((t) => (t.name === 'transformer.h.0.ln_1.bias' ? { ...t, dtype: 'F64' as const, data: new Float64Array(CONFIG.dModel) } : t)),
      metadataOf(good),
    );
    expect(() => {
      model = loadCheckpoint(bad, CONFIG).weights;
    }).toThrow(/has dtype F64/);
    expect(model).toBe(current);
    for (const [k, v] of Object.entries(current)) expectSame(bits(v), bits(snapshot[k]), k);
  });

  test('saveCheckpoint rejects weights that do not fit the config', () => {
    const w = randomGptWeights(CONFIG, 8);
    const { 'h.1.ln_2.weight': _dropped, ...missing } = w;
    expect(() => saveCheckpoint(missing, CONFIG, TOKENIZER)).toThrow(/weight h.1.ln_2.weight is missing/);
    expect(() => saveCheckpoint({ ...w, 'h.0.ln_1.bias': new Float32Array(3) }, CONFIG, TOKENIZER)).toThrow(
      /weight h.0.ln_1.bias has 3 values, shape \[32\] needs 32/,
    );
    expect(() => saveCheckpoint({ ...w, lm_head: new Float32Array(1) }, CONFIG, TOKENIZER)).toThrow(/unknown weights lm_head/);
    expect(() => saveCheckpoint(w, CONFIG, TOKENIZER, { format: 'tf' })).toThrow(/extra metadata cannot replace "format"/);
    expect(() => saveCheckpoint(w, { ...CONFIG, nHead: 5 }, TOKENIZER)).toThrow(/must be divisible by nHead/);
    expect(() => saveCheckpoint(w, CONFIG, () => 1)).toThrow(/tokenizer is not JSON-serialisable/);
  });
});

describe('scalar heads (reward and value models)', () => {
  const C = CONFIG.dModel;
  const withHead = (head: 'score' | 'value') => ({
    ...randomGptWeights(CONFIG, 3),
    [`${head}.weight`]: Float32Array.from({ length: C }, (_, i) => i / 7 - 1),
    [`${head}.bias`]: Float32Array.of(0.25),
  });

  test('a reward model stores score.weight [1, C] (GPT2ForSequenceClassification) and score.bias, and round-trips bit-exactly', () => {
    const weights = withHead('score');
    const bytes = saveCheckpoint(weights, CONFIG, TOKENIZER);
    const file = decodeSafetensors(bytes);
    expect(file.tensors.find((t) => t.name === 'score.weight')?.shape).toEqual([1, C]);
    expect(file.tensors.find((t) => t.name === 'score.bias')?.shape).toEqual([1]);
    const back = loadCheckpoint(bytes, CONFIG);
    expect(back.head).toBe('score');
    expect(Object.keys(back.weights)).toEqual(parameterShapes(CONFIG, 'score').map((p) => p.name));
    for (const [name, w] of Object.entries(weights)) expectSame(bits(back.weights[name]), bits(w), name);
  });

  test("a value model's head is stored as TRL's v_head.summary.weight / .bias", () => {
    expect(checkpointTensorName('value.weight')).toBe('v_head.summary.weight');
    expect(checkpointTensorName('value.bias')).toBe('v_head.summary.bias');
    const back = loadCheckpoint(saveCheckpoint(withHead('value'), CONFIG, TOKENIZER));
    expect(back.head).toBe('value');
    expect(back.weights['value.bias'][0]).toBe(0.25);
  });

  test('a plain language model has no head; a half head, a mis-shaped head or two heads are rejected', () => {
    expect(loadCheckpoint(saveCheckpoint(randomGptWeights(CONFIG, 3), CONFIG, TOKENIZER)).head).toBeUndefined();
    const full = tensorsOf(saveCheckpoint(withHead('score'), CONFIG, TOKENIZER));
    const meta = metadataOf(saveCheckpoint(withHead('score'), CONFIG, TOKENIZER));
    expectCheckpointError(encodeSafetensors(full.filter((t) => t.name !== 'score.bias'), meta), /tensor score\.bias is missing/);
    expectCheckpointError(
      encodeSafetensors(full.map((t) => (t.name === 'score.weight' ? f32Tensor('score.weight', [C, 1]) : t)), meta),
      /score\.weight has shape \[32, 1\], expected \[1, 32\]/,
    );
    const both = [...full, f32Tensor('v_head.summary.weight', [1, C]), f32Tensor('v_head.summary.bias', [1])];
    expectCheckpointError(encodeSafetensors(both, meta), /both a score and a value head/);
  });
});
