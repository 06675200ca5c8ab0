// The exported GPT runs in ONNX Runtime Web's WebGPU execution provider inside headless Chromium and matches the
// float64 reference logits (the Node suite checks the wasm EP).
import * as ort from 'onnxruntime-web/webgpu';
import { describe, expect, test } from 'vitest';
import { makeConfig } from '../../src/model/config';
import { exportGptOnnx } from '../../src/onnx/gpt-export';
import { gptForward } from '../../src/reference/gpt';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { integers } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

// Same budget as the wasm test (f32 vs f64 through 2 layers with std-0.3 weights, |logits| ≲ 6), with room for
// the WebGPU EP's different reduction orders in MatMul/Softmax/LayerNormalization.
const TOL = { atol: 1e-4, rtol: 5e-5 };

describe('ONNX export on the WebGPU execution provider', () => {
  test('logits match the float64 reference GPT', async () => {
    const config = makeConfig('nano', { vocabSize: 37 });
    const weights = randomGptWeights(config, 11, 0.3);
    const session = await ort.InferenceSession.create(exportGptOnnx(config, weights), { executionProviders: ['webgpu'] });
    // The WebGPU backend really initialised (it owns a device), rather than the session silently running on wasm.
    expect((await ort.env.webgpu.device).limits.maxComputeWorkgroupSizeX).toBeGreaterThan(0);
    try {
      for (const [B, T] of [
        [2, 7],
        [1, config.contextLength],
      ]) {
        const tokens = integers(B * T, config.vocabSize, 100 + T);
        const { logits } = await session.run({
          tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, (t) => BigInt(t)), [B, T]),
        });
        expect(logits.dims).toEqual([B, T, config.vocabSize]);
        expectClose((await logits.getData()) as Float32Array, gptForward(config, weights, tokens, B, T), TOL, `WebGPU EP logits B=${B} T=${T}`);
      }
    } finally {
      await session.release();
    }
  });
});
