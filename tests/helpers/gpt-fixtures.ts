// Seeded GPT weights and tiny shapes for tests of the reference GPT and the GPU model.
import { referenceParameterShapes, type GptShape } from '../../src/reference/gpt';
import { normal } from './random';

/** Small enough for finite differences over every parameter (1,912 of them), big enough to have 2 heads and 2 layers. */
export const TINY_GPT: GptShape = { vocabSize: 11, contextLength: 8, nLayer: 2, nHead: 2, dModel: 8 };

/**
 * Weights keyed by GPT-2 name (Float32Array, the CPU weight convention): N(0, std²) everywhere except the
 * LayerNorm weights, which are 1 + N(0, std²) so the norms neither vanish nor are all exactly 1. Each parameter
 * has its own seed derived from `seed`.
 */
export function randomGptWeights(shape: GptShape, seed: number, std = 0.3): Record<string, Float32Array> {
  const weights: Record<string, Float32Array> = {};
  referenceParameterShapes(shape).forEach((p, i) => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const w = normal(n, seed * 1000 + i, std);
    if (/ln_\w+\.weight$/.test(p.name)) for (let j = 0; j < n; j++) w[j] += 1;
    weights[p.name] = w;
  });
  return weights;
}

/** A float64 copy (values unchanged), e.g. for perturbing by finite-difference steps a float32 cannot hold. */
export function float64Weights(weights: Record<string, ArrayLike<number>>): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const [name, w] of Object.entries(weights)) out[name] = Float64Array.from(w);
  return out;
}
