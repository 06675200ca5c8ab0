// Launcher for shaders/embedding_decode.wgsl: token + position embedding of a few tokens per row, read from each
// row's sequence buffer at per-row positions (generation, where rows of a batch stand at different positions).
import { params, type Step, type Tensor } from '../gpu';
import { assertDType } from './checks';
import { grid1d } from './grid';

// tokens (B,W) u32, pos (B) u32, wte (V,C), wpe (maxT,C) → out (B,Tn,C): row b's token i is tokens[b, pos[b]+offset+i]
export function embeddingDecode(step: Step, tokens: Tensor, pos: Tensor, wte: Tensor, wpe: Tensor, out: Tensor, offset = 0): void {
  const k = 'embedding_decode';
  assertDType(k, tokens, 'u32');
  assertDType(k, pos, 'u32');
  for (const t of [wte, wpe, out]) assertDType(k, t, 'f32');
  if (tokens.shape.length !== 2) throw new Error(`${k}: ${tokens.label} must have shape (B,W), got [${tokens.shape}]`);
  if (wte.shape.length !== 2) throw new Error(`${k}: ${wte.label} must have shape (V,C), got [${wte.shape}]`);
  if (wpe.shape.length !== 2) throw new Error(`${k}: ${wpe.label} must have shape (maxT,C), got [${wpe.shape}]`);
  const [B, W] = tokens.shape;
  const [V, C] = wte.shape;
  const [maxT, Cp] = wpe.shape;
  if (Cp !== C) throw new Error(`${k}: ${wpe.label} has ${Cp} channels, wte has ${C}`);
  if (pos.size !== B) throw new Error(`${k}: ${pos.label} must have B = ${B} elements, got ${pos.size}`);
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`${k}: offset must be a non-negative integer, got ${offset}`);
  const Tn = out.size / (B * C);
  if (!Number.isInteger(Tn) || Tn < 1) throw new Error(`${k}: ${out.label} has ${out.size} elements, not a positive multiple of B·C = ${B * C}`);
  step.dispatch({
    shader: k,
    uniforms: params([B, Tn, C, V, W, maxT, offset]),
    bindings: [tokens, pos, wte, wpe, out],
    workgroups: grid1d(B * Tn * C, 256),
  });
}
