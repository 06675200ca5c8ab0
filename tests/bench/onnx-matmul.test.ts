import * as ort from 'onnxruntime-web';
import { describe, expect, test } from 'vitest';
import { matmulModel, message } from '../../src/bench/onnx-matmul';
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

describe('protobuf writer', () => {
  test('encodes varints, strings and nested messages as protobuf does', () => {
    // Examples from the protobuf encoding guide: field 1 = 150 → 08 96 01; field 2 = "testing" → 12 07 74 65 73 74 69 6e 67.
    expect([...message([1, 150])]).toEqual([0x08, 0x96, 0x01]);
    expect([...message([2, 'testing'])]).toEqual([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
    expect([...message([3, message([1, 150])])]).toEqual([0x1a, 0x03, 0x08, 0x96, 0x01]);
    expect([...message([1, 0], [1, 2 ** 35])]).toEqual([0x08, 0x00, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    expect(() => message([1, -1])).toThrow(/varint/);
  });
});

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

  test('rejects shapes that are not positive integers', () => {
    expect(() => matmulModel(0, 4, 4)).toThrow(/matmulModel: bad shape 0×4×4/);
    expect(() => matmulModel(2.5, 4, 4)).toThrow(/bad shape/);
  });
});
