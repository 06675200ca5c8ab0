// The GPT's forward pass as an ONNX model, written by hand (src/onnx/protobuf.ts): tokens int64 (batch, seq) →
// logits float32 (batch, seq, vocab), batch and seq dynamic (seq ≤ contextLength). Standard ONNX ops only,
// opset 17 (the first with LayerNormalization), IR version 8 (ONNX 1.12, the release that introduced opset 17);
// onnxruntime-web 1.30 runs it on its wasm and WebGPU execution providers.
//
// The graph is GPT-2's, computed exactly like src/reference/gpt.ts:
//   x = Gather(wte, tokens) + Gather(wpe, Range(0, seq))                                  (B,T,C)
//   per block i:
//     qkv = LayerNorm(x)·c_attn.W + c_attn.b; q, k, v = Split(qkv) → (B,NH,T,HS)           heads from the channels
//     att = Softmax(Where(causal, (q/√HS)·kᵀ, −1e9)) · v → (B,T,C);  x += att·c_proj.W + c_proj.b
//     h = LayerNorm(x)·c_fc.W + c_fc.b;  x += GELU_tanh(h)·c_proj.W + c_proj.b
//   logits = LayerNorm_f(x) · Transpose(wte)                                                tied LM head
// LayerNorm ε = 1e-5 (GPT-2's and our kernels'); GELU is GPT-2's tanh form built from Mul/Add/Tanh
// (ONNX's Gelu op needs opset 20). The causal mask is a constant bool (contextLength, contextLength) lower
// triangle sliced to (seq, seq); masked scores become −1e9 (finite, so no inf reaches a GPU's exp; its exp
// underflows to exactly 0, as −∞ would). wte is stored once: the LM head transposes it in the graph (ORT folds that
// constant at load).
// Every weight is an initializer with raw little-endian float32 bytes (bit-exact copies), named by our parameter
// names; the config is in the model's metadata_props.
import { parameterShapes, validateConfig, type GPTConfig } from '../model/config';
import {
  attrFloat,
  attrInt,
  attrInts,
  boolTensor,
  DataType,
  floatTensor,
  graphProto,
  int64Tensor,
  modelProto,
  nodeProto,
  valueInfo,
} from './protobuf';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const LAYERNORM_EPSILON = 1e-5;
/** What masked attention scores are set to before the softmax. */
export const ATTENTION_MASK_VALUE = -1e9;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Builds the node and initializer lists; every value gets a unique name. */
class GraphBuilder {
  readonly nodes: Uint8Array[] = [];
  readonly initializers: Uint8Array[] = [];
  private count = 0;

  /** One node with one output (named `${hint}_${n}`); returns the output's name. */
  op(op: string, inputs: string[], hint: string, attributes: Uint8Array[] = []): string {
    return this.opN(op, inputs, [hint], attributes)[0];
  }

  /** One node with several outputs. */
  opN(op: string, inputs: string[], hints: string[], attributes: Uint8Array[] = []): string[] {
    const id = this.count++;
    const outputs = hints.map((h) => `${h}_${id}`);
    this.nodes.push(nodeProto({ op, inputs, outputs, name: `${op}_${id}`, attributes }));
    return outputs;
  }

  float(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, data));
    return name;
  }

  scalar(name: string, value: number): string {
    return this.float(name, [], Float32Array.of(value));
  }

  int64(name: string, dims: number[], values: number[]): string {
    this.initializers.push(int64Tensor(name, dims, values));
    return name;
  }
}

/** ModelProto bytes of the model with these weights (by our parameter names, parameterShapes sizes). */
export function exportGptOnnx(config: GPTConfig, weights: Record<string, Float32Array>): Uint8Array {
  validateConfig(config);
  const { vocabSize: V, contextLength: maxT, nLayer: L, nHead: NH, dModel: C } = config;
  const HS = C / NH;
  const g = new GraphBuilder();

  // Every parameter becomes an initializer under its own name, checked against the config.
  for (const { name, shape } of parameterShapes(config)) {
    const w = weights[name];
    const n = shape.reduce((a, b) => a * b, 1);
    if (!(w instanceof Float32Array)) throw new Error(`exportGptOnnx: weight ${name} is missing or not a Float32Array`);
    if (w.length !== n) throw new Error(`exportGptOnnx: weight ${name} has ${w.length} values, shape [${shape.join(', ')}] needs ${n}`);
    g.float(name, shape, w);
  }

  // Constants.
  const zero = g.int64('const_0', [], [0]);
  const one = g.int64('const_1', [], [1]);
  const seqRange = [g.int64('const_slice_1', [1], [1]), g.int64('const_slice_2', [1], [2])];
  const splitSizes = g.int64('qkv_split', [3], [C, C, C]);
  const headsShape = g.int64('heads_shape', [4], [0, 0, NH, HS]); // Reshape: 0 copies the input's dim
  const mergedShape = g.int64('merged_shape', [3], [0, 0, C]);
  const maskStarts = g.int64('mask_starts', [2], [0, 0]);
  const causal = new Uint8Array(maxT * maxT);
  for (let t = 0; t < maxT; t++) for (let s = 0; s <= t; s++) causal[t * maxT + s] = 1;
  g.initializers.push(boolTensor('causal_mask', [maxT, maxT], causal));
  const maskValue = g.scalar('mask_value', ATTENTION_MASK_VALUE);
  const qScale = g.scalar('q_scale', 1 / Math.sqrt(HS));
  const half = g.scalar('const_half', 0.5);
  const oneF = g.scalar('const_one', 1);
  const geluCubic = g.scalar('gelu_cubic', 0.044715);
  const geluScale = g.scalar('gelu_scale', SQRT_2_OVER_PI);

  // Sequence length and positions.
  const shape = g.op('Shape', ['tokens'], 'tokens_shape'); // [B, T]
  const seq = g.op('Gather', [shape, one], 'seq', [attrInt('axis', 0)]); // scalar T
  const seq1 = g.op('Slice', [shape, seqRange[0], seqRange[1]], 'seq_1d'); // [T]
  const positions = g.op('Range', [zero, seq, one], 'positions'); // (T)
  const maskEnds = g.op('Concat', [seq1, seq1], 'mask_ends', [attrInt('axis', 0)]); // [T, T]
  const mask = g.op('Slice', ['causal_mask', maskStarts, maskEnds], 'mask'); // (T,T) bool

  // Embeddings.
  const tokEmb = g.op('Gather', ['wte', 'tokens'], 'tok_emb', [attrInt('axis', 0)]); // (B,T,C)
  const posEmb = g.op('Gather', ['wpe', positions], 'pos_emb', [attrInt('axis', 0)]); // (T,C)
  let x = g.op('Add', [tokEmb, posEmb], 'x'); // (B,T,C)

  const layerNorm = (inp: string, prefix: string) =>
    g.op('LayerNormalization', [inp, `${prefix}.weight`, `${prefix}.bias`], 'ln', [
      attrInt('axis', -1),
      attrFloat('epsilon', LAYERNORM_EPSILON),
    ]);
  const linear = (inp: string, prefix: string) => g.op('Add', [g.op('MatMul', [inp, `${prefix}.weight`], 'mm'), `${prefix}.bias`], 'lin');

  for (let i = 0; i < L; i++) {
    const h = `h.${i}`;
    // Attention.
    const qkv = linear(layerNorm(x, `${h}.ln_1`), `${h}.attn.c_attn`); // (B,T,3C)
    const [q, k, v] = g.opN('Split', [qkv, splitSizes], ['q', 'k', 'v'], [attrInt('axis', 2)]); // (B,T,C) each
    const heads = (t: string, perm: number[], hint: string) =>
      g.op('Transpose', [g.op('Reshape', [t, headsShape], `${hint}_bthd`)], hint, [attrInts('perm', perm)]);
    const qh = heads(g.op('Mul', [q, qScale], 'q_scaled'), [0, 2, 1, 3], 'qh'); // (B,NH,T,HS)
    const kt = heads(k, [0, 2, 3, 1], 'kt'); // (B,NH,HS,T)
    const vh = heads(v, [0, 2, 1, 3], 'vh'); // (B,NH,T,HS)
    const scores = g.op('MatMul', [qh, kt], 'scores'); // (B,NH,T,T)
    const masked = g.op('Where', [mask, scores, maskValue], 'masked');
    const probs = g.op('Softmax', [masked], 'probs', [attrInt('axis', -1)]);
    const ctx = g.op('MatMul', [probs, vh], 'ctx'); // (B,NH,T,HS)
    const merged = g.op('Reshape', [g.op('Transpose', [ctx], 'ctx_bthd', [attrInts('perm', [0, 2, 1, 3])]), mergedShape], 'ctx_btc');
    x = g.op('Add', [x, linear(merged, `${h}.attn.c_proj`)], 'x');
    // MLP with GELU(h) = 0.5·h·(1 + tanh(√(2/π)·(h + 0.044715·h³))).
    const fc = linear(layerNorm(x, `${h}.ln_2`), `${h}.mlp.c_fc`); // (B,T,4C)
    const cube = g.op('Mul', [g.op('Mul', [fc, fc], 'sq'), fc], 'cube');
    const inner = g.op('Mul', [g.op('Add', [fc, g.op('Mul', [cube, geluCubic], 'cube_c')], 'inner_sum'), geluScale], 'inner');
    const gelu = g.op('Mul', [g.op('Mul', [fc, half], 'half_h'), g.op('Add', [g.op('Tanh', [inner], 'tanh'), oneF], 'one_plus')], 'gelu');
    x = g.op('Add', [x, linear(gelu, `${h}.mlp.c_proj`)], 'x');
  }

  const final = layerNorm(x, 'ln_f');
  const wteT = g.op('Transpose', ['wte'], 'wte_t', [attrInts('perm', [1, 0])]); // (C,V)
  g.nodes.push(nodeProto({ op: 'MatMul', inputs: [final, wteT], outputs: ['logits'], name: 'lm_head' })); // (B,T,V)

  const graph = graphProto({
    name: 'rlhf_lab_gpt',
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [valueInfo('tokens', DataType.INT64, ['batch', 'seq'])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['batch', 'seq', V])],
    docString: `GPT-2 style decoder: tokens int64 (batch, seq ≤ ${maxT}) → logits float32 (batch, seq, ${V})`,
  });
  return modelProto({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'rlhf-lab',
    producerVersion: '1',
    graph,
    metadata: { 'rlhf_lab.config': JSON.stringify({ ...config }) },
  });
}
