import { describe, expect, test } from 'vitest';
import { type AdamWConfig, type AdamWState, adamwStep } from '../../src/reference/adamw';
import { gradNorm } from '../../src/reference/gradnorm';
import { normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

/** PyTorch's torch.optim.adamw._single_tensor_adamw, transcribed op by op (in-place ops as loops). */
function torchAdamW(p: Float64Array, grad: Float64Array, expAvg: Float64Array, expAvgSq: Float64Array, step: number, cfg: AdamWConfig): void {
  const { lr, beta1, beta2, eps, weightDecay } = cfg;
  for (let i = 0; i < p.length; i++) p[i] *= 1 - lr * weightDecay; // param.mul_(1 - lr * weight_decay)
  for (let i = 0; i < p.length; i++) expAvg[i] += (grad[i] - expAvg[i]) * (1 - beta1); // exp_avg.lerp_(grad, 1 - beta1)
  for (let i = 0; i < p.length; i++) expAvgSq[i] = expAvgSq[i] * beta2 + (1 - beta2) * grad[i] * grad[i];
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2 = 1 - beta2 ** step;
  const stepSize = lr / biasCorrection1;
  const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
  for (let i = 0; i < p.length; i++) {
    const denom = Math.sqrt(expAvgSq[i]) / biasCorrection2Sqrt + eps;
    p[i] += -stepSize * (expAvg[i] / denom); // param.addcdiv_(exp_avg, denom, value=-step_size)
  }
}

// Float64 on both sides: they differ only by reassociation, ~1e-16 relative.
const TOL = { atol: 1e-14, rtol: 1e-12 };

describe('reference adamw', () => {
  for (const weightDecay of [0, 0.1]) {
    for (const maxNorm of [0, 1]) {
      test(`5 steps match a PyTorch-semantics loop (wd=${weightDecay}, maxNorm=${maxNorm})`, () => {
        const n = 37;
        const cfg: AdamWConfig = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay };
        let state: AdamWState = { params: Float64Array.from(normal(n, 1)), m: new Float64Array(n), v: new Float64Array(n) };
        const torch = { p: Float64Array.from(state.params), m: new Float64Array(n), v: new Float64Array(n) };
        for (let t = 1; t <= 5; t++) {
          const g = Float64Array.from(normal(n, 10 + t, 0.5));
          const [norm, scale] = gradNorm(g, maxNorm);
          if (maxNorm > 0) expect(scale, `clipping active at t=${t} (norm ${norm})`).toBeLessThan(1);
          state = adamwStep(state.params, g, state.m, state.v, t, cfg, scale);
          // PyTorch clips the .grad tensors in place (clip_grad_norm_) before optimizer.step().
          torchAdamW(torch.p, g.map((x) => x * scale), torch.m, torch.v, t, cfg);
          expectClose(state.params, torch.p, TOL, `params at t=${t}`);
          expectClose(state.m, torch.m, TOL, `m at t=${t}`);
          expectClose(state.v, torch.v, TOL, `v at t=${t}`);
        }
      });
    }
  }

  test('the first step moves each parameter by lr·sign(g); a constant gradient keeps doing so', () => {
    // At t = 1, m̂ = g and v̂ = g², so m̂/√v̂ = sign(g); with g constant, m̂ = g and v̂ = g² at every t.
    const n = 16;
    const lr = 1e-3;
    const cfg: AdamWConfig = { lr, beta1: 0.9, beta2: 0.999, eps: 1e-12, weightDecay: 0 };
    const g = Float64Array.from(normal(n, 4));
    let state: AdamWState = { params: Float64Array.from(normal(n, 5)), m: new Float64Array(n), v: new Float64Array(n) };
    for (let t = 1; t <= 4; t++) {
      const before = state.params;
      state = adamwStep(state.params, g, state.m, state.v, t, cfg);
      expectClose(state.params.map((p, i) => before[i] - p), g.map((x) => lr * Math.sign(x)), { atol: 1e-12, rtol: 1e-9 }, `step ${t}`);
    }
  });

  test('weight decay alone shrinks parameters by the factor 1 − lr·wd', () => {
    const cfg: AdamWConfig = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5 };
    const next = adamwStep([2, -4], [0, 0], [0, 0], [0, 0], 1, cfg);
    expectClose(next.params, [2 * 0.95, -4 * 0.95], { atol: 1e-15, rtol: 1e-15 }, 'decayed params');
  });
});
