// The lab's tokenizers as Hugging Face tokenizer files (tokenizer.json in the `tokenizers` library's serialization,
// tokenizer_config.json, special_tokens_map.json) that `AutoTokenizer.from_pretrained(dir)` reads and that give
// exactly the lab's ids on any (valid Unicode) text.
//
// Byte-level BPE (bpe-tokenizer.ts): the model is a BPE whose vocabulary maps each token's bytes, spelled through
// GPT-2's byte→character table (HF's ByteLevel alphabet), to the lab's id; the merges are the lab's in rank order.
// Pre-tokenization is the lab's regex, run by a `Split` pre-tokenizer, then ByteLevel with use_regex false only maps
// bytes to characters. The regex is GPT-2's, which HF's ByteLevel also runs, but written out: JS's `\s` and
// Oniguruma's differ (JS counts U+FEFF, Oniguruma U+0085), so `\s` is replaced by the exact set of characters JS
// matches. `\p{L}` and `\p{N}` stay classes: both engines read them from Unicode, and only characters assigned in
// one Unicode version and not the other can differ.
//
// Specials: "<|bos|>" etc. are in the model's vocabulary at the lab's ids and listed as special added tokens (the
// tokenizers library takes an added token's id from the vocabulary when it is there). The lab never makes a special
// from text, so tokenizer_config.json sets split_special_tokens: transformers then encodes "<|eos|>" in text as
// ordinary bytes too. No post-processor: like the lab's encode, tokenizing adds no BOS/EOS.
//
// A padding token of its own (AppendedPad): a reward-model folder whose tokenizer pads with its EOS gets one more
// special, after the whole vocabulary (see folder.ts); it is an added token only, outside the BPE model's vocabulary.
//
// Character-level (char-tokenizer.ts): a BPE with no merges and no pre-tokenizer splits the whole text into code
// points and looks each up, an unknown one becoming "<|unk|>" (id 4, one per character: fuse_unk false), exactly as
// the lab encodes; the Fuse decoder joins tokens without spaces.
import { BPE_BASE_VOCAB, BpeTokenizer, BYTE_TO_CHAR } from '../model/bpe-tokenizer';
import { CharTokenizer } from '../model/char-tokenizer';
import { Gpt2Tokenizer } from '../model/gpt2-tokenizer';
import { SPECIAL_NAMES, SPECIAL_TEXT, type SpecialName } from '../model/tokenizer-base';
import type { Tokenizer } from '../model/tokenizer';

/** A tokenizer that no Hugging Face tokenizer.json can reproduce exactly. */
export class HfTokenizerError extends Error {
  constructor(message: string) {
    super(`Hugging Face tokenizer: ${message}`);
    this.name = 'HfTokenizerError';
  }
}

/** Every character JS's `\s` matches (WhiteSpace and LineTerminator of ECMA-262), as a regex class body. */
const JS_WHITESPACE = '\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';

/** The lab's pre-tokenization regex (bpe-tokenizer.ts PIECES) with `\s` spelled out, for Oniguruma and JS alike. */
export const PIECES_PATTERN =
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${JS_WHITESPACE}\\p{L}\\p{N}]+|[${JS_WHITESPACE}]+(?![^${JS_WHITESPACE}])|[${JS_WHITESPACE}]+`;

const ADDED_TOKEN = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: true } as const;
const UNK_TEXT = '<|unk|>';

/** A padding token appended after the vocabulary: it takes over the PAD role. */
export interface AppendedPad {
  readonly content: string;
  readonly id: number;
}

/** The tokenizer.json object (serialize with JSON.stringify). */
export function hfTokenizerJson(tokenizer: Tokenizer, pad?: AppendedPad): Record<string, unknown> {
  const specials = specialTokens(tokenizer);
  const common = { version: '1.0', truncation: null, padding: null, added_tokens: addedTokens(tokenizer, pad).map(([content, id]) => ({ id, content, ...ADDED_TOKEN })), normalizer: null };
  const bpeModel = (vocab: Record<string, number>, merges: string[], unk: string | null) => ({
    type: 'BPE',
    dropout: null,
    unk_token: unk,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab,
    merges,
  });
  const byteLevel = (vocab: Record<string, number>, merges: string[]) => ({
    ...common,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: PIECES_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    model: bpeModel(vocab, merges, null),
  });
  if (tokenizer instanceof BpeTokenizer) {
    return byteLevel(bpeVocab(tokenizer, specials), tokenizer.merges.map(([a, b]) => `${tokenString(tokenizer, a)} ${tokenString(tokenizer, b)}`));
  }
  if (tokenizer instanceof Gpt2Tokenizer) {
    // Its tokens are already spelled in the byte table, as the folder it came from wrote them.
    const { tokens, merges } = tokenizer.toJSON();
    return byteLevel(Object.fromEntries(tokens.map((t, id) => [t, id])), merges.map(([a, b]) => `${tokens[a]} ${tokens[b]}`));
  }
  if (tokenizer instanceof CharTokenizer) {
    const vocab: Record<string, number> = Object.fromEntries(specials);
    for (let id = tokenizer.unk + 1; id < tokenizer.vocabSize; id++) vocab[tokenizer.tokenize([id])[0]] = id;
    return { ...common, pre_tokenizer: null, post_processor: null, decoder: { type: 'Fuse' }, model: bpeModel(vocab, [], UNK_TEXT) };
  }
  throw new HfTokenizerError(`unknown tokenizer kind "${(tokenizer as Tokenizer).kind}"`);
}

/** The special tokens as [text, id], in id order: BOS, EOS, PAD, SEP (and the char tokenizer's UNK; GPT-2's own). */
function specialTokens(tokenizer: Tokenizer): [string, number][] {
  if (tokenizer instanceof Gpt2Tokenizer) {
    const { tokens, specialTokens: ids } = tokenizer.toJSON();
    return ids.map((id) => [tokens[id], id]);
  }
  const named: [string, number][] = SPECIAL_NAMES.map((n) => [SPECIAL_TEXT[n], tokenizer.special[n]]);
  if (tokenizer instanceof CharTokenizer) named.push([UNK_TEXT, tokenizer.unk]);
  return named.sort((a, b) => a[1] - b[1]);
}

/** The added tokens: the specials (in the model's vocabulary too) and an appended padding token (outside it). */
function addedTokens(tokenizer: Tokenizer, pad: AppendedPad | undefined): [string, number][] {
  return pad ? [...specialTokens(tokenizer), [pad.content, pad.id]] : specialTokens(tokenizer);
}

/** A (non-special) BPE token's bytes in the ByteLevel alphabet. */
const tokenString = (t: BpeTokenizer, id: number) => Array.from(t.tokenBytes(id), (b) => BYTE_TO_CHAR[b]).join('');

/** Every id's string → id; refuses two ids with one string (a JSON vocabulary could map it to only one of them). */
function bpeVocab(t: BpeTokenizer, specials: readonly [string, number][]): Record<string, number> {
  const vocab = new Map<string, number>(specials);
  const add = (s: string, id: number) => {
    const other = vocab.get(s);
    if (other !== undefined) {
      throw new HfTokenizerError(
        `tokens ${other} and ${id} are both ${JSON.stringify(s)}; a tokenizer.json vocabulary maps a string to one id, so these ids cannot be reproduced`,
      );
    }
    vocab.set(s, id);
  };
  for (let b = 0; b < 256; b++) add(BYTE_TO_CHAR[b], b);
  for (let id = BPE_BASE_VOCAB; id < t.vocabSize; id++) add(tokenString(t, id), id);
  return Object.fromEntries(vocab);
}

/** tokenizer_config.json: the fast tokenizer class, the specials by role, specials never matched in text. */
export function hfTokenizerConfig(tokenizer: Tokenizer, modelMaxLength: number, pad?: AppendedPad): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    ...specialRoles(tokenizer, pad),
    added_tokens_decoder: Object.fromEntries(addedTokens(tokenizer, pad).map(([content, id]) => [String(id), { content, ...ADDED_TOKEN }])),
    split_special_tokens: true,
    clean_up_tokenization_spaces: false,
    model_max_length: modelMaxLength,
    padding_side: 'right',
  };
}

/** special_tokens_map.json. */
export function hfSpecialTokensMap(tokenizer: Tokenizer, pad?: AppendedPad): Record<string, string> {
  return specialRoles(tokenizer, pad);
}

const ROLE: Readonly<Record<SpecialName, string>> = { bos: 'bos_token', eos: 'eos_token', pad: 'pad_token', sep: 'sep_token' };

function specialRoles(tokenizer: Tokenizer, pad: AppendedPad | undefined): Record<string, string> {
  // Each role's token as the tokenizer renders it ("<|bos|>"…, or GPT-2's "<|endoftext|>" for all four).
  const roles: Record<string, string> = Object.fromEntries(SPECIAL_NAMES.map((n) => [ROLE[n], tokenizer.tokenize([tokenizer.special[n]])[0]]));
  if (tokenizer instanceof CharTokenizer) roles.unk_token = UNK_TEXT;
  if (pad) roles.pad_token = pad.content;
  return roles;
}
