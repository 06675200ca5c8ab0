import * as ort from 'onnxruntime-web';
import { describe, expect, test } from 'vitest';
import { matmulModel } from '../../src/bench/onnx-matmul';
import { uniform } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

function matmulCpu(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
    c[i * n + j] = s;
  }
  return c;
}

describe('hand-encoded ONNX MatMul model', () => {
  // onnxruntime-web's wasm build runs in Node: the same model file the benchmark gives the WebGPU EP.
  for (const [m, k, n] of [
    [1, 1, 1],
    [17, 33, 5],
    [64, 40, 24],
  ]) {
    test(`runs in onnxruntime-web (wasm) and matches a float64 product, ${m}×${k}×${n}`, async () => {
      ort.env.wasm.numThreads = 1;
      const session = await ort.InferenceSession.create(matmulModel(m, k, n), { executionProviders: ['wasm'] });
      expect(session.inputNames).toEqual(['A', 'B']);
      expect(session.outputNames).toEqual(['Y']);
      const a = uniform(m * k, 1);
      const b = uniform(k * n, 2);
      const { Y } = await session.run({
        A: new ort.Tensor('float32', a, [m, k]),
        B: new ort.Tensor('float32', b, [k, n]),
      });
      expect(Y.dims).toEqual([m, n]);
      // f32 sums of k ≤ 40 products of values in [-1, 1]: rounding stays below k·2⁻²⁴·max|partial sum| ≈ 1e-5.
      expectClose(Y.data as Float32Array, matmulCpu(a, b, m, k, n), { atol: 2e-5, rtol: 1e-5 }, 'ORT MatMul');
      await session.release();
    });
  }

  test('encodes the same ModelProto bytes as before the writer moved to src/onnx/protobuf.ts', () => {
    // ModelProto { ir_version 8, producer "rlhf-lab-bench", graph { node MatMul(A,B)→Y, inputs A (2,3), B (3,4),
    // output Y (2,4) }, opset_import { "" 13 } }, as the original inline writer produced it.
    const expected =
      '0808120e726c68662d6c61622d62656e63683a620a190a01410a01421201591a066d61746d756c22064d61744d756c12066d61746d756c' +
      '5a130a0141120e0a0c080112080a0208020a0208035a130a0142120e0a0c080112080a0208030a02080462130a0159120e0a0c0801' +
      '12080a0208020a02080442040a00100d';
    expect(Buffer.from(matmulModel(2, 3, 4)).toString('hex')).toBe(expected);
  });

  test('rejects shapes that are not positive integers', () => {
    expect(() => matmulModel(0, 4, 4)).toThrow(/matmulModel: bad shape 0×4×4/);
    expect(() => matmulModel(2.5, 4, 4)).toThrow(/bad shape/);
  });
});
