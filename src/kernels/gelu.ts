// Launchers for shaders/gelu_forward.wgsl and gelu_backward.wgsl.
import { params, type Step, type Tensor } from '../gpu';
import { assertSameSize } from './checks';
import { grid1d } from './grid';

// inp (N) → out (N)
export function geluForward(step: Step, inp: Tensor, out: Tensor): void {
  assertSameSize('gelu_forward', inp, out);
  step.dispatch({ shader: 'gelu_forward', uniforms: params([inp.size]), bindings: [inp, out], workgroups: grid1d(inp.size, 256) });
}

// inp (N), dout (N) → dinp (N), overwritten or accumulated into
export function geluBackward(step: Step, inp: Tensor, dout: Tensor, dinp: Tensor, accumulate = false): void {
  assertSameSize('gelu_backward', inp, dout, dinp);
  step.dispatch({
    shader: 'gelu_backward',
    uniforms: params([inp.size, accumulate ? 1 : 0]),
    bindings: [inp, dout, dinp],
    workgroups: grid1d(inp.size, 256),
  });
}
