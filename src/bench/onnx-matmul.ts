// A hand-encoded ONNX model holding one MatMul: Y (M,N) = A (M,K) · B (K,N), all float32, static shapes.
// The protobuf/ONNX writer is shared with the GPT exporter (src/onnx/protobuf.ts).
import { DataType, graphProto, modelProto, nodeProto, valueInfo } from '../onnx/protobuf';

/** ModelProto bytes for Y = MatMul(A, B) with static shapes A (M,K), B (K,N), Y (M,N); opset 13, IR version 8. */
export function matmulModel(m: number, k: number, n: number): Uint8Array {
  for (const d of [m, k, n]) if (!Number.isInteger(d) || d < 1) throw new Error(`matmulModel: bad shape ${m}×${k}×${n}`);
  const graph = graphProto({
    name: 'matmul',
    nodes: [nodeProto({ op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'], name: 'matmul' })],
    inputs: [valueInfo('A', DataType.FLOAT, [m, k]), valueInfo('B', DataType.FLOAT, [k, n])],
    outputs: [valueInfo('Y', DataType.FLOAT, [m, n])],
  });
  return modelProto({ irVersion: 8, opsetVersion: 13, producerName: 'rlhf-lab-bench', graph });
}
