// Launchers for shaders/residual_forward.wgsl and residual_backward.wgsl: the residual connection out = a + b.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSameSize } from './checks';
import { grid1d } from './grid';

// a (N), b (N) → out (N)
export function residualForward(step: Step, a: Tensor, b: Tensor, out: Tensor): void {
  assertSameSize('residual_forward', a, b, out);
  for (const t of [a, b, out]) assertDType('residual_forward', t, 'f32');
  step.dispatch({ shader: 'residual_forward', uniforms: params([a.size]), bindings: [a, b, out], workgroups: grid1d(a.size, 256) });
}

export interface ResidualBackwardOptions {
  /** Multiplies the incoming gradient (default 1). */
  scale?: number;
  /** dinp += scale·dout (default) or dinp = scale·dout, which saves zeroing a fresh gradient buffer. */
  accumulate?: boolean;
}

/**
 * dout (N) → dinp (N): dinp += scale·dout. out = a + b hands dout unchanged to both branches, so the backward
 * of one residual is this call once per branch gradient (da, then db); with a single shared buffer it is one call.
 */
export function residualBackward(step: Step, dout: Tensor, dinp: Tensor, options: ResidualBackwardOptions = {}): void {
  const { scale = 1, accumulate = true } = options;
  assertSameSize('residual_backward', dout, dinp);
  for (const t of [dout, dinp]) assertDType('residual_backward', t, 'f32');
  if (!Number.isFinite(scale)) throw new Error(`residual_backward: scale must be finite, got ${scale}`);
  if (dout.buffer === dinp.buffer) throw new Error(`residual_backward: dout and dinp are the same buffer (${dinp.label})`);
  step.dispatch({
    shader: 'residual_backward',
    uniforms: params([dout.size, accumulate ? 1 : 0], [scale]),
    bindings: [dout, dinp],
    workgroups: grid1d(dout.size, 256),
  });
}
