// Float64 reference GPT (the oracle the GPU model is checked against), written like llm.c's train_gpt2.c:
// plain loops, every layer a <layer>Forward/<layer>Backward pair, a forward that keeps every activation and a
// backward that walks them in reverse. The layers are the per-kernel float64 references (each FD-checked on its
// own; GELU is a local loop of the same formula) and nothing comes from the GPU path.
//
// GPT-2 decoder: x = wte[tokens] + wpe[0..T); per block x += attn(ln_1(x)), x += mlp(ln_2(x));
// logits = ln_f(x)·wteᵀ (LM head tied to the token embedding).
// Optional dropout, placed like the GPU model's: on the embeddings and on each block's attention and MLP output
// projections, with the masks of src/reference/dropout.ts (bit-identical to the shaders') keyed by the same site
// numbers (src/model/dropout-sites.ts), so a training pass is checked at a given {seed, step}. For a fixed key
// the masks are constants, so the loss stays differentiable and finite differences still apply.
// Parameter names and layouts are GPT-2's (Hugging Face GPT2Model without `transformer.`), linear weights
// stored [in, out] (Conv1D), c_attn output columns [q | k | v] with heads contiguous inside each.
// Loss: Σ_i w_i·nll_i / Σ_i w_i over the B·T positions (w all ones unless given).
//
// Shapes: B batch, T sequence length (≤ maxT), maxT = contextLength, C = dModel, NH heads, HS = C/NH,
// V vocabulary, N = B·T rows, L layers.
import { SITE_EMBEDDING, siteAttn, siteMlp } from '../model/dropout-sites';
import { attentionBackward, attentionForward } from './attention';
import { crossentropyBackward, crossentropyForward } from './crossentropy';
import { dropoutBackward, dropoutForward } from './dropout';
import { embeddingBackward, embeddingForward } from './embedding';
import { layernormBackward, layernormForward } from './layernorm';
import { matmulBackward, matmulForward } from './matmul';
import { residualForward } from './residual';

/** The architecture part of GPTConfig (structurally a subset of it, so a GPTConfig can be passed). */
export interface GptShape {
  vocabSize: number;
  contextLength: number;
  nLayer: number;
  nHead: number;
  dModel: number;
}

/** Parameters by GPT-2 name, row-major in the shapes of referenceParameterShapes. */
export type GptWeights = Record<string, ArrayLike<number>>;
/** Gradients by parameter name, same shapes as the weights. */
export type GptGrads = Record<string, Float64Array>;

/** Dropout of a training pass: rate p and the masks' key (the GPU model's dropoutSeed, and its dropoutStep once it has counted the pass). */
export interface GptDropout {
  p: number;
  seed: number;
  step: number;
}

export interface GptLossResult {
  loss: number;
  logits: Float64Array; // (B,T,V)
  grads: GptGrads;
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters

/** Every parameter's name and shape, in GPT-2's order (wte, wpe, h.0…h.{L−1}, ln_f). */
export function referenceParameterShapes(shape: GptShape): { name: string; shape: number[] }[] {
  checkShape(shape);
  const { vocabSize: V, contextLength: maxT, nLayer: L, dModel: C } = shape;
  const out = [
    { name: 'wte', shape: [V, C] },
    { name: 'wpe', shape: [maxT, C] },
  ];
  for (let i = 0; i < L; i++) {
    const h = `h.${i}`;
    out.push(
      { name: `${h}.ln_1.weight`, shape: [C] },
      { name: `${h}.ln_1.bias`, shape: [C] },
      { name: `${h}.attn.c_attn.weight`, shape: [C, 3 * C] },
      { name: `${h}.attn.c_attn.bias`, shape: [3 * C] },
      { name: `${h}.attn.c_proj.weight`, shape: [C, C] },
      { name: `${h}.attn.c_proj.bias`, shape: [C] },
      { name: `${h}.ln_2.weight`, shape: [C] },
      { name: `${h}.ln_2.bias`, shape: [C] },
      { name: `${h}.mlp.c_fc.weight`, shape: [C, 4 * C] },
      { name: `${h}.mlp.c_fc.bias`, shape: [4 * C] },
      { name: `${h}.mlp.c_proj.weight`, shape: [4 * C, C] },
      { name: `${h}.mlp.c_proj.bias`, shape: [C] },
    );
  }
  out.push({ name: 'ln_f.weight', shape: [C] }, { name: 'ln_f.bias', shape: [C] });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation: every error says what was wrong and what was expected.

const isPositiveInt = (x: number) => Number.isInteger(x) && x > 0;

function checkShape(shape: GptShape): void {
  for (const key of ['vocabSize', 'contextLength', 'nLayer', 'nHead', 'dModel'] as const) {
    if (!isPositiveInt(shape[key])) throw new Error(`reference gpt: ${key} must be a positive integer, got ${shape[key]}`);
  }
  if (shape.dModel % shape.nHead !== 0) {
    throw new Error(`reference gpt: dModel ${shape.dModel} is not divisible by nHead ${shape.nHead}`);
  }
}

function checkBatch(shape: GptShape, B: number, T: number): void {
  if (!isPositiveInt(B)) throw new Error(`reference gpt: B must be a positive integer, got ${B}`);
  if (!isPositiveInt(T)) throw new Error(`reference gpt: T must be a positive integer, got ${T}`);
  if (T > shape.contextLength) throw new Error(`reference gpt: T = ${T} exceeds contextLength ${shape.contextLength}`);
}

function checkWeights(shape: GptShape, weights: GptWeights): void {
  for (const p of referenceParameterShapes(shape)) {
    const w = weights[p.name];
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (w === undefined) throw new Error(`reference gpt: missing weight ${p.name} [${p.shape}]`);
    if (w.length !== n) {
      throw new Error(`reference gpt: weight ${p.name} has ${w.length} elements, expected [${p.shape}] = ${n}`);
    }
  }
  // Names that are not parameters (e.g. a reward head's) are ignored: the missing-name check above already
  // catches a misspelt parameter.
}

/** ids (B,T) integers in [0, V); when `weights` is given only positions with weight ≠ 0 are checked. */
function checkIds(what: string, ids: ArrayLike<number>, B: number, T: number, V: number, weights?: ArrayLike<number>): void {
  if (ids.length !== B * T) throw new Error(`reference gpt: ${what} has ${ids.length} elements, expected B·T = ${B}·${T} = ${B * T}`);
  for (let i = 0; i < ids.length; i++) {
    if (weights && weights[i] === 0) continue;
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new Error(`reference gpt: ${what}[${i}] = ${id} is not a token id in [0, ${V}) (vocabSize ${V})`);
    }
  }
}

/** p in [0, 1), seed and step 32-bit unsigned integers (the GPU model keeps both as u32). */
function checkDropout(dropout: GptDropout | undefined): void {
  if (!dropout) return;
  if (!(dropout.p >= 0 && dropout.p < 1)) throw new Error(`reference gpt: dropout.p must be in [0, 1), got ${dropout.p}`);
  for (const key of ['seed', 'step'] as const) {
    const v = dropout[key];
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new Error(`reference gpt: dropout.${key} must be an integer in [0, 2³²), got ${v}`);
  }
}

/** What every forward pass checks: the shape, the batch, the weights, the token ids and the dropout key. */
function checkForwardInputs(shape: GptShape, weights: GptWeights, tokens: ArrayLike<number>, B: number, T: number, dropout: GptDropout | undefined): void {
  checkShape(shape);
  checkBatch(shape, B, T);
  checkWeights(shape, weights);
  checkIds('tokens', tokens, B, T, shape.vocabSize);
  checkDropout(dropout);
}

/** The loss weights (all ones by default), checked: B·T finite values with a positive sum. */
function lossWeightsOf(lossWeights: ArrayLike<number> | undefined, N: number): { w: ArrayLike<number>; sum: number } {
  const w = lossWeights ?? new Float64Array(N).fill(1);
  if (w.length !== N) throw new Error(`reference gpt: lossWeights has ${w.length} elements, expected B·T = ${N}`);
  let sum = 0;
  for (let i = 0; i < N; i++) {
    if (!Number.isFinite(w[i])) throw new Error(`reference gpt: lossWeights[${i}] = ${w[i]} is not finite`);
    sum += w[i];
  }
  // Σw = 0 (everything masked) makes the mean loss 0/0: an error here rather than a NaN later.
  if (!(sum > 0)) throw new Error(`reference gpt: lossWeights sum to ${sum}; the weighted mean needs a positive sum`);
  return { w, sum };
}

// ---------------------------------------------------------------------------------------------------------------
// Layers. Each forward returns what its backward needs; each backward returns d-prefixed gradients.

// tokens (B,T), wte (V,C), wpe (maxT,C) → out (B,T,C) = wte[token] + wpe[t]
function encoderForward(tokens: ArrayLike<number>, wte: ArrayLike<number>, wpe: ArrayLike<number>, B: number, T: number, C: number): Float64Array {
  return embeddingForward(tokens, wte, wpe, B, T, C);
}

// dout (B,T,C), tokens (B,T) → dwte (V,C), dwpe (maxT,C) (rows t ≥ T stay 0: positions not used)
function encoderBackward(dout: ArrayLike<number>, tokens: ArrayLike<number>, B: number, T: number, C: number, V: number, maxT: number) {
  const { dwte, dwpe: dwpeT } = embeddingBackward(dout, tokens, B, T, C, V);
  const dwpe = new Float64Array(maxT * C);
  dwpe.set(dwpeT);
  return { dwte, dwpe };
}

// inp (N,K), weight (K,M) stored [in, out] like GPT-2's Conv1D, bias (M) → out (N,M) = inp·weight + bias
function linearForward(inp: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, N: number, K: number, M: number): Float64Array {
  return matmulForward(inp, weight, bias, { m: N, k: K, n: M });
}

// dout (N,M), inp (N,K), weight (K,M) → dinp (N,K) = dout·weightᵀ, dweight (K,M) = inpᵀ·dout, dbias (M) = Σ_n dout
function linearBackward(dout: ArrayLike<number>, inp: ArrayLike<number>, weight: ArrayLike<number>, N: number, K: number, M: number) {
  const { da, db, dbias } = matmulBackward(dout, inp, weight, { m: N, k: K, n: M });
  return { dinp: da, dweight: db, dbias };
}

// GPT-2's tanh GELU, the formula of src/reference/gelu.ts written as a loop: that one's Float64Array.from with a
// mapping function dominated the time of the FD tests' thousands of forwards.
const GELU_SCALE = Math.sqrt(2 / Math.PI);

// inp (N) → out (N) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
function geluForward(inp: Float64Array): Float64Array {
  const out = new Float64Array(inp.length);
  for (let i = 0; i < inp.length; i++) {
    const x = inp[i];
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + 0.044715 * x * x * x)));
  }
  return out;
}

// inp (N), dout (N) → dinp (N)
function geluBackward(inp: Float64Array, dout: Float64Array): Float64Array {
  const dinp = new Float64Array(inp.length);
  for (let i = 0; i < inp.length; i++) {
    const x = inp[i];
    const th = Math.tanh(GELU_SCALE * (x + 0.044715 * x * x * x));
    const local = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GELU_SCALE * (1 + 3 * 0.044715 * x * x);
    dinp[i] = dout[i] * local;
  }
  return dinp;
}

// x (N,C), wte (V,C) → logits (N,V) = x·wteᵀ (the tied LM head, no bias)
function lmHeadForward(x: ArrayLike<number>, wte: ArrayLike<number>, N: number, C: number, V: number): Float64Array {
  return matmulForward(x, wte, null, { m: N, k: C, n: V, transB: true });
}

// dlogits (N,V), x (N,C), wte (V,C) → dx (N,C) = dlogits·wte, dwte (V,C) = dlogitsᵀ·x (the head's share of wte's gradient)
function lmHeadBackward(dlogits: ArrayLike<number>, x: ArrayLike<number>, wte: ArrayLike<number>, N: number, C: number, V: number) {
  const { da, db } = matmulBackward(dlogits, x, wte, { m: N, k: C, n: V, transB: true });
  return { dx: da, dwte: db };
}

// inp (N) → out (N) = keep·inp/(1−p) with the site's mask; inp itself without dropout or at p = 0 (no mask drawn,
// like the GPU op)
function dropForward(inp: Float64Array, dropout: GptDropout | undefined, site: number): Float64Array {
  if (!dropout || dropout.p === 0) return inp;
  return dropoutForward(inp, dropout.p, { seed: dropout.seed, step: dropout.step, site });
}

// dout (N) → dinp (N) = keep·dout/(1−p), the forward's mask (same key)
function dropBackward(dout: Float64Array, dropout: GptDropout | undefined, site: number): Float64Array {
  if (!dropout || dropout.p === 0) return dout;
  return dropoutBackward(dout, dropout.p, { seed: dropout.seed, step: dropout.step, site });
}

// ---------------------------------------------------------------------------------------------------------------
// One transformer block: x1 = x + dropout(c_proj(attn(c_attn(ln_1(x))))),
// out = x1 + dropout(mlp.c_proj(gelu(c_fc(ln_2(x1))))).

interface BlockWeights {
  ln1w: ArrayLike<number>; // (C)
  ln1b: ArrayLike<number>; // (C)
  qkvw: ArrayLike<number>; // (C,3C)
  qkvb: ArrayLike<number>; // (3C)
  attprojw: ArrayLike<number>; // (C,C)
  attprojb: ArrayLike<number>; // (C)
  ln2w: ArrayLike<number>; // (C)
  ln2b: ArrayLike<number>; // (C)
  fcw: ArrayLike<number>; // (C,4C)
  fcb: ArrayLike<number>; // (4C)
  fcprojw: ArrayLike<number>; // (4C,C)
  fcprojb: ArrayLike<number>; // (C)
}

/** The block's GPT-2 parameter names, in the same order as BlockWeights' fields. */
const BLOCK_NAMES: [keyof BlockWeights, string][] = [
  ['ln1w', 'ln_1.weight'],
  ['ln1b', 'ln_1.bias'],
  ['qkvw', 'attn.c_attn.weight'],
  ['qkvb', 'attn.c_attn.bias'],
  ['attprojw', 'attn.c_proj.weight'],
  ['attprojb', 'attn.c_proj.bias'],
  ['ln2w', 'ln_2.weight'],
  ['ln2b', 'ln_2.bias'],
  ['fcw', 'mlp.c_fc.weight'],
  ['fcb', 'mlp.c_fc.bias'],
  ['fcprojw', 'mlp.c_proj.weight'],
  ['fcprojb', 'mlp.c_proj.bias'],
];

function blockWeights(weights: GptWeights, layer: number): BlockWeights {
  const bw = {} as Record<keyof BlockWeights, ArrayLike<number>>;
  for (const [field, name] of BLOCK_NAMES) bw[field] = weights[`h.${layer}.${name}`];
  return bw;
}

interface BlockActivations {
  inp: Float64Array; // (B,T,C) the residual stream entering the block
  ln1: Float64Array; // (B,T,C)
  ln1Mean: Float64Array; // (B,T)
  ln1Rstd: Float64Array; // (B,T)
  qkv: Float64Array; // (B,T,3C)
  att: Float64Array; // (B,NH,T,T) softmax probabilities
  atty: Float64Array; // (B,T,C) attention output, heads concatenated
  attproj: Float64Array; // (B,T,C)
  residual2: Float64Array; // (B,T,C) = inp + dropout(attproj)
  ln2: Float64Array; // (B,T,C)
  ln2Mean: Float64Array; // (B,T)
  ln2Rstd: Float64Array; // (B,T)
  fch: Float64Array; // (B,T,4C) before GELU
  fchGelu: Float64Array; // (B,T,4C)
  fcproj: Float64Array; // (B,T,C)
  out: Float64Array; // (B,T,C) = residual2 + dropout(fcproj)
}

// inp (B,T,C) → activations, out (B,T,C); `layer` picks the block's dropout sites
function blockForward(inp: Float64Array, w: BlockWeights, B: number, T: number, C: number, NH: number, layer: number, dropout?: GptDropout): BlockActivations {
  const N = B * T;
  const ln1 = layernormForward(inp, w.ln1w, w.ln1b, N, C); // (N,C)
  const qkv = linearForward(ln1.out, w.qkvw, w.qkvb, N, C, 3 * C); // (N,3C)
  const { out: atty, att } = attentionForward(qkv, { B, T, C, NH }); // (N,C), (B,NH,T,T)
  const attproj = linearForward(atty, w.attprojw, w.attprojb, N, C, C); // (N,C)
  const residual2 = residualForward(inp, dropForward(attproj, dropout, siteAttn(layer))); // (N,C)
  const ln2 = layernormForward(residual2, w.ln2w, w.ln2b, N, C); // (N,C)
  const fch = linearForward(ln2.out, w.fcw, w.fcb, N, C, 4 * C); // (N,4C)
  const fchGelu = geluForward(fch); // (N,4C)
  const fcproj = linearForward(fchGelu, w.fcprojw, w.fcprojb, N, 4 * C, C); // (N,C)
  const out = residualForward(residual2, dropForward(fcproj, dropout, siteMlp(layer))); // (N,C)
  return {
    inp,
    ln1: ln1.out,
    ln1Mean: ln1.mean,
    ln1Rstd: ln1.rstd,
    qkv,
    att,
    atty,
    attproj,
    residual2,
    ln2: ln2.out,
    ln2Mean: ln2.mean,
    ln2Rstd: ln2.rstd,
    fch,
    fchGelu,
    fcproj,
    out,
  };
}

// dout (B,T,C) of the block's output → dinp (B,T,C) and the block's parameter gradients
function blockBackward(
  dout: Float64Array,
  a: BlockActivations,
  w: BlockWeights,
  B: number,
  T: number,
  C: number,
  NH: number,
  layer: number,
  dropout?: GptDropout,
): { dinp: Float64Array; dw: Record<keyof BlockWeights, Float64Array> } {
  const N = B * T;
  // out = residual2 + dropout(fcproj): the gradient flows unchanged into residual2 and through the mask into fcproj
  const dresidual2 = Float64Array.from(dout); // (N,C), more is added from the MLP branch below
  const dfcproj = dropBackward(dout, dropout, siteMlp(layer)); // (N,C)
  const fcproj = linearBackward(dfcproj, a.fchGelu, w.fcprojw, N, 4 * C, C); // dinp (N,4C)
  const dfch = geluBackward(a.fch, fcproj.dinp); // (N,4C)
  const fc = linearBackward(dfch, a.ln2, w.fcw, N, C, 4 * C); // dinp (N,C)
  const ln2 = layernormBackward(fc.dinp, a.residual2, w.ln2w, a.ln2Mean, a.ln2Rstd, N, C); // dinp (N,C)
  for (let i = 0; i < N * C; i++) dresidual2[i] += ln2.dinp[i];
  // residual2 = inp + dropout(attproj)
  const dinp = Float64Array.from(dresidual2); // (N,C), more is added from the attention branch below
  const dattproj = dropBackward(dresidual2, dropout, siteAttn(layer)); // (N,C)
  const attproj = linearBackward(dattproj, a.atty, w.attprojw, N, C, C); // dinp (N,C)
  const dqkv = attentionBackward(a.qkv, a.att, attproj.dinp, { B, T, C, NH }); // (N,3C)
  const qkv = linearBackward(dqkv, a.ln1, w.qkvw, N, C, 3 * C); // dinp (N,C)
  const ln1 = layernormBackward(qkv.dinp, a.inp, w.ln1w, a.ln1Mean, a.ln1Rstd, N, C); // dinp (N,C)
  for (let i = 0; i < N * C; i++) dinp[i] += ln1.dinp[i];
  return {
    dinp,
    dw: {
      ln1w: ln1.dweight,
      ln1b: ln1.dbias,
      qkvw: qkv.dweight,
      qkvb: qkv.dbias,
      attprojw: attproj.dweight,
      attprojb: attproj.dbias,
      ln2w: ln2.dweight,
      ln2b: ln2.dbias,
      fcw: fc.dweight,
      fcb: fc.dbias,
      fcprojw: fcproj.dweight,
      fcprojb: fcproj.dbias,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The whole model

interface Activations {
  /** The key the forward drew its masks with: the backward applies the same ones. */
  dropout?: GptDropout;
  encoded: Float64Array; // (B,T,C) dropout(wte[token] + wpe[t])
  blocks: BlockActivations[]; // L of them
  lnfIn: Float64Array; // (B,T,C) the last block's output
  lnf: Float64Array; // (B,T,C)
  lnfMean: Float64Array; // (B,T)
  lnfRstd: Float64Array; // (B,T)
  logits: Float64Array; // (B,T,V)
}

// tokens (B,T) → every activation, logits (B,T,V). Inputs are already validated.
function forwardPass(shape: GptShape, weights: GptWeights, tokens: ArrayLike<number>, B: number, T: number, dropout?: GptDropout): Activations {
  const { vocabSize: V, nLayer: L, nHead: NH, dModel: C } = shape;
  const N = B * T;
  const encoded = dropForward(encoderForward(tokens, weights.wte, weights.wpe, B, T, C), dropout, SITE_EMBEDDING); // (N,C)
  const blocks: BlockActivations[] = [];
  let x = encoded;
  for (let l = 0; l < L; l++) {
    const a = blockForward(x, blockWeights(weights, l), B, T, C, NH, l, dropout);
    blocks.push(a);
    x = a.out;
  }
  const lnf = layernormForward(x, weights['ln_f.weight'], weights['ln_f.bias'], N, C); // (N,C)
  const logits = lmHeadForward(lnf.out, weights.wte, N, C, V); // (N,V)
  return { dropout, encoded, blocks, lnfIn: x, lnf: lnf.out, lnfMean: lnf.mean, lnfRstd: lnf.rstd, logits };
}

// dlogits (B,T,V) → gradients of every parameter
function backwardPass(shape: GptShape, weights: GptWeights, acts: Activations, tokens: ArrayLike<number>, dlogits: Float64Array, B: number, T: number): GptGrads {
  const { vocabSize: V, contextLength: maxT, nLayer: L, nHead: NH, dModel: C } = shape;
  const N = B * T;
  const grads: GptGrads = {};
  const head = lmHeadBackward(dlogits, acts.lnf, weights.wte, N, C, V); // dx (N,C), dwte (V,C)
  const lnf = layernormBackward(head.dx, acts.lnfIn, weights['ln_f.weight'], acts.lnfMean, acts.lnfRstd, N, C);
  grads['ln_f.weight'] = lnf.dweight;
  grads['ln_f.bias'] = lnf.dbias;
  let dx = lnf.dinp; // (N,C)
  for (let l = L - 1; l >= 0; l--) {
    const { dinp, dw } = blockBackward(dx, acts.blocks[l], blockWeights(weights, l), B, T, C, NH, l, acts.dropout);
    for (const [field, name] of BLOCK_NAMES) grads[`h.${l}.${name}`] = dw[field];
    dx = dinp;
  }
  const enc = encoderBackward(dropBackward(dx, acts.dropout, SITE_EMBEDDING), tokens, B, T, C, V, maxT);
  // wte is tied: its gradient is the embedding's plus the LM head's
  for (let i = 0; i < V * C; i++) enc.dwte[i] += head.dwte[i];
  grads.wte = enc.dwte;
  grads.wpe = enc.dwpe;
  // Same key order as referenceParameterShapes.
  const ordered: GptGrads = {};
  for (const p of referenceParameterShapes(shape)) ordered[p.name] = grads[p.name];
  return ordered;
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

/** tokens (B,T) → logits (B,T,V); without `dropout` the eval-mode model, with it a training pass at that key. */
export function gptForward(shape: GptShape, weights: GptWeights, tokens: ArrayLike<number>, B: number, T: number, dropout?: GptDropout): Float64Array {
  checkForwardInputs(shape, weights, tokens, B, T, dropout);
  return forwardPass(shape, weights, tokens, B, T, dropout).logits;
}

function prepareLoss(
  shape: GptShape,
  weights: GptWeights,
  tokens: ArrayLike<number>,
  targets: ArrayLike<number>,
  B: number,
  T: number,
  lossWeights?: ArrayLike<number>,
  dropout?: GptDropout,
) {
  checkForwardInputs(shape, weights, tokens, B, T, dropout);
  const { w, sum } = lossWeightsOf(lossWeights, B * T);
  // A target at a position with weight 0 is never read (like the GPU kernel), so only weighted ones are checked.
  checkIds('targets', targets, B, T, shape.vocabSize, w);
  const acts = forwardPass(shape, weights, tokens, B, T, dropout);
  const losses = crossentropyForward(acts.logits, targets, w, B * T, shape.vocabSize); // (N) w_i·nll_i
  let total = 0;
  for (let i = 0; i < B * T; i++) total += losses[i];
  return { acts, w, sum, loss: total / sum };
}

/**
 * tokens (B,T), targets (B,T), lossWeights (B,T) (default ones) → loss = Σ w·nll / Σ w, logits (B,T,V) and the
 * gradient of the loss for every parameter (wte's includes the embedding and the tied LM head).
 * Targets at positions with weight 0 are ignored. With `dropout`, a training pass whose masks are those of that key.
 */
export function gptLossAndGrads(
  shape: GptShape,
  weights: GptWeights,
  tokens: ArrayLike<number>,
  targets: ArrayLike<number>,
  B: number,
  T: number,
  lossWeights?: ArrayLike<number>,
  dropout?: GptDropout,
): GptLossResult {
  const { acts, w, sum, loss } = prepareLoss(shape, weights, tokens, targets, B, T, lossWeights, dropout);
  const dlogits = crossentropyBackward(acts.logits, targets, w, 1 / sum, B * T, shape.vocabSize); // (N,V)
  const grads = backwardPass(shape, weights, acts, tokens, dlogits, B, T);
  return { loss, logits: acts.logits, grads };
}

/** The loss of gptLossAndGrads without the backward pass (for finite differences). */
export function gptLoss(
  shape: GptShape,
  weights: GptWeights,
  tokens: ArrayLike<number>,
  targets: ArrayLike<number>,
  B: number,
  T: number,
  lossWeights?: ArrayLike<number>,
  dropout?: GptDropout,
): number {
  return prepareLoss(shape, weights, tokens, targets, B, T, lossWeights, dropout).loss;
}
