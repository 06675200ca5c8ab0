// Launchers for shaders/softmax_forward.wgsl and softmax_backward.wgsl: row softmax, optionally causal and scaled.
import { params, type Step, type Tensor } from '../gpu';
import { assertSize } from './checks';
import { grid1d } from './grid';

export interface SoftmaxOptions {
  /** Causal mask: rows come in blocks of T, row r sees columns 0..r % T. Rows must be a multiple of T. */
  causalT?: number;
  /** Inputs are multiplied by `scale` before the softmax (e.g. 1/√HS for attention scores). Default 1. */
  scale?: number;
}

/** Smallest power of 2 ≥ cols, between 32 and 256: short rows get a small workgroup, long rows loop. */
function workgroupSize(cols: number): number {
  let wg = 32;
  while (wg < cols && wg < 256) wg *= 2;
  return wg;
}

function check(kernel: string, rows: number, cols: number, causalT: number, scale: number, ...ts: Tensor[]): void {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 1) {
    throw new Error(`${kernel}: bad shape rows=${rows}, cols=${cols} (need rows ≥ 0, cols ≥ 1)`);
  }
  if (!Number.isInteger(causalT) || causalT < 0) throw new Error(`${kernel}: causalT must be a non-negative integer, got ${causalT}`);
  if (causalT > 0 && rows % causalT !== 0) throw new Error(`${kernel}: rows=${rows} is not a multiple of causalT=${causalT}`);
  if (!Number.isFinite(scale)) throw new Error(`${kernel}: scale must be finite, got ${scale}`);
  for (const t of ts) assertSize(kernel, t, rows * cols, `${rows}×${cols}`);
}

// inp (rows, cols) → out (rows, cols)
export function softmaxForward(step: Step, inp: Tensor, out: Tensor, rows: number, cols: number, options: SoftmaxOptions = {}): void {
  const { causalT = 0, scale = 1 } = options;
  check('softmax_forward', rows, cols, causalT, scale, inp, out);
  step.dispatch({
    shader: 'softmax_forward',
    overrides: { WG: workgroupSize(cols) },
    uniforms: params([rows, cols, causalT], [scale]),
    bindings: [inp, out],
    workgroups: grid1d(rows, 1), // one workgroup per row
  });
}

// out (rows, cols) = softmaxForward's output, dout (rows, cols) → dinp (rows, cols), overwritten or accumulated into
export function softmaxBackward(
  step: Step,
  out: Tensor,
  dout: Tensor,
  dinp: Tensor,
  rows: number,
  cols: number,
  options: SoftmaxOptions & { accumulate?: boolean } = {},
): void {
  const { causalT = 0, scale = 1, accumulate = false } = options;
  check('softmax_backward', rows, cols, causalT, scale, out, dout, dinp);
  step.dispatch({
    shader: 'softmax_backward',
    overrides: { WG: workgroupSize(cols) },
    uniforms: params([rows, cols, causalT, accumulate ? 1 : 0], [scale]),
    bindings: [out, dout, dinp],
    workgroups: grid1d(rows, 1),
  });
}
