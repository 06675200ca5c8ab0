// Launcher for shaders/sequence_copy.wgsl: the first Wd columns of each row of a (B,Ws) buffer into a dense (B,Wd)
// tensor (generation's full-context path reads its (B,T) tokens out of the (B,W) sequence buffer this way).
import { params, type Step, type Tensor } from '../gpu';
import { grid1d } from './grid';

// src (B,Ws) → dst (B,Wd), Wd ≤ Ws, same 4-byte dtype (copied bit for bit)
export function sequenceCopy(step: Step, src: Tensor, dst: Tensor): void {
  const k = 'sequence_copy';
  for (const t of [src, dst]) {
    if (t.shape.length !== 2) throw new Error(`${k}: ${t.label} must have shape (B,W), got [${t.shape}]`);
  }
  if (src.dtype !== dst.dtype) throw new Error(`${k}: ${src.label} is ${src.dtype}, ${dst.label} is ${dst.dtype}`);
  const [B, Ws] = src.shape;
  const [Bd, Wd] = dst.shape;
  if (Bd !== B) throw new Error(`${k}: ${dst.label} has ${Bd} rows, ${src.label} has ${B}`);
  if (Wd > Ws) throw new Error(`${k}: ${dst.label} is ${Wd} wide, wider than ${src.label} (${Ws})`);
  if (src.buffer === dst.buffer) throw new Error(`${k}: ${src.label} and ${dst.label} share a buffer`);
  step.dispatch({ shader: k, uniforms: params([B, Ws, Wd]), bindings: [src, dst], workgroups: grid1d(B * Wd, 256) });
}
