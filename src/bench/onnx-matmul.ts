// A hand-encoded ONNX model holding one MatMul: Y (M,N) = A (M,K) · B (K,N), all float32.
// ONNX's ModelProto is plain protobuf, so a ~40-line writer (varints, length-delimited fields) is all it takes;
// field numbers are from onnx/onnx.proto3.

/** Protobuf wire types used here: 0 = varint, 2 = length-delimited (strings, bytes, sub-messages). */
type Field = [field: number, value: number | string | Uint8Array];

function varint(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) throw new Error(`varint: bad value ${value}`);
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return bytes;
}

/** One protobuf message from its fields in order: numbers become varints, strings UTF-8, byte arrays sub-messages. */
export function message(...fields: Field[]): Uint8Array {
  const out: number[] = [];
  for (const [field, value] of fields) {
    if (typeof value === 'number') {
      out.push(...varint(field * 8 + 0), ...varint(value));
    } else {
      const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      out.push(...varint(field * 8 + 2), ...varint(bytes.length));
      for (const b of bytes) out.push(b);
    }
  }
  return Uint8Array.from(out);
}

const FLOAT = 1; // TensorProto.DataType.FLOAT

/** ValueInfoProto { name = 1, type = 2 } with TypeProto { tensor_type = 1 { elem_type = 1, shape = 2 { dim = 1 { dim_value = 1 } } } }. */
function floatTensorInfo(name: string, dims: readonly number[]): Uint8Array {
  const shape = message(...dims.map((d): Field => [1, message([1, d])]));
  const tensorType = message([1, FLOAT], [2, shape]);
  return message([1, name], [2, message([1, tensorType])]);
}

/**
 * ModelProto bytes for Y = MatMul(A, B) with static shapes A (M,K), B (K,N), Y (M,N).
 * ModelProto { ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 };
 * GraphProto { node = 1, name = 2, input = 11, output = 12 }; NodeProto { input = 1, output = 2, name = 3, op_type = 4 }.
 */
export function matmulModel(m: number, k: number, n: number): Uint8Array {
  for (const d of [m, k, n]) if (!Number.isInteger(d) || d < 1) throw new Error(`matmulModel: bad shape ${m}×${k}×${n}`);
  const node = message([1, 'A'], [1, 'B'], [2, 'Y'], [3, 'matmul'], [4, 'MatMul']);
  const graph = message(
    [1, node],
    [2, 'matmul'],
    [11, floatTensorInfo('A', [m, k])],
    [11, floatTensorInfo('B', [k, n])],
    [12, floatTensorInfo('Y', [m, n])],
  );
  const opset = message([1, ''], [2, 13]); // OperatorSetIdProto { domain = 1, version = 2 }: default domain, opset 13
  return message([1, 8], [2, 'rlhf-lab-bench'], [7, graph], [8, opset]); // IR version 8 goes with opset 13
}
