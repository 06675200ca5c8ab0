// Elementwise comparison with an explicit tolerance: |actual − expected| ≤ atol + rtol·|expected|.
// On failure the message names the first offending index, both values and the worst error.
import { expect } from 'vitest';

export interface Tolerance {
  atol: number;
  rtol: number;
}

/**
 * `scale` (optional) replaces |expected| in the bound, elementwise: for a value computed as a sum of terms that may
 * cancel, pass Σ|term|, the size its rounding errors scale with.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  what: string,
  scale: ArrayLike<number> = expected,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  expect(scale.length, `${what}: scale length`).toBe(expected.length);
  let worst = 0;
  let firstBad = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e);
    const ok = (Number.isNaN(a) && Number.isNaN(e)) || a === e || err <= tol.atol + tol.rtol * Math.abs(scale[i]);
    if (!ok && firstBad < 0) firstBad = i;
    if (Number.isFinite(err)) worst = Math.max(worst, err);
  }
  if (firstBad >= 0) {
    expect.fail(
      `${what}: element ${firstBad} is ${actual[firstBad]}, expected ${expected[firstBad]} ` +
        `(atol ${tol.atol}, rtol ${tol.rtol}; worst abs error ${worst.toExponential(3)} over ${expected.length})`,
    );
  }
}

/** Every value finite (no NaN/Inf leaked out of a numerically hard case). */
export function expectFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) expect.fail(`${what}: element ${i} is ${values[i]}`);
  }
}

/**
 * The largest |logit| difference allowed between the engine's greedy generation and ONNX Runtime's on the same policy
 * (the page's ONNX check). Both compute in float32 (an ulp at the base model's |logits| ≤ 17 is 2e-6), each a few
 * ulps per layer off the float64 reference (tests/model/gpt.test.ts, tests/onnx/gpt-export.test.ts): measured 1.3e-5
 * on the base model, 6e-6 on a random nano policy. 1e-3 leaves 75× of room for other machines' rounding and is still
 * far below any real disagreement (another policy's weights, a logit row off by one position: O(0.1–10)).
 */
export const ENGINE_VS_ORT_LOGITS = 1e-3;
