// Launchers for shaders/embedding_forward.wgsl, embedding_backward_wte.wgsl and embedding_backward_wpe.wgsl,
// and the CPU-side token index that makes the wte gradient a race-free, deterministic gather.
// Shapes: B batch, T sequence length, C channels, V vocabulary, maxT ≥ T rows of the position table, N = B·T.
import { type GpuRuntime, params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { grid1d } from './grid';

/** For each vocabulary id v, positions[offsets[v] .. offsets[v+1]) are the flat positions b·T + t holding v. */
export interface TokenIndex {
  offsets: Uint32Array<ArrayBuffer>; // (V+1)
  positions: Uint32Array<ArrayBuffer>; // (N)
}

/** The same index on the GPU, as embeddingBackwardWte takes it. */
export interface TokenIndexTensors {
  offsets: Tensor<'u32'>; // (V+1)
  positions: Tensor<'u32'>; // (N)
}

/** Throws naming the first position whose token id is not below vocabSize. */
export function checkTokenIds(tokens: ArrayLike<number>, vocabSize: number, what = 'tokens'): void {
  for (let n = 0; n < tokens.length; n++) {
    const id = tokens[n];
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      throw new Error(`${what}: token id ${id} at position ${n} is outside the vocabulary 0..${vocabSize - 1}`);
    }
  }
}

/**
 * CSR index of the token ids by vocabulary id (a stable counting sort: each id's positions ascend), built from
 * the ids the CPU uploaded. O(N + V).
 */
export function buildTokenIndex(tokens: Uint32Array, vocabSize: number): TokenIndex {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new Error(`buildTokenIndex: vocabSize must be a positive integer, got ${vocabSize}`);
  checkTokenIds(tokens, vocabSize, 'buildTokenIndex');
  const offsets = new Uint32Array(vocabSize + 1);
  for (let n = 0; n < tokens.length; n++) offsets[tokens[n] + 1]++;
  for (let v = 0; v < vocabSize; v++) offsets[v + 1] += offsets[v];
  const next = offsets.slice(0, vocabSize);
  const positions = new Uint32Array(tokens.length);
  for (let n = 0; n < tokens.length; n++) positions[next[tokens[n]]++] = n;
  return { offsets, positions };
}

/** Uploads a token index into new tensors (free them with rt.free(t.offsets, t.positions)). */
export function uploadTokenIndex(rt: GpuRuntime, index: TokenIndex, label = 'token index'): TokenIndexTensors {
  return {
    offsets: rt.upload(index.offsets, [index.offsets.length], `${label}/offsets`, 'u32'),
    positions: rt.upload(index.positions, [index.positions.length], `${label}/positions`, 'u32'),
  };
}

/** Overwrites already-allocated index tensors (same V and N), so a training loop allocates nothing per step. */
export function writeTokenIndex(rt: GpuRuntime, index: TokenIndex, into: TokenIndexTensors): void {
  rt.write(into.offsets, index.offsets);
  rt.write(into.positions, index.positions);
}

function dims(kernel: string, t: Tensor, rank: number, legend: string): number[] {
  if (t.shape.length !== rank) throw new Error(`${kernel}: ${t.label} must have shape ${legend}, got [${t.shape}]`);
  return [...t.shape];
}

// tokens (B,T) u32, wte (V,C), wpe (maxT,C) → out (B,T,C). Ids are not checked here (they live on the GPU):
// an id ≥ V yields a NaN row; check them on the CPU with checkTokenIds or buildTokenIndex.
export function embeddingForward(step: Step, tokens: Tensor, wte: Tensor, wpe: Tensor, out: Tensor): void {
  const k = 'embedding_forward';
  assertDType(k, tokens, 'u32');
  for (const t of [wte, wpe, out]) assertDType(k, t, 'f32');
  const [B, T] = dims(k, tokens, 2, '(B,T)');
  const [V, C] = dims(k, wte, 2, '(V,C)');
  const [maxT, Cp] = dims(k, wpe, 2, '(maxT,C)');
  if (Cp !== C) throw new Error(`${k}: ${wpe.label} has ${Cp} channels, wte has ${C}`);
  if (maxT < T) throw new Error(`${k}: ${wpe.label} has ${maxT} positions, fewer than T = ${T}`);
  assertSize(k, out, B * T * C, 'out (B,T,C)');
  step.dispatch({
    shader: k,
    uniforms: params([B * T, T, C, V]),
    bindings: [tokens, wte, wpe, out],
    workgroups: grid1d(B * T * C, 256),
  });
}

// dout (B,T,C), token index of the same (B,T) ids → dwte (V,C), overwritten or accumulated into
export function embeddingBackwardWte(step: Step, dout: Tensor, index: TokenIndexTensors, dwte: Tensor, accumulate = false): void {
  const k = 'embedding_backward_wte';
  for (const t of [dout, dwte]) assertDType(k, t, 'f32');
  assertDType(k, index.offsets, 'u32');
  assertDType(k, index.positions, 'u32');
  const [V, C] = dims(k, dwte, 2, '(V,C)');
  if (dout.size % C !== 0) throw new Error(`${k}: ${dout.label} has ${dout.size} elements, not a multiple of C = ${C}`);
  const N = dout.size / C;
  assertSize(k, index.offsets, V + 1, 'offsets (V+1)');
  assertSize(k, index.positions, N, 'positions (B·T)');
  step.dispatch({
    shader: k,
    uniforms: params([V, C, N, accumulate ? 1 : 0]),
    bindings: [dout, index.offsets, index.positions, dwte],
    workgroups: grid1d(V * C, 256),
  });
}

// dout (B,T,C) → dwpe (maxT,C): rows t < T get Σ_b dout[b,t], rows t ≥ T get 0 (or are kept when accumulating)
export function embeddingBackwardWpe(step: Step, dout: Tensor, dwpe: Tensor, accumulate = false): void {
  const k = 'embedding_backward_wpe';
  for (const t of [dout, dwpe]) assertDType(k, t, 'f32');
  const [B, T, C] = dims(k, dout, 3, '(B,T,C)');
  const [maxT, Cp] = dims(k, dwpe, 2, '(maxT,C)');
  if (Cp !== C) throw new Error(`${k}: ${dwpe.label} has ${Cp} channels, dout has ${C}`);
  if (maxT < T) throw new Error(`${k}: ${dwpe.label} has ${maxT} positions, fewer than T = ${T}`);
  step.dispatch({
    shader: k,
    uniforms: params([B, T, maxT, C, accumulate ? 1 : 0]),
    bindings: [dout, dwpe],
    workgroups: grid1d(maxT * C, 256),
  });
}

// Both embedding gradients: dout (B,T,C) → dwte (V,C), dwpe (maxT,C)
export function embeddingBackward(
  step: Step,
  dout: Tensor,
  index: TokenIndexTensors,
  dwte: Tensor,
  dwpe: Tensor,
  options: { accumulateWte?: boolean; accumulateWpe?: boolean } = {},
): void {
  embeddingBackwardWte(step, dout, index, dwte, options.accumulateWte ?? false);
  embeddingBackwardWpe(step, dout, dwpe, options.accumulateWpe ?? false);
}
