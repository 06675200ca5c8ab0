// What the character-level (char-tokenizer.ts), byte-level BPE (bpe-tokenizer.ts) and GPT-2 (gpt2-tokenizer.ts) tokenizers share: the Tokenizer
// interface, the special tokens both carry, the JSON both write, and the helpers that validate it. Kept apart from
// tokenizer.ts, whose tokenizerFromJSON imports both implementations, so neither implementation imports a module
// that imports it back.
//
// Special tokens: BOS (begins a sequence), EOS (ends one; generation stops there), PAD (right padding in batches,
// never trained on) and SEP (between an SFT prompt and its response). `encode` never produces them from text: the
// string "<|eos|>" in user text encodes as ordinary characters/bytes, so user input cannot inject control tokens;
// data.ts places them explicitly by id.
export type SpecialName = 'bos' | 'eos' | 'pad' | 'sep';

/** Ids of the special tokens. */
export interface SpecialIds {
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  readonly sep: number;
}

/** How specials render in `decode` and `tokenize`, in this order of ids for both kinds: bos, eos, pad, sep. */
export const SPECIAL_NAMES: readonly SpecialName[] = ['bos', 'eos', 'pad', 'sep'];
export const SPECIAL_TEXT: Readonly<Record<SpecialName, string>> = {
  bos: '<|bos|>',
  eos: '<|eos|>',
  pad: '<|pad|>',
  sep: '<|sep|>',
};

export interface DecodeOptions {
  /** 'render' (default): BOS/EOS/PAD/SEP appear as "<|bos|>" etc.; 'drop': they are left out. */
  specials?: 'render' | 'drop';
}

/** Each tokenizer kind as the page and the model cards name it ("… tokenizer"). */
export const TOKENIZER_NAMES: Readonly<Record<Tokenizer['kind'], string>> = { char: 'character', bpe: 'byte-level BPE', gpt2: "GPT-2's byte-level BPE" };

export interface Tokenizer {
  readonly kind: 'char' | 'bpe' | 'gpt2';
  /** Number of ids: every id is in [0, vocabSize). */
  readonly vocabSize: number;
  readonly special: SpecialIds;
  /** Text → ids. Adds no special tokens. Never throws on any string (see each kind for unknown input). */
  encode(text: string): Uint32Array;
  /** Ids → text. Throws a RangeError naming the position for an id outside [0, vocabSize). */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** One display string per id (for per-token colouring); specials as "<|eos|>" etc. */
  tokenize(ids: ArrayLike<number>): string[];
  /** Plain JSON-able description; `tokenizerFromJSON(JSON.parse(JSON.stringify(t.toJSON())))` rebuilds `t`. */
  toJSON(): TokenizerJSON;
}

/** The JSON each kind's `toJSON()` writes (checkpoint metadata); tokenizerFromJSON reads it back. */
export interface CharTokenizerJSON {
  kind: 'char';
  version: 1;
  specials: { bos: number; eos: number; pad: number; sep: number; unk: number };
  /** chars[i] has id 5 + i; one code point each, distinct. */
  chars: string[];
}

export interface BpeTokenizerJSON {
  kind: 'bpe';
  version: 1;
  specials: { bos: number; eos: number; pad: number; sep: number };
  /** merges[i] = [a, b]: the pair of ids that merge i joins into id 260 + i. */
  merges: [number, number][];
}

export interface Gpt2TokenizerJSON {
  kind: 'gpt2';
  version: 1;
  /** The ids of the lab's roles (all <|endoftext|> for GPT-2). */
  specials: { bos: number; eos: number; pad: number; sep: number };
  /** tokens[id]: the token as the vocabulary file writes it (GPT-2's byte-table characters, or a special's text). */
  tokens: string[];
  /** The ids of the special tokens (never produced by encode; decoded as their text). */
  specialTokens: number[];
  /** merges[rank] = [a, b]: the pair of ids that merge joins (into the token tokens[a] + tokens[b]). */
  merges: [number, number][];
}

export type TokenizerJSON = CharTokenizerJSON | BpeTokenizerJSON | Gpt2TokenizerJSON;

/** Thrown by `tokenizerFromJSON` for anything that is not a tokenizer this code wrote. */
export class TokenizerJSONError extends Error {
  constructor(message: string) {
    super(`invalid tokenizer JSON: ${message}`);
    this.name = 'TokenizerJSONError';
  }
}

// ---- helpers shared by the implementations ----

/** Short description of a JSON value for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Checks the "specials" field against the layout the implementation uses (the ids are fixed per kind). */
export function checkSpecialsJSON(value: unknown, expected: SpecialIds): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenizerJSONError(`"specials" must be an object {bos, eos, pad, sep}, got ${describe(value)}`);
  }
  for (const name of SPECIAL_NAMES) {
    const got = (value as Record<string, unknown>)[name];
    if (got !== expected[name]) {
      throw new TokenizerJSONError(`"specials.${name}" must be ${expected[name]}, got ${describe(got)}`);
    }
  }
}

export function checkVersion(json: object): void {
  const version = (json as { version?: unknown }).version;
  if (version !== 1) throw new TokenizerJSONError(`"version" must be 1, got ${describe(version)}`);
}

/** Throws a RangeError unless every id is an integer in [0, vocabSize). */
export function checkIds(ids: ArrayLike<number>, vocabSize: number, kind: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`${kind} tokenizer: id ${id} at position ${i} is outside the vocabulary [0, ${vocabSize})`);
    }
  }
}

/** Name of the special with this id, or undefined. */
export function specialName(id: number, special: SpecialIds): SpecialName | undefined {
  for (const name of SPECIAL_NAMES) if (special[name] === id) return name;
  return undefined;
}
