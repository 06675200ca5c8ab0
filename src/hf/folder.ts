// A checkpoint as a Hugging Face model folder that transformers loads with from_pretrained and no code of one's own:
// config.json (GPT2Config), model.safetensors, generation_config.json, the tokenizer files (./tokenizer-json.ts) and a
// README.md model card. A policy (the LM head, tied to wte) is a GPT2LMHeadModel; a reward model (the `score` head)
// a GPT2ForSequenceClassification with num_labels 1. The same files serve `npm run export -- --hf` and the page's zip.
//
// The reward model's bias. The lab scores s = w·LN_f(x) + b at the last real token, LN_f(x) = γ⊙n(x) + β with n(x)
// the normalised hidden state; its bias b already holds the centring offset (reward-model.ts centerOnDemonstrations
// shifts score.bias). transformers' score layer has no bias. A constant input feature is not available (every
// coordinate of LN_f(x) varies with x through n(x)), but ln_f's bias β feeds the score layer alone in
// GPT2ForSequenceClassification (no LM head reads it), so β' = β + b·w/(w·w) gives
//     w·(γ⊙n + β') = w·(γ⊙n + β) + b·(w·w)/(w·w) = s
// for every input: exact in real arithmetic, float32 rounding aside (a few ulps of s). β + b·w/(w·w) is the smallest
// change of β that does it; the folder's last_hidden_state differs from the lab's LN_f output by that constant vector.
// A zero w (a constant score) cannot carry b this way and is refused.
//
// Where the score is read. GPT2ForSequenceClassification reads it at the last token that is not pad_token_id; the
// lab reads it at the last real token, the EOS. With the lab's tokenizers PAD is a token of its own and the two agree.
// A GPT-2-family base pads with its EOS (<|endoftext|> plays every role), so transformers would take that EOS for
// padding and read the token before it: such a reward-model folder gets a padding token of its own, "<|pad|>" at id V
// (an added token after the V-token vocabulary, one zero row appended to wte, vocab_size V + 1, pad_token_id V).
import { checkpointTensorName, type Checkpoint, splitMembers } from '../model/checkpoint';
import { parameterShapes } from '../model/config';
import { encodeSafetensors, type TensorInput } from '../model/safetensors';
import { LAYERNORM_EPS } from '../reference/layernorm';
import { type Tokenizer, tokenizerFromJSON } from '../model/tokenizer';
import { type AppendedPad, hfSpecialTokensMap, hfTokenizerConfig, hfTokenizerJson } from './tokenizer-json';
import { modelCard, type RunFacts } from './model-card';

export type { RunFacts } from './model-card';

/** A checkpoint that cannot become a Hugging Face folder (no tokenizer, a value head, a zero score weight). */
export class HfExportError extends Error {
  constructor(message: string) {
    super(`Hugging Face export: ${message}`);
    this.name = 'HfExportError';
  }
}

/** The folder's files by path relative to it ("config.json", …; an ensemble's under "member<i>/"). */
export type HfFiles = Record<string, Uint8Array>;

const utf8 = (s: string) => new TextEncoder().encode(s);
const json = (x: unknown) => utf8(`${JSON.stringify(x, null, 2)}\n`);

/**
 * The Hugging Face folder of a checkpoint `name` (e.g. "sft", "reward-model", or a file name for the CLI): one folder,
 * or for a reward-model ensemble one folder per member (member0/, member1/, …: each a whole reward model; transformers
 * has no ensemble class, and the lab's combination is the member scores' mean, min or mean − λ·variance).
 */
export function hfFolder(checkpoint: Checkpoint, name: string, run?: RunFacts): HfFiles {
  if (checkpoint.tokenizerJson === undefined) {
    throw new HfExportError(`${name} has no tokenizer in its metadata (rlhf_lab.tokenizer): without it no tokenizer.json can give the ids the model was trained on`);
  }
  if (checkpoint.head === 'value') {
    throw new HfExportError(`${name} has a value head: transformers has no class for a per-token value model; export the policy or the reward model`);
  }
  const tokenizer = tokenizerFromJSON(checkpoint.tokenizerJson);
  if (checkpoint.members === undefined) return oneModel(checkpoint, checkpoint.weights, name, tokenizer, run, undefined);
  const files: HfFiles = {};
  splitMembers(checkpoint.weights).forEach((weights, i) => {
    for (const [path, bytes] of Object.entries(oneModel(checkpoint, weights, name, tokenizer, run, { index: i, of: checkpoint.members! }))) files[`member${i}/${path}`] = bytes;
  });
  return files;
}

function oneModel(checkpoint: Checkpoint, weights: Record<string, Float32Array>, name: string, tokenizer: Tokenizer, run: RunFacts | undefined, member: { index: number; of: number } | undefined): HfFiles {
  const { config } = checkpoint;
  const reward = checkpoint.head === 'score';
  const ownPad = reward && tokenizer.special.pad === tokenizer.special.eos ? scorePadding(tokenizer, config.vocabSize, name) : undefined;
  const vocabSize = config.vocabSize + (ownPad ? 1 : 0);
  const tensors: TensorInput[] = parameterShapes(config, checkpoint.head)
    .filter((p) => p.name !== 'score.bias')
    .map(({ name: param, shape }) => ({
      name: checkpointTensorName(param),
      dtype: 'F32',
      shape: param === 'score.weight' ? [1, shape[0]] : param === 'wte' ? [vocabSize, shape[1]] : shape, // score: nn.Linear's [out, in]
      data: reward && param === 'ln_f.bias' ? foldScoreBias(weights, name) : param === 'wte' && ownPad ? withZeroRow(weights[param], shape[1]) : weights[param],
    }));
  const { bos, eos } = tokenizer.special;
  const pad = ownPad?.id ?? tokenizer.special.pad;
  const gpt2Config = {
    architectures: [reward ? 'GPT2ForSequenceClassification' : 'GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: vocabSize,
    n_positions: config.contextLength,
    n_ctx: config.contextLength,
    n_embd: config.dModel,
    n_layer: config.nLayer,
    n_head: config.nHead,
    n_inner: null, // 4·n_embd, as the lab's MLP
    activation_function: 'gelu_new', // GELU's tanh approximation, the lab's kernel
    layer_norm_epsilon: LAYERNORM_EPS,
    // The lab's dropout sits where GPT-2's embd_pdrop and resid_pdrop do; it has none on attention probabilities.
    embd_pdrop: config.dropout,
    resid_pdrop: config.dropout,
    attn_pdrop: 0,
    initializer_range: 0.02,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    use_cache: true,
    bos_token_id: bos,
    eos_token_id: eos,
    pad_token_id: pad,
    torch_dtype: 'float32',
    ...(reward ? { num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } } : {}),
  };
  const files: HfFiles = {
    'config.json': json(gpt2Config),
    'model.safetensors': encodeSafetensors(tensors, { format: 'pt' }),
    'tokenizer.json': utf8(JSON.stringify(hfTokenizerJson(tokenizer, ownPad))),
    'tokenizer_config.json': json(hfTokenizerConfig(tokenizer, config.contextLength, ownPad)),
    'special_tokens_map.json': json(hfSpecialTokensMap(tokenizer, ownPad)),
    'README.md': utf8(modelCard({ checkpoint, name, tokenizer, reward, scoreBias: reward ? weights['score.bias'][0] : undefined, ownPad, member, run })),
  };
  // A policy samples; the lab stops at EOS and pads with PAD.
  if (!reward) files['generation_config.json'] = json({ bos_token_id: bos, eos_token_id: eos, pad_token_id: pad, do_sample: true, temperature: 1, top_k: 0, top_p: 1, max_length: config.contextLength });
  return files;
}

/** The reward-model folder's own padding token, after the V-token vocabulary (see the header). */
function scorePadding(tokenizer: Tokenizer, vocabSize: number, name: string): AppendedPad {
  const content = '<|pad|>';
  if (tokenizer.encode(content).length === 1) throw new HfExportError(`${name}: its tokenizer already has a token "${content}", the padding token a reward-model folder adds when PAD is EOS`);
  return { content, id: vocabSize };
}

/** (V, C) → (V + 1, C): the appended padding token's embedding is zero (a padded position's output is never read). */
function withZeroRow(wte: Float32Array, channels: number): Float32Array {
  const out = new Float32Array(wte.length + channels);
  out.set(wte);
  return out;
}

/** ln_f.bias with the score's bias folded in: β + b·w/(w·w), computed in float64 (see the header). */
export function foldScoreBias(weights: Record<string, Float32Array>, name: string): Float32Array {
  const w = weights['score.weight'];
  const beta = weights['ln_f.bias'];
  const b = weights['score.bias'][0];
  let ww = 0;
  for (const x of w) ww += x * x;
  if (ww === 0) throw new HfExportError(`${name}'s score weight is all zero: its score is the constant ${b}, which a bias-free score layer cannot reproduce`);
  return Float32Array.from(beta, (x, i) => x + (b * w[i]) / ww);
}
