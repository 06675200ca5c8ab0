// A small protobuf writer and the ONNX messages built with it. ONNX's ModelProto is plain protobuf, so varints,
// fixed32 floats and length-delimited fields are all it takes. Field numbers are from onnx/onnx.proto (proto2:
// repeated scalars are written unpacked, one tag per element, which every parser accepts).
// Used by the GPT exporter (src/onnx/gpt-export.ts) and the matmul benchmark model (src/bench/onnx-matmul.ts).

/** A float written as a fixed32 field (wire type 5), e.g. AttributeProto.f. */
export interface Fixed32 {
  readonly fixed32: number;
}
/** f32(x): mark a number as a 32-bit float field instead of a varint. */
export const f32 = (value: number): Fixed32 => ({ fixed32: value });

/**
 * One field: numbers and bigints become varints (int64 semantics: negatives are 10-byte two's complement),
 * strings UTF-8, byte arrays length-delimited (sub-messages, raw bytes), Fixed32 a little-endian float.
 */
export type Field = [field: number, value: number | bigint | string | Uint8Array | Fixed32];

const utf8 = new TextEncoder();

function varint(value: number | bigint): number[] {
  let v: bigint;
  if (typeof value === 'bigint') {
    v = value;
  } else {
    if (!Number.isSafeInteger(value)) throw new Error(`varint: bad value ${value}`);
    v = BigInt(value);
  }
  if (v < -(1n << 63n) || v >= 1n << 64n) throw new Error(`varint: ${v} does not fit in 64 bits`);
  if (v < 0n) v += 1n << 64n; // int64 on the wire: two's complement as uint64
  const bytes: number[] = [];
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return bytes;
}

/** One protobuf message from its fields, in the order given. */
export function message(...fields: Field[]): Uint8Array {
  // Collect (header, payload) parts first and copy once: initializers can be megabytes.
  const parts: (number[] | Uint8Array)[] = [];
  let length = 0;
  const add = (part: number[] | Uint8Array) => {
    parts.push(part);
    length += part.length;
  };
  for (const [field, value] of fields) {
    if (!Number.isInteger(field) || field < 1 || field > 536870911) throw new Error(`protobuf: bad field number ${field}`);
    if (typeof value === 'number' || typeof value === 'bigint') {
      add(varint(field * 8 + 0));
      add(varint(value));
    } else if (typeof value === 'string' || value instanceof Uint8Array) {
      const bytes = typeof value === 'string' ? utf8.encode(value) : value;
      add(varint(field * 8 + 2));
      add(varint(bytes.length));
      add(bytes);
    } else {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setFloat32(0, value.fixed32, true);
      add(varint(field * 8 + 5));
      add(bytes);
    }
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// ONNX messages

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

/** Raw little-endian bytes of a typed array (copied only on a big-endian host, to byte-swap). */
function littleEndianBytes(data: ArrayBufferView & { BYTES_PER_ELEMENT: number }): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return bytes;
  const swapped = bytes.slice();
  const w = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < swapped.length; i += w) swapped.subarray(i, i + w).reverse();
  return swapped;
}
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function checkDims(what: string, dims: readonly number[], elements: number): void {
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${what}: bad dims [${dims.join(', ')}]`);
  if (count(dims) !== elements) throw new Error(`${what}: dims [${dims.join(', ')}] hold ${count(dims)} elements, data has ${elements}`);
}

/** TensorProto { dims = 1, data_type = 2, name = 8, raw_data = 9 } with little-endian raw bytes. */
export function tensorProto(name: string, dataType: DataTypeValue, dims: readonly number[], rawData: Uint8Array): Uint8Array {
  return message(...dims.map((d): Field => [1, d]), [2, dataType], [8, name], [9, rawData]);
}

/** A float32 initializer (bit-exact: the bytes of `data`). */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): Uint8Array {
  checkDims(`floatTensor ${name}`, dims, data.length);
  return tensorProto(name, DataType.FLOAT, dims, littleEndianBytes(data));
}

/** An int64 initializer; dims [] is a scalar. */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): Uint8Array {
  checkDims(`int64Tensor ${name}`, dims, values.length);
  return tensorProto(name, DataType.INT64, dims, littleEndianBytes(BigInt64Array.from(values, (v) => BigInt(v))));
}

/** A bool initializer (one byte per element, 0 or 1). */
export function boolTensor(name: string, dims: readonly number[], values: ArrayLike<boolean | number>): Uint8Array {
  checkDims(`boolTensor ${name}`, dims, values.length);
  return tensorProto(name, DataType.BOOL, dims, Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0)));
}

/**
 * ValueInfoProto { name = 1, type = 2 } with TypeProto { tensor_type = 1 { elem_type = 1, shape = 2 } },
 * TensorShapeProto { dim = 1 { dim_value = 1 | dim_param = 2 } }: a number is a fixed size, a string a named
 * dynamic dimension.
 */
export function valueInfo(name: string, elemType: DataTypeValue, dims: readonly (number | string)[]): Uint8Array {
  const shape = message(...dims.map((d): Field => [1, typeof d === 'number' ? message([1, d]) : message([2, d])]));
  const tensorType = message([1, elemType], [2, shape]);
  return message([1, name], [2, message([1, tensorType])]);
}

// AttributeProto { name = 1, f = 2, i = 3, s = 4, t = 5, floats = 7, ints = 8, type = 20 }
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;
export const attrInt = (name: string, value: number): Uint8Array => message([1, name], [3, value], [20, AttributeType.INT]);
export const attrFloat = (name: string, value: number): Uint8Array => message([1, name], [2, f32(value)], [20, AttributeType.FLOAT]);
export const attrString = (name: string, value: string): Uint8Array => message([1, name], [4, value], [20, AttributeType.STRING]);
export const attrTensor = (name: string, tensor: Uint8Array): Uint8Array => message([1, name], [5, tensor], [20, AttributeType.TENSOR]);
export const attrInts = (name: string, values: readonly number[]): Uint8Array =>
  message([1, name], ...values.map((v): Field => [8, v]), [20, AttributeType.INTS]);
export const attrFloats = (name: string, values: readonly number[]): Uint8Array =>
  message([1, name], ...values.map((v): Field => [7, f32(v)]), [20, AttributeType.FLOATS]);

export interface NodeSpec {
  op: string;
  inputs: readonly string[]; // '' for an omitted optional input
  outputs: readonly string[];
  name?: string;
  attributes?: readonly Uint8Array[]; // from attrInt/attrFloat/…
  domain?: string; // default: the standard ONNX domain
}

/** NodeProto { input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7 }. */
export function nodeProto(spec: NodeSpec): Uint8Array {
  const fields: Field[] = [...spec.inputs.map((s): Field => [1, s]), ...spec.outputs.map((s): Field => [2, s])];
  if (spec.name !== undefined) fields.push([3, spec.name]);
  fields.push([4, spec.op]);
  for (const a of spec.attributes ?? []) fields.push([5, a]);
  if (spec.domain !== undefined) fields.push([7, spec.domain]);
  return message(...fields);
}

export interface GraphSpec {
  name: string;
  nodes: readonly Uint8Array[];
  initializers?: readonly Uint8Array[]; // not listed as inputs (IR ≥ 4)
  inputs: readonly Uint8Array[]; // valueInfo
  outputs: readonly Uint8Array[]; // valueInfo
  docString?: string;
}

/** GraphProto { node = 1, name = 2, initializer = 5, doc_string = 10, input = 11, output = 12 }. */
export function graphProto(spec: GraphSpec): Uint8Array {
  const fields: Field[] = [...spec.nodes.map((n): Field => [1, n]), [2, spec.name]];
  for (const t of spec.initializers ?? []) fields.push([5, t]);
  if (spec.docString !== undefined) fields.push([10, spec.docString]);
  for (const v of spec.inputs) fields.push([11, v]);
  for (const v of spec.outputs) fields.push([12, v]);
  return message(...fields);
}

export interface ModelSpec {
  irVersion: number;
  opsetVersion: number; // of the default ("") domain
  producerName: string;
  producerVersion?: string;
  docString?: string;
  graph: Uint8Array;
  metadata?: Record<string, string>; // metadata_props
}

/**
 * ModelProto { ir_version = 1, producer_name = 2, producer_version = 3, doc_string = 6, graph = 7,
 * opset_import = 8 { domain = 1, version = 2 }, metadata_props = 14 { key = 1, value = 2 } }.
 */
export function modelProto(spec: ModelSpec): Uint8Array {
  const fields: Field[] = [[1, spec.irVersion], [2, spec.producerName]];
  if (spec.producerVersion !== undefined) fields.push([3, spec.producerVersion]);
  if (spec.docString !== undefined) fields.push([6, spec.docString]);
  fields.push([7, spec.graph], [8, message([1, ''], [2, spec.opsetVersion])]);
  for (const [key, value] of Object.entries(spec.metadata ?? {})) fields.push([14, message([1, key], [2, value])]);
  return message(...fields);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading (for inspecting written models, e.g. in tests)

/** One decoded field: varints as bigint (uint64; reinterpret for negatives), length-delimited as bytes. */
export interface ReadField {
  field: number;
  wireType: 0 | 1 | 2 | 5;
  value: bigint | Uint8Array; // wire types 1 and 5: the 8 or 4 raw little-endian bytes
}

/** The fields of one message, in order. Throws on malformed input. */
export function readFields(bytes: Uint8Array): ReadField[] {
  const out: ReadField[] = [];
  let i = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= bytes.length || shift > 63n) throw new Error('protobuf: truncated or overlong varint');
      const b = bytes[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  const take = (n: number): Uint8Array => {
    if (i + n > bytes.length) throw new Error('protobuf: field runs past the end of the message');
    return bytes.subarray(i, (i += n));
  };
  while (i < bytes.length) {
    const key = readVarint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === 0) out.push({ field, wireType, value: readVarint() });
    else if (wireType === 2) out.push({ field, wireType, value: take(Number(readVarint())) });
    else if (wireType === 1 || wireType === 5) out.push({ field, wireType, value: take(wireType === 1 ? 8 : 4) });
    else throw new Error(`protobuf: unsupported wire type ${wireType}`);
  }
  return out;
}
