// Property-based tests (fast-check, seeded) of reading untrusted files: random bytes, random headers and random
// corruptions of valid files give a valid parse or a SafetensorsError, never another exception; a parse is always
// consistent with the bytes (every tensor's bytes its shape × dtype size, the tensors tiling the data section); a
// valid file reads back as written. Over a checkpoint, corruptions give a checkpoint of finite weights or a
// CheckpointError / SafetensorsError.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint';
import { makeConfig } from '../../src/model/config';
import { decodeSafetensors, DTYPE_SIZES, type Dtype, encodeSafetensors, type Safetensors, SafetensorsError, tensorToFloat32 } from '../../src/model/safetensors';
import { randomGptWeights } from '../helpers/gpt-fixtures';

const DTYPES = Object.keys(DTYPE_SIZES) as Dtype[];
const utf8 = new TextEncoder();

/** The parse, or the SafetensorsError; any other exception escapes (and fails the property). */
function decodeOrError(bytes: Uint8Array): Safetensors | SafetensorsError {
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) return e;
    throw e;
  }
}

/** A parse agrees with the bytes it came from. */
function expectConsistent(file: Safetensors, bytes: Uint8Array): void {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  let at = bytes.byteOffset + 8 + headerLength;
  for (const t of file.tensors) {
    expect(t.data.byteLength).toBe(t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[t.dtype]);
    expect([t.data.buffer, t.data.byteOffset]).toEqual([bytes.buffer, at]);
    at += t.data.byteLength;
  }
  expect(at).toBe(bytes.byteOffset + bytes.byteLength);
  expect(Object.values(file.metadata).every((v) => typeof v === 'string')).toBe(true);
}

/** The 8-byte little-endian header length, then `header`, then `data`. */
function fileOf(headerLength: bigint, header: Uint8Array, data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(8 + header.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, headerLength, true);
  bytes.set(header, 8);
  bytes.set(data, 8 + header.length);
  return bytes;
}

// ---- arbitraries ----

const tensorArb = fc
  .record({
    name: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).filter((n) => n !== '__metadata__'),
    dtype: fc.constantFrom(...DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  })
  .chain((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[t.dtype];
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data) => ({ ...t, data }));
  });

const validFileArb = fc.record({
  tensors: fc.uniqueArray(tensorArb, { selector: (t) => t.name, maxLength: 5 }),
  metadata: fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), { maxKeys: 3 }),
});

/** Header entries near the valid ones (every field right or wrong, missing or extra) and arbitrary JSON. */
const entryArb = fc.oneof(
  fc
    .tuple(
      fc.record(
        {
          dtype: fc.oneof(fc.constantFrom(...DTYPES), fc.jsonValue()),
          shape: fc.oneof(fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 3 }), fc.jsonValue()),
          data_offsets: fc.oneof(fc.tuple(fc.integer({ min: -1, max: 80 }), fc.integer({ min: -1, max: 80 })), fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
      fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue(), { maxKeys: 1 }),
    )
    .map(([entry, extra]) => ({ ...extra, ...entry })),
  fc.jsonValue(),
);

const headerTextArb = fc.oneof(
  fc
    .record({
      metadata: fc.option(fc.oneof(fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }), fc.jsonValue()), { nil: undefined }),
      entries: fc.dictionary(fc.string({ unit: 'binary', maxLength: 4 }), entryArb, { maxKeys: 4 }),
    })
    .map(({ metadata, entries }) => JSON.stringify(metadata === undefined ? entries : { __metadata__: metadata, ...entries })),
  fc.string({ unit: 'binary' }).map((s) => `{${s}`),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

type Corruption =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'remove'; at: number; count: number }
  | { kind: 'length'; value: bigint }
  | { kind: 'non-finite'; at: number; value: number };

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('length' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  fc.record({ kind: fc.constant('non-finite' as const), at: fc.nat(), value: fc.constantFrom(NaN, Infinity, -Infinity) }),
);

/** A corrupted copy of `bytes`; positions wrap around the current length. */
function corrupt(bytes: Uint8Array, corruptions: readonly Corruption[]): Uint8Array {
  let out = bytes.slice();
  for (const c of corruptions) {
    const at = 'at' in c ? c.at % (out.length + 1) : 0;
    if (c.kind === 'set' && at < out.length) out[at] = c.value;
    else if (c.kind === 'cut') out = out.slice(0, at);
    else if (c.kind === 'insert') out = Uint8Array.from([...out.subarray(0, at), ...c.bytes, ...out.subarray(at)]);
    else if (c.kind === 'remove') out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + c.count)]);
    else if (c.kind === 'length' && out.length >= 8) new DataView(out.buffer).setBigUint64(0, c.value, true);
    else if (c.kind === 'non-finite' && at + 4 <= out.length) new DataView(out.buffer).setFloat32(at - (at % 4), c.value, true);
  }
  return out;
}

// ---- properties ----

describe('decodeSafetensors on untrusted bytes', () => {
  test('random bytes: a consistent parse or a SafetensorsError', () => {
    const headed = fc
      .tuple(fc.nat({ max: 300 }), fc.uint8Array({ maxLength: 300 }))
      .map(([n, rest]) => fileOf(BigInt(n), rest, new Uint8Array(0))); // a plausible header length, then random bytes
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), headed), (bytes) => {
        const file = decodeOrError(bytes);
        if (!(file instanceof SafetensorsError)) expectConsistent(file, bytes);
      }),
      { seed: 1, numRuns: 1000 },
    );
  });

  test('random headers over random data: a consistent parse or a SafetensorsError', () => {
    fc.assert(
      fc.property(headerTextArb, fc.nat({ max: 8 }), fc.integer({ min: -2, max: 2 }), fc.uint8Array({ maxLength: 80 }), (text, pad, lengthError, data) => {
        const header = utf8.encode(text + ' '.repeat(pad));
        const bytes = fileOf(BigInt(Math.max(0, header.length + lengthError)), header, data);
        const file = decodeOrError(bytes);
        if (!(file instanceof SafetensorsError)) expectConsistent(file, bytes);
      }),
      { seed: 1, numRuns: 1000 },
    );
  });

  test('a valid file reads back as written; its corruptions give a consistent parse or a SafetensorsError', () => {
    fc.assert(
      fc.property(validFileArb, fc.array(corruptionArb, { minLength: 1, maxLength: 4 }), ({ tensors, metadata }, corruptions) => {
        const bytes = encodeSafetensors(tensors, metadata);
        const file = decodeSafetensors(bytes);
        expect(file.metadata).toEqual(metadata);
        const byName = new Map(file.tensors.map((t) => [t.name, t]));
        for (const t of tensors) expect(byName.get(t.name)).toEqual({ name: t.name, dtype: t.dtype, shape: t.shape, data: t.data });

        const corrupted = corrupt(bytes, corruptions);
        const parsed = decodeOrError(corrupted);
        if (parsed instanceof SafetensorsError) return;
        expectConsistent(parsed, corrupted);
        for (const t of parsed.tensors) {
          if (t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16') expect(tensorToFloat32(t)).toHaveLength(t.data.byteLength / DTYPE_SIZES[t.dtype]);
        }
      }),
      { seed: 1, numRuns: 500 },
    );
  });

  test('a deeply nested header value is a SafetensorsError with a short message, not a stack overflow', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const cases = [
      `{"t":{"dtype":"F32","shape":${deep(200_000)},"data_offsets":[0,0]}}`,
      `{"t":{"dtype":${deep(200_000)},"shape":[],"data_offsets":[0,4]}}`,
      `{"__metadata__":{"k":${deep(200_000)}}}`,
    ];
    for (const text of cases) {
      const header = utf8.encode(text);
      const error = decodeOrError(fileOf(BigInt(header.length), header, new Uint8Array(4)));
      expect(error).toBeInstanceOf(SafetensorsError);
      expect((error as SafetensorsError).message.length).toBeLessThan(200);
    }
  });
});

describe('loadCheckpoint on corrupted checkpoints', () => {
  const config = makeConfig('nano', { vocabSize: 8, contextLength: 4, nLayer: 1, nHead: 2, dModel: 8 });
  const good = saveCheckpoint(randomGptWeights(config, 1), config, { kind: 'test' });

  test('a checkpoint of finite weights, or a CheckpointError or SafetensorsError', () => {
    fc.assert(
      fc.property(fc.array(corruptionArb, { minLength: 1, maxLength: 3 }), (corruptions) => {
        try {
          const loaded = loadCheckpoint(corrupt(good, corruptions));
          for (const [name, w] of Object.entries(loaded.weights)) expect(w.every(Number.isFinite), name).toBe(true);
        } catch (e) {
          if (!(e instanceof CheckpointError || e instanceof SafetensorsError)) throw e;
        }
      }),
      { seed: 1, numRuns: 500 },
    );
  });
});
