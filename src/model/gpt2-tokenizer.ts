// GPT-2's own tokenizer, read from a Hugging Face model folder: `tokenizer.json` (the tokenizers library's byte-level
// BPE model) or `vocab.json` + `merges.txt` (the files GPT-2 was released with). It encodes and decodes exactly as
// GPT-2's: text is split with GPT-2's regex (bpe-tokenizer.ts PIECES), each piece's UTF-8 bytes become the characters
// of GPT-2's byte table (bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 for U+0100… in
// byte order), and the merges join adjacent tokens by rank (BpeEncoder, shared with the lab's own BPE). The ids are
// the file's, so a model's embedding rows keep their meaning.
//
// Special tokens. GPT-2 has one, <|endoftext|> (50256), and the lab needs four (tokenizer-base.ts). The vocabulary is
// kept as it is — new rows would be untrained embeddings the model has never read — so BOS = EOS = PAD = SEP =
// <|endoftext|>, GPT-2's own convention for BOS, EOS and padding. That is safe in the lab because every special is
// placed and read by position, never searched for: packed batches and SFT rows know their lengths and loss masks
// (src/rlhf/sequences.ts, src/model/data.ts sftBatch), generation looks for EOS among the sampled tokens only (so the
// query's BOS and SEP do not stop it), and padding is never trained on. A tokenizer that carries the lab's own names
// (<|bos|>, <|eos|>, <|pad|>, <|sep|>, as special tokens) maps each role to its token instead.
//
// As with the lab's other tokenizers, `encode` never produces a special token from text: "<|endoftext|>" in text is
// ordinary characters (gpt-3-encoder and GPT-2's original encoder agree; Hugging Face's would split it out). Decoding
// renders a special as its own text ("<|endoftext|>"), not the lab's "<|eos|>". Added tokens that are not special are
// refused: Hugging Face would split them out of text, which this encoder does not do.
import { BpeEncoder, BYTE_TO_CHAR, decodeByteTokens, displayBytes } from './bpe-tokenizer';
import {
  checkIds,
  checkVersion,
  describe,
  type DecodeOptions,
  type Gpt2TokenizerJSON,
  SPECIAL_NAMES,
  SPECIAL_TEXT,
  type SpecialIds,
  type Tokenizer,
  TokenizerJSONError,
} from './tokenizer-base';

/** GPT-2's end-of-text token: its only special, standing for BOS, EOS, PAD and SEP in the lab. */
export const END_OF_TEXT = '<|endoftext|>';

const CHAR_BYTES = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** A tokenizer file that cannot be read as GPT-2's tokenizer; the message names the file and the entry. */
export class Gpt2TokenizerError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'Gpt2TokenizerError';
  }
}

export class Gpt2Tokenizer implements Tokenizer {
  readonly kind = 'gpt2' as const;
  readonly vocabSize: number;
  readonly special: SpecialIds;
  /** Each id's token as the file writes it: byte-table characters, or a special's text. */
  private readonly tokens: readonly string[];
  private readonly specialTokens: ReadonlySet<number>;
  /** The merges in rank order, as pairs of ids. */
  private readonly merges: readonly (readonly [number, number])[];
  /** Each id's bytes (empty for specials). */
  private readonly bytes: Uint8Array[];
  private readonly encoder: BpeEncoder;

  /** `tokens` by id (no holes), the ids of the special tokens, the merges as pairs of token texts in rank order. */
  private constructor(tokens: readonly string[], specialTokens: ReadonlySet<number>, merges: readonly (readonly [string, string])[], blame: Blame) {
    const fail = blame.vocabulary;
    this.tokens = tokens;
    this.specialTokens = specialTokens;
    this.vocabSize = tokens.length;
    const ids = new Map<string, number>();
    this.bytes = tokens.map((text, id) => {
      const other = ids.get(text);
      if (other !== undefined) throw fail(`token ${describe(text)} has two ids, ${other} and ${id}`);
      ids.set(text, id);
      if (specialTokens.has(id)) return new Uint8Array(0);
      if (text.length === 0) throw fail(`token ${id} is empty`);
      return Uint8Array.from(text, (c) => {
        const b = CHAR_BYTES.get(c);
        if (b === undefined) throw fail(`token ${describe(text)} (id ${id}) has ${describe(c)}, outside GPT-2's byte-level alphabet (a byte-level BPE vocabulary is expected)`);
        return b;
      });
    });
    const byteIds = BYTE_TO_CHAR.map((c, b) => {
      const id = ids.get(c);
      if (id === undefined || specialTokens.has(id)) throw fail(`byte 0x${b.toString(16).padStart(2, '0')} (${describe(c)}) has no token, so some text could not be encoded`);
      return id;
    });
    const seen = new Set<string>();
    const idOf = (text: string, i: number) => {
      const id = ids.get(text);
      if (id === undefined || specialTokens.has(id)) throw blame.merge(i, `needs the token ${describe(text)}, which the vocabulary does not have`);
      return id;
    };
    const triples = merges.map(([a, b], i): [number, number, number] => {
      const key = `${a} ${b}`;
      if (seen.has(key)) throw blame.merge(i, `${describe(key)} repeats an earlier merge`);
      seen.add(key);
      return [idOf(a, i), idOf(b, i), idOf(a + b, i)];
    });
    this.merges = triples.map(([a, b]) => [a, b] as const);
    this.encoder = new BpeEncoder(byteIds, triples);
    // Each role: the special with the lab's name for it, else <|endoftext|>.
    const specialId = (text: string) => {
      const id = ids.get(text);
      return id !== undefined && specialTokens.has(id) ? id : undefined;
    };
    const roles = SPECIAL_NAMES.map((name) => [name, specialId(SPECIAL_TEXT[name]) ?? specialId(END_OF_TEXT)] as const);
    const missing = roles.filter(([, id]) => id === undefined).map(([name]) => name);
    if (missing.length > 0) throw fail(`no special token ${END_OF_TEXT} (nor ${missing.map((n) => SPECIAL_TEXT[n]).join(', ')}): the lab needs one for ${missing.map((n) => n.toUpperCase()).join(', ')}`);
    this.special = Object.freeze(Object.fromEntries(roles)) as unknown as SpecialIds;
  }

  /** From a tokenizers-library `tokenizer.json` holding a byte-level BPE model (GPT-2's layout). */
  static fromTokenizerJson(text: string): Gpt2Tokenizer {
    const file = 'tokenizer.json';
    const fail = (message: string) => new Gpt2TokenizerError(file, message);
    const json = parseJson(text, file);
    const model = json.model as Record<string, unknown> | undefined;
    if (!isObject(model)) throw fail(`"model" must be an object, got ${describe(json.model)}`);
    if (model.type !== 'BPE') throw fail(`"model.type" must be "BPE" (GPT-2's byte-level BPE), got ${describe(model.type)}`);
    // The options that would change how text is split or merged must be GPT-2's.
    const gpt2Options: [string, unknown, (v: unknown) => boolean][] = [
      ['normalizer', json.normalizer, (v) => v === null || v === undefined],
      ['pre_tokenizer.type', (json.pre_tokenizer as Record<string, unknown> | null)?.type, (v) => v === 'ByteLevel'],
      ['pre_tokenizer.add_prefix_space', (json.pre_tokenizer as Record<string, unknown> | null)?.add_prefix_space, (v) => v === false || v === undefined],
      ['pre_tokenizer.use_regex', (json.pre_tokenizer as Record<string, unknown> | null)?.use_regex, (v) => v === true || v === undefined],
      ['model.dropout', model.dropout, (v) => v === null || v === undefined],
      ['model.continuing_subword_prefix', model.continuing_subword_prefix, (v) => v === null || v === undefined || v === ''],
      ['model.end_of_word_suffix', model.end_of_word_suffix, (v) => v === null || v === undefined || v === ''],
      ['model.byte_fallback', model.byte_fallback, (v) => v === false || v === undefined],
      ['model.ignore_merges', model.ignore_merges, (v) => v === false || v === undefined],
    ];
    for (const [field, value, ok] of gpt2Options) if (!ok(value)) throw fail(`"${field}" is ${describe(value)}, which GPT-2's tokenizer does not use and this lab does not support`);
    if (!isObject(model.vocab)) throw fail(`"model.vocab" must be an object {token: id}, got ${describe(model.vocab)}`);
    const entries = Object.entries(model.vocab);
    const specials = new Map<number, string>();
    const added = json.added_tokens ?? [];
    if (!Array.isArray(added)) throw fail(`"added_tokens" must be an array, got ${describe(added)}`);
    added.forEach((t: unknown, i: number) => {
      if (!isObject(t) || typeof t.content !== 'string' || !Number.isInteger(t.id)) throw fail(`"added_tokens[${i}]" must be {id, content, special}, got ${describe(t)}`);
      if (t.special !== true) throw fail(`"added_tokens[${i}]" ${describe(t.content)} is not special: Hugging Face splits such tokens out of text, which this lab's encoder does not do`);
      const inVocab = model.vocab && (model.vocab as Record<string, unknown>)[t.content];
      if (inVocab !== undefined && inVocab !== t.id) throw fail(`"added_tokens[${i}]" ${describe(t.content)} has id ${t.id}, but "model.vocab" gives it ${describe(inVocab)}`);
      specials.set(t.id as number, t.content);
    });
    if (!Array.isArray(model.merges)) throw fail(`"model.merges" must be an array, got ${describe(model.merges)}`);
    const merges = model.merges.map((m: unknown, i: number): [string, string] => {
      // "a b" (tokenizers before 0.20) or ["a", "b"] (0.20 on).
      const pair = typeof m === 'string' ? m.split(' ') : m;
      if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((x) => typeof x === 'string' && x.length > 0)) throw fail(`"model.merges[${i}]" must be "a b" or ["a", "b"], got ${describe(m)}`);
      return [pair[0], pair[1]];
    });
    const tokens = tokensById(entries, specials, '"model.vocab"', fail);
    return new Gpt2Tokenizer(tokens, new Set(specials.keys()), merges, { vocabulary: fail, merge: (i, message) => fail(`"model.merges[${i}]" ${message}`) });
  }

  /** From GPT-2's release files: `vocab.json` ({token: id}) and `merges.txt` ("a b" per line after a "#version" header). */
  static fromVocabAndMerges(vocabText: string, mergesText: string): Gpt2Tokenizer {
    const vocab = parseJson(vocabText, 'vocab.json');
    const failVocab = (message: string) => new Gpt2TokenizerError('vocab.json', message);
    const failMerges = (message: string) => new Gpt2TokenizerError('merges.txt', message);
    // These files mark no token as special: <|endoftext|> and the lab's own names are.
    const specialTexts = new Set([END_OF_TEXT, ...Object.values(SPECIAL_TEXT)]);
    const specials = new Map(Object.entries(vocab).flatMap(([text, id]) => (specialTexts.has(text) && Number.isInteger(id) ? [[id as number, text] as const] : [])));
    const tokens = tokensById(Object.entries(vocab), specials, 'an entry', failVocab);
    const lines = mergesText.split(/\r?\n/);
    const merges: [string, string][] = [];
    const lineOf: number[] = [];
    lines.forEach((line, i) => {
      if (line === '' || (i === 0 && line.startsWith('#version'))) return;
      const pair = line.split(' ');
      if (pair.length !== 2 || pair[0] === '' || pair[1] === '') throw failMerges(`line ${i + 1} must be two tokens separated by one space, got ${describe(line)}`);
      merges.push([pair[0], pair[1]]);
      lineOf.push(i + 1);
    });
    return new Gpt2Tokenizer(tokens, new Set(specials.keys()), merges, { vocabulary: failVocab, merge: (i, message) => failMerges(`line ${lineOf[i]} ${message}`) });
  }

  /** Rebuilds the tokenizer `toJSON()` wrote (checkpoint metadata); throws TokenizerJSONError. */
  static fromJSON(json: unknown): Gpt2Tokenizer {
    if (!isObject(json)) throw new TokenizerJSONError(`expected an object, got ${describe(json)}`);
    if (json.kind !== 'gpt2') throw new TokenizerJSONError(`"kind" must be "gpt2", got ${describe(json.kind)}`);
    checkVersion(json);
    const { tokens, specialTokens, merges, specials } = json;
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) throw new TokenizerJSONError(`"tokens" must be an array of strings, got ${describe(tokens)}`);
    const isId = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) < tokens.length;
    if (!Array.isArray(specialTokens) || !specialTokens.every(isId)) throw new TokenizerJSONError(`"specialTokens" must be an array of token ids, got ${describe(specialTokens)}`);
    if (!Array.isArray(merges)) throw new TokenizerJSONError(`"merges" must be an array of [id, id] pairs, got ${describe(merges)}`);
    const pairs = merges.map((m: unknown, i: number): [string, string] => {
      if (!Array.isArray(m) || m.length !== 2 || !m.every(isId)) throw new TokenizerJSONError(`"merges[${i}]" must be a pair of token ids, got ${describe(m)}`);
      return [tokens[m[0]], tokens[m[1]]];
    });
    const tokenizer = new Gpt2Tokenizer(tokens, new Set(specialTokens), pairs, {
      vocabulary: (message) => new TokenizerJSONError(message),
      merge: (i, message) => new TokenizerJSONError(`"merges[${i}]" ${message}`),
    });
    for (const name of SPECIAL_NAMES) {
      const got = isObject(specials) ? specials[name] : undefined;
      if (got !== tokenizer.special[name]) throw new TokenizerJSONError(`"specials.${name}" must be ${tokenizer.special[name]}, got ${describe(got)}`);
    }
    return tokenizer;
  }

  encode(text: string): Uint32Array {
    return this.encoder.encode(text);
  }

  /** Exact inverse of `encode` on its output; specials render as their own text (or are dropped). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    checkIds(ids, this.vocabSize, 'gpt2');
    const drop = options.specials === 'drop';
    return decodeByteTokens(ids, this.bytes, (id) => (this.specialTokens.has(id) ? (drop ? '' : this.tokens[id]) : undefined));
  }

  tokenize(ids: ArrayLike<number>): string[] {
    checkIds(ids, this.vocabSize, 'gpt2');
    return Array.from(ids, (id) => (this.specialTokens.has(id) ? this.tokens[id] : displayBytes(this.bytes[id])));
  }

  toJSON(): Gpt2TokenizerJSON {
    return {
      kind: 'gpt2',
      version: 1,
      specials: { ...this.special },
      tokens: this.tokens.slice(),
      specialTokens: [...this.specialTokens].sort((a, b) => a - b),
      merges: this.merges.map(([a, b]) => [a, b]),
    };
  }
}

/** How a source names its problems: the vocabulary's, and those of the merge of rank i. */
interface Blame {
  vocabulary(message: string): Error;
  merge(i: number, message: string): Error;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string, file: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Gpt2TokenizerError(file, `not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) throw new Gpt2TokenizerError(file, `expected a JSON object, got ${describe(json)}`);
  return json;
}

/** The vocabulary's tokens by id, the specials (which may lie past it) included; every id 0…n−1 must have one. */
function tokensById(entries: [string, unknown][], specials: ReadonlyMap<number, string>, what: string, fail: (message: string) => Error): string[] {
  const tokens: string[] = [];
  for (const [text, id] of entries) {
    if (!Number.isInteger(id) || (id as number) < 0) throw fail(`${what} ${describe(text)} has id ${describe(id)}, not a non-negative integer`);
    if (tokens[id as number] !== undefined) throw fail(`id ${id} is used twice, by ${describe(tokens[id as number])} and ${describe(text)}`);
    tokens[id as number] = text;
  }
  for (const [id, text] of specials) {
    if (tokens[id] !== undefined && tokens[id] !== text) throw fail(`id ${id} is the special token ${describe(text)} and ${describe(tokens[id])}`);
    tokens[id] = text;
  }
  for (let id = 0; id < tokens.length; id++) if (tokens[id] === undefined) throw fail(`no token has id ${id} (ids must be 0…${tokens.length - 1} without gaps)`);
  return tokens;
}
