import { describe, expect, test } from 'vitest';
import {
  attrFloat,
  attrInts,
  boolTensor,
  DataType,
  f32,
  floatTensor,
  int64Tensor,
  message,
  readFields,
  valueInfo,
} from '../../src/onnx/protobuf';

const bytes = (b: Uint8Array) => [...b];
const text = (v: bigint | Uint8Array) => new TextDecoder().decode(v as Uint8Array);

describe('protobuf writer', () => {
  test('encodes varints, strings and nested messages as protobuf does', () => {
    // Examples from the protobuf encoding guide: field 1 = 150 → 08 96 01; field 2 = "testing" → 12 07 74 65 73 74 69 6e 67.
    expect(bytes(message([1, 150]))).toEqual([0x08, 0x96, 0x01]);
    expect(bytes(message([2, 'testing']))).toEqual([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
    expect(bytes(message([3, message([1, 150])]))).toEqual([0x1a, 0x03, 0x08, 0x96, 0x01]);
    expect(bytes(message([1, 0], [1, 2 ** 35]))).toEqual([0x08, 0x00, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    expect(bytes(message([1, 2n ** 64n - 1n]))).toEqual([0x08, ...Array(9).fill(0xff), 0x01]);
  });

  test('negative int64 values are 10-byte two’s complement varints (axis = -1)', () => {
    expect(bytes(message([3, -1]))).toEqual([0x18, ...Array(9).fill(0xff), 0x01]);
    expect(bytes(message([3, -2]))).toEqual([0x18, 0xfe, ...Array(8).fill(0xff), 0x01]);
  });

  test('floats are fixed32 little-endian (wire type 5)', () => {
    // field 2, wire type 5 → key 0x15; 1e-5 as float32 = 0x3727c5ac.
    expect(bytes(message([2, f32(1e-5)]))).toEqual([0x15, 0xac, 0xc5, 0x27, 0x37]);
    expect(bytes(message([2, f32(-0)]))).toEqual([0x15, 0, 0, 0, 0x80]);
  });

  test('rejects values protobuf cannot hold', () => {
    expect(() => message([1, 0.5])).toThrow(/varint: bad value 0.5/);
    expect(() => message([1, 2 ** 64])).toThrow(/varint: bad value/);
    expect(() => message([1, 2n ** 64n])).toThrow(/does not fit in 64 bits/);
    expect(() => message([0, 1])).toThrow(/bad field number 0/);
  });

  test('readFields decodes what message writes', () => {
    const inner = message([1, 'x']);
    const fields = readFields(message([1, -1], [2, 'hé'], [3, inner], [4, f32(2.5)]));
    expect(fields.map((f) => [f.field, f.wireType])).toEqual([[1, 0], [2, 2], [3, 2], [4, 5]]);
    expect(BigInt.asIntN(64, fields[0].value as bigint)).toBe(-1n);
    expect(text(fields[1].value)).toBe('hé');
    expect(bytes(fields[2].value as Uint8Array)).toEqual(bytes(inner));
    expect(new DataView((fields[3].value as Uint8Array).slice().buffer).getFloat32(0, true)).toBe(2.5);
    expect(() => readFields(Uint8Array.of(0x12, 0x05, 0x61))).toThrow(/runs past the end/);
    expect(() => readFields(Uint8Array.of(0x08, 0x80))).toThrow(/truncated/);
  });
});

describe('ONNX messages', () => {
  test('TensorProto: dims, data type, name, raw little-endian data', () => {
    const t = readFields(floatTensor('w', [2, 1], Float32Array.of(1, -2)));
    expect(t.map((f) => f.field)).toEqual([1, 1, 2, 8, 9]);
    expect(t.slice(0, 3).map((f) => f.value)).toEqual([2n, 1n, BigInt(DataType.FLOAT)]);
    expect(text(t[3].value)).toBe('w');
    expect(bytes(t[4].value as Uint8Array)).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    const scalar = readFields(int64Tensor('s', [], [-3]));
    expect(scalar.map((f) => f.field)).toEqual([2, 8, 9]); // no dims: a scalar
    expect(bytes(scalar[2].value as Uint8Array)).toEqual([0xfd, ...Array(7).fill(0xff)]);
    expect(bytes(readFields(boolTensor('m', [3], [true, false, 1]))[3].value as Uint8Array)).toEqual([1, 0, 1]);
    expect(() => floatTensor('w', [3], Float32Array.of(1, 2))).toThrow(/floatTensor w: dims \[3\] hold 3 elements, data has 2/);
  });

  test('ValueInfoProto with fixed and named dimensions', () => {
    const [name, type] = readFields(valueInfo('tokens', DataType.INT64, ['batch', 5]));
    expect(text(name.value)).toBe('tokens');
    const [tensorType] = readFields(type.value as Uint8Array);
    const [elem, shape] = readFields(tensorType.value as Uint8Array);
    expect(elem.value).toBe(BigInt(DataType.INT64));
    const dims = readFields(shape.value as Uint8Array).map((d) => readFields(d.value as Uint8Array)[0]);
    expect(dims.map((d) => d.field)).toEqual([2, 1]); // dim_param, dim_value
    expect(text(dims[0].value)).toBe('batch');
    expect(dims[1].value).toBe(5n);
  });

  test('attributes carry their type (AttributeProto.type = 20)', () => {
    const eps = readFields(attrFloat('epsilon', 1e-5));
    expect(eps.map((f) => [f.field, f.wireType])).toEqual([[1, 2], [2, 5], [20, 0]]);
    expect(eps[2].value).toBe(1n); // FLOAT
    const perm = readFields(attrInts('perm', [0, 2, 1, 3]));
    expect(perm.filter((f) => f.field === 8).map((f) => f.value)).toEqual([0n, 2n, 1n, 3n]);
    expect(perm[perm.length - 1].value).toBe(7n); // INTS
  });
});
