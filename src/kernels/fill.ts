// Launcher for shaders/fill_constant.wgsl: sets every element of a tensor to one value on the GPU.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType } from './checks';
import { grid1d } from './grid';

// out (N) ← value
export function fillConstant(step: Step, out: Tensor, value = 0): void {
  assertDType('fill_constant', out, 'f32');
  if (!Number.isFinite(value)) throw new Error(`fill_constant: value must be finite, got ${value}`);
  step.dispatch({ shader: 'fill_constant', uniforms: params([out.size], [value]), bindings: [out], workgroups: grid1d(out.size, 256) });
}
