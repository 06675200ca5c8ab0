import { describe, expect, test } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  SafetensorsError,
  tensorToFloat32,
  type DecodedTensor,
} from '../../src/model/safetensors';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const le32 = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

/**
 * A file assembled by hand, independently of the encoder: the header length (default: the JSON's, padded with
 * spaces to a multiple of 8), the JSON, then the data bytes.
 */
function file(json: string, data: Uint8Array = new Uint8Array(0), headerLength?: number | bigint): Uint8Array {
  const text = new TextEncoder().encode(json);
  const padded = Math.ceil(text.length / 8) * 8;
  const out = new Uint8Array(8 + padded + data.length).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? padded), true);
  out.set(text, 8);
  out.set(data, 8 + padded);
  return out;
}

const entry = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });
const expectError = (bytes: Uint8Array, message: RegExp) => {
  expect(() => decodeSafetensors(bytes)).toThrow(SafetensorsError);
  expect(() => decodeSafetensors(bytes)).toThrow(message);
};

// The reference implementation's own test vectors (safetensors/src/tensor.rs: test_serialization,
// test_serialization_forced_alignement, test_empty): F32 [1,2,3] holding 0..5.
const RUST_ATTN_0 = Uint8Array.from([
  64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51,
  50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
  115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0,
  128, 64, 0, 0, 160, 64,
]);
const RUST_ATTN0_ALIGNED = Uint8Array.from([
  72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50,
  34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102,
  102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 128, 63,
  0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
]);
const RUST_EMPTY = Uint8Array.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
const RUST_EMPTY_METADATA = Uint8Array.from([
  40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109,
  101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
]);

// Written by the Python package (safetensors 0.8.0, safetensors.numpy.save) from
//   {'mlp.w': f32 [[1.5, -0.0], [inf, 2.0]], 'b16': f16 [1, -2.5, 65504], 'step': i64 [-3], 'mask': u8 [1, 0, 255],
//    'scale': f64 0.25 (shape []), 'empty': f32 zeros (0, 4)}, metadata {'format': 'pt'}.
// Layout: descending dtype (I64, F64, F32, F16, U8), then name; header padded with 3 spaces to 384 bytes.
const PYTHON_MIXED = hex(
  '80010000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c2273746570223a7b2264747970' +
    '65223a22493634222c227368617065223a5b315d2c22646174615f6f666673657473223a5b302c385d7d2c227363616c65223a7b22' +
    '6474797065223a22463634222c227368617065223a5b5d2c22646174615f6f666673657473223a5b382c31365d7d2c22656d707479' +
    '223a7b226474797065223a22463332222c227368617065223a5b302c345d2c22646174615f6f666673657473223a5b31362c31365d' +
    '7d2c226d6c702e77223a7b226474797065223a22463332222c227368617065223a5b322c325d2c22646174615f6f66667365747322' +
    '3a5b31362c33325d7d2c22623136223a7b226474797065223a22463136222c227368617065223a5b335d2c22646174615f6f666673' +
    '657473223a5b33322c33385d7d2c226d61736b223a7b226474797065223a225538222c227368617065223a5b335d2c22646174615f' +
    '6f666673657473223a5b33382c34315d7d7d202020fdffffffffffffff000000000000d03f0000c03f000000800000807f0000004000' +
    '3c00c1ff7b0100ff',
);

describe('safetensors files written by the reference implementation', () => {
  test('decodes the Rust crate test vectors', () => {
    for (const bytes of [RUST_ATTN_0, RUST_ATTN0_ALIGNED]) {
      const { tensors, metadata } = decodeSafetensors(bytes);
      expect(metadata).toEqual({});
      expect(tensors).toHaveLength(1);
      expect(tensors[0].dtype).toBe('F32');
      expect([...tensorToFloat32(tensors[0])]).toEqual([0, 1, 2, 3, 4, 5]);
    }
    expect(decodeSafetensors(RUST_ATTN_0).tensors[0]).toMatchObject({ name: 'attn.0', shape: [1, 2, 3] });
    expect(decodeSafetensors(RUST_ATTN0_ALIGNED).tensors[0]).toMatchObject({ name: 'attn0', shape: [1, 1, 2, 3] });
    expect(decodeSafetensors(RUST_EMPTY)).toEqual({ tensors: [], metadata: {} });
    expect(decodeSafetensors(RUST_EMPTY_METADATA)).toEqual({ tensors: [], metadata: { framework: 'pt' } });
  });

  test('decodes a mixed-dtype file from the Python package', () => {
    const { tensors, metadata } = decodeSafetensors(PYTHON_MIXED);
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['step', 'I64', [1]],
      ['scale', 'F64', []],
      ['empty', 'F32', [0, 4]],
      ['mlp.w', 'F32', [2, 2]],
      ['b16', 'F16', [3]],
      ['mask', 'U8', [3]],
    ]);
    const byName = Object.fromEntries(tensors.map((t) => [t.name, t]));
    const view = (t: DecodedTensor) => new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    expect(view(byName.step).getBigInt64(0, true)).toBe(-3n);
    expect(view(byName.scale).getFloat64(0, true)).toBe(0.25);
    expect([...tensorToFloat32(byName['mlp.w'])]).toEqual([1.5, -0, Infinity, 2]);
    expect(Object.is(tensorToFloat32(byName['mlp.w'])[1], -0)).toBe(true);
    expect([...tensorToFloat32(byName.b16)]).toEqual([1, -2.5, 65504]);
    expect(tensorToFloat32(byName.empty)).toHaveLength(0);
    expect([...byName.mask.data]).toEqual([1, 0, 255]);
  });

  test('the encoder writes the same bytes as the reference (layout order, padding, JSON)', () => {
    const f32 = (name: string, shape: number[], values: number[]) => ({ name, dtype: 'F32' as const, shape, data: Float32Array.from(values) });
    expect(toHex(encodeSafetensors([f32('attn.0', [1, 2, 3], [0, 1, 2, 3, 4, 5])]))).toBe(toHex(RUST_ATTN_0));
    expect(toHex(encodeSafetensors([f32('attn0', [1, 1, 2, 3], [0, 1, 2, 3, 4, 5])]))).toBe(toHex(RUST_ATTN0_ALIGNED));
    expect(toHex(encodeSafetensors([]))).toBe(toHex(RUST_EMPTY));
    expect(toHex(encodeSafetensors([], { framework: 'pt' }))).toBe(toHex(RUST_EMPTY_METADATA));
    const mixed = encodeSafetensors(
      [
        f32('mlp.w', [2, 2], [1.5, -0, Infinity, 2]),
        { name: 'b16', dtype: 'F16', shape: [3], data: Uint16Array.of(0x3c00, 0xc100, 0x7bff) },
        { name: 'step', dtype: 'I64', shape: [1], data: BigInt64Array.of(-3n) },
        { name: 'mask', dtype: 'U8', shape: [3], data: Uint8Array.of(1, 0, 255) },
        { name: 'scale', dtype: 'F64', shape: [], data: Float64Array.of(0.25) },
        f32('empty', [0, 4], []),
      ],
      { format: 'pt' },
    );
    expect(toHex(mixed)).toBe(toHex(PYTHON_MIXED));
  });
});

describe('safetensors round trip', () => {
  test('every byte of every tensor survives, NaN payloads and −0 included', () => {
    const bits = Uint32Array.of(0x7fc00001, 0xffc12345, 0x7f800001, 0x80000000, 0x00000001, 0x7f7fffff, 0xff800000, 0x3f800000);
    const f = new Float32Array(bits.buffer);
    const raw = Uint8Array.from({ length: 13 }, (_, i) => (i * 37) & 255);
    const bytes = encodeSafetensors(
      [
        { name: 'weights', dtype: 'F32', shape: [2, 4], data: f },
        { name: 'raw_bf16', dtype: 'BF16', shape: [3], data: raw.subarray(0, 6) }, // raw bytes at an odd offset
        { name: 'z', dtype: 'U8', shape: [7], data: raw.subarray(6) },
        { name: 'ünïcode ✓', dtype: 'I32', shape: [1], data: Int32Array.of(-123456789) },
      ],
      { note: 'with "quotes", \\ and \n newline', 'ключ': 'значение' },
    );
    expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0); // header padded to 8
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ note: 'with "quotes", \\ and \n newline', 'ключ': 'значение' });
    const byName = Object.fromEntries(tensors.map((t) => [t.name, t]));
    expect([...new Uint32Array(tensorToFloat32(byName.weights).buffer)]).toEqual([...bits]);
    expect([...byName.raw_bf16.data]).toEqual([...raw.subarray(0, 6)]);
    expect([...byName.z.data]).toEqual([...raw.subarray(6)]);
    expect(new DataView(byName['ünïcode ✓'].data.slice().buffer).getInt32(0, true)).toBe(-123456789);
    // Each tensor starts at a multiple of its element size in the file (larger dtypes first).
    for (const t of tensors) expect(t.data.byteOffset % (t.dtype === 'U8' ? 1 : t.dtype === 'BF16' ? 2 : 4)).toBe(0);
  });

  test('a tensor or metadata key named "__proto__" is kept like any other name', () => {
    const bytes = encodeSafetensors([{ name: '__proto__', dtype: 'U8', shape: [1], data: Uint8Array.of(7) }], { ['__proto__']: 'kept' }); // computed: an own key
    const decoded = decodeSafetensors(bytes);
    expect(decoded.tensors.map((t) => [t.name, [...t.data]])).toEqual([['__proto__', [7]]]);
    expect(Object.entries(decoded.metadata)).toEqual([['__proto__', 'kept']]);
  });

  test('decoding does not depend on where the bytes sit in their buffer', () => {
    const bytes = encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) }]);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect([...tensorToFloat32(decodeSafetensors(shifted.subarray(3)).tensors[0])]).toEqual([1, 2, 3]);
  });

  test('F16 and BF16 widen to float32 exactly', () => {
    const f16 = Uint16Array.of(0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0xfc00, 0x3555);
    const expected = [0, -0, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 1, -2, 65504, Infinity, -Infinity, 0.333251953125];
    const bf16 = Uint16Array.of(0x3f80, 0xc040, 0x0001, 0x7f80, 0x3eaa);
    const bfExpected = [1, -3, new Float32Array(Uint32Array.of(0x00010000).buffer)[0], Infinity, new Float32Array(Uint32Array.of(0x3eaa0000).buffer)[0]];
    const { tensors } = decodeSafetensors(
      encodeSafetensors([
        { name: 'h', dtype: 'F16', shape: [f16.length], data: f16 },
        { name: 'b', dtype: 'BF16', shape: [bf16.length], data: bf16 },
        { name: 'nan', dtype: 'F16', shape: [1], data: Uint16Array.of(0x7e01) },
      ]),
    );
    const byName = Object.fromEntries(tensors.map((t) => [t.name, t]));
    const h = tensorToFloat32(byName.h);
    expect([...h]).toEqual(expected);
    expect(Object.is(h[1], -0)).toBe(true);
    expect([...tensorToFloat32(byName.b)]).toEqual(bfExpected);
    expect(new Uint32Array(tensorToFloat32(byName.nan).buffer)[0]).toBe(0x7fc02000); // payload kept
    const i32 = decodeSafetensors(encodeSafetensors([{ name: 'i', dtype: 'I32', shape: [1], data: Int32Array.of(1) }])).tensors[0];
    expect(() => tensorToFloat32(i32)).toThrow(/tensor "i" has dtype I32; only F32, F16 and BF16 convert/);
  });
});

describe('safetensors validation', () => {
  const okJson = JSON.stringify({ a: entry('F32', [2], 0, 8) });

  test('a file too short for the header length', () => {
    expectError(new Uint8Array(0), /file is 0 bytes, too short for the 8-byte header length/);
    expectError(new Uint8Array(7), /file is 7 bytes, too short/);
  });

  test('a header length past the end of the file or over the 100 MB limit', () => {
    expectError(file(okJson, le32(1, 2), 200), /header length 200 runs past the end of the \d+-byte file/);
    expectError(file(okJson, le32(1, 2), MAX_HEADER_BYTES + 1), /header length 100000001 exceeds the 100000000-byte limit/);
    expectError(file(okJson, le32(1, 2), 2n ** 63n + 8n), /header length 9223372036854775816 exceeds/);
  });

  test('a header that is not UTF-8, not an object or not JSON', () => {
    const bad = file(okJson, le32(1, 2));
    bad[10] = 0xff;
    expectError(bad, /header is not valid UTF-8/);
    expectError(file('[1, 2]'), /header does not start with "\{"/);
    expectError(file(' {}'), /header does not start with "\{"/);
    expectError(file('{"a": {"dtype": "F32",'), /header is not valid JSON/);
    expectError(file('{garbage}'), /header is not valid JSON/);
  });

  test('duplicate keys', () => {
    expectError(file(`{"a":${JSON.stringify(entry('F32', [1], 0, 4))},"a":${JSON.stringify(entry('F32', [1], 0, 4))}}`, le32(1)), /the key "a" twice/);
    expectError(file('{"__metadata__":{"k":"1","k":"2"}}'), /the key "k" twice/);
    // The same key in different objects, escaped names and brackets inside strings are fine.
    const json = JSON.stringify({ __metadata__: { dtype: 'x', 'a"[{': '}]' }, 'a\\"b': entry('F32', [1], 0, 4) });
    expect(decodeSafetensors(file(json, le32(7))).tensors[0].name).toBe('a\\"b');
  });

  test('metadata must map strings to strings', () => {
    expectError(file('{"__metadata__":{"n":1}}'), /"__metadata__" value "n" must be a string, got 1/);
    expectError(file('{"__metadata__":["x"]}'), /"__metadata__" must be an object of strings/);
  });

  test('malformed tensor entries', () => {
    expectError(file(JSON.stringify({ a: entry('F33', [2], 0, 8) }), le32(1, 2)), /tensor "a": unknown dtype "F33"/);
    expectError(file(JSON.stringify({ a: { shape: [2], data_offsets: [0, 8] } }), le32(1, 2)), /tensor "a": missing "dtype"/);
    expectError(file(JSON.stringify({ a: { ...entry('F32', [2], 0, 8), extra: 1 } }), le32(1, 2)), /tensor "a": unknown field "extra"/);
    expectError(file(JSON.stringify({ a: entry('F32', [-2], 0, 8) }), le32(1, 2)), /tensor "a": "shape" must be an array of non-negative integers, got \[-2\]/);
    expectError(file(JSON.stringify({ a: entry('F32', [1.5], 0, 8) }), le32(1, 2)), /"shape" must be an array/);
    expectError(file(JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4, 8] } }), le32(1, 2)), /"data_offsets" must be \[begin, end\]/);
    expectError(file(JSON.stringify({ a: entry('F32', [0], 8, 0) }), le32(1, 2)), /data_offsets \[8, 0\) end before they begin/);
    expectError(file('{"a": 3}'), /tensor "a": entry is not an object/);
  });

  test('shape × dtype size must equal the byte range', () => {
    expectError(file(JSON.stringify({ a: entry('F32', [3], 0, 8) }), le32(1, 2)), /tensor "a": shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\) hold 8/);
    expectError(file(JSON.stringify({ a: entry('F64', [2], 0, 8) }), le32(1, 2)), /shape \[2\] of F64 needs 16 bytes/);
  });

  test('data offsets must tile the data section: truncated, overlapping, holes, trailing bytes', () => {
    expectError(file(okJson, le32(1)), /tensor "a" needs data bytes \[0, 8\) but the data section has only 4 bytes \(truncated\?\)/);
    expectError(file(okJson, le32(1, 2).subarray(0, 7)), /tensor "a" needs data bytes \[0, 8\) but the data section has only 7 bytes/); // one byte short
    const two = (b0: number, b1: number) => JSON.stringify({ a: entry('F32', [1], b0, b0 + 4), b: entry('F32', [1], b1, b1 + 4) });
    expectError(file(two(0, 2), le32(1, 2)), /tensor "b" \[2, 6\) overlaps tensor "a" \[0, 4\)/);
    expectError(file(two(0, 0), le32(1, 2)), /overlaps/);
    expectError(file(two(0, 8), le32(1, 2, 3)), /data bytes \[4, 8\) belong to no tensor \(a hole before "b"\)/);
    expectError(file(two(4, 8), le32(1, 2, 3)), /data bytes \[0, 4\) belong to no tensor \(a hole before "a"\)/);
    expectError(file(okJson, le32(1, 2, 3)), /4 trailing bytes after the last tensor \(data section is 12 bytes, tensors cover 8\)/);
    expectError(file('{}', Uint8Array.of(0)), /1 trailing bytes/);
    // Out-of-order offsets in the JSON are fine (the reference sorts by offset too).
    expect(decodeSafetensors(file(two(4, 0), le32(1, 2))).tensors.map((t) => t.name)).toEqual(['b', 'a']);
  });

  test('the encoder rejects what the decoder would', () => {
    const t = { name: 'a', dtype: 'F32' as const, shape: [2], data: Float32Array.of(1, 2) };
    expect(() => encodeSafetensors([t, t])).toThrow(/duplicate tensor name "a"/);
    expect(() => encodeSafetensors([{ ...t, name: '__metadata__' }])).toThrow(/"__metadata__" is reserved/);
    expect(() => encodeSafetensors([{ ...t, name: '' }])).toThrow(/non-empty name/);
    expect(() => encodeSafetensors([{ ...t, shape: [3] }])).toThrow(/tensor "a": shape \[3\] of F32 needs 12 bytes, data has 8/);
    expect(() => encodeSafetensors([{ ...t, shape: [-2] }])).toThrow(/must be non-negative integers/);
    expect(() => encodeSafetensors([{ ...t, dtype: 'F128' as 'F32' }])).toThrow(/unknown dtype F128/);
    expect(() => encodeSafetensors([t], { n: 1 as unknown as string })).toThrow(/metadata "n" must be a string/);
  });
});
