// Character-level tokenizer. Characters are Unicode code points (an emoji is one character, not two UTF-16 units).
// Id layout (fixed, so special ids do not depend on the corpus):
//   0 BOS, 1 EOS, 2 PAD, 3 SEP, 4 UNK, then the corpus's distinct characters sorted by code point: 5, 6, …
// Unknown input: a character that never occurred in the corpus encodes as UNK (id 4) rather than throwing; UNK
// decodes as U+FFFD "�" (a character was there, which one is lost) and displays as "<|unk|>" in `tokenize`.
import {
  type CharTokenizerJSON,
  checkIds,
  checkSpecialsJSON,
  checkVersion,
  describe,
  type DecodeOptions,
  SPECIAL_TEXT,
  type SpecialIds,
  specialName,
  type Tokenizer,
  TokenizerJSONError,
} from './tokenizer-base';

const SPECIAL: SpecialIds = Object.freeze({ bos: 0, eos: 1, pad: 2, sep: 3 });
const UNK = 4;
const FIRST_CHAR = 5;
const UNK_TEXT = '<|unk|>';
const REPLACEMENT = '\uFFFD';

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly special: SpecialIds = SPECIAL;
  /** Id that characters absent from the vocabulary encode to. */
  readonly unk = UNK;
  readonly vocabSize: number;
  private readonly chars: readonly string[];
  private readonly ids: Map<string, number>;

  private constructor(chars: string[]) {
    this.chars = Object.freeze(chars.slice());
    this.ids = new Map(chars.map((c, i) => [c, FIRST_CHAR + i]));
    this.vocabSize = FIRST_CHAR + chars.length;
  }

  /** Vocabulary = the distinct code points of `corpus`, sorted by code point (deterministic), plus the specials. */
  static fromText(corpus: string): CharTokenizer {
    const seen = new Set<string>();
    for (const ch of corpus) seen.add(ch);
    const chars = [...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharTokenizer(chars);
  }

  static fromJSON(json: unknown): CharTokenizer {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new TokenizerJSONError(`expected an object, got ${describe(json)}`);
    }
    const j = json as Record<string, unknown>;
    if (j.kind !== 'char') throw new TokenizerJSONError(`"kind" must be "char", got ${describe(j.kind)}`);
    checkVersion(j);
    checkSpecialsJSON(j.specials, SPECIAL);
    const unk = (j.specials as Record<string, unknown>).unk;
    if (unk !== UNK) throw new TokenizerJSONError(`"specials.unk" must be ${UNK}, got ${describe(unk)}`);
    if (!Array.isArray(j.chars)) throw new TokenizerJSONError(`"chars" must be an array of strings, got ${describe(j.chars)}`);
    const seen = new Set<string>();
    j.chars.forEach((c: unknown, i: number) => {
      if (typeof c !== 'string' || [...c].length !== 1) {
        throw new TokenizerJSONError(`"chars[${i}]" must be a single character, got ${describe(c)}`);
      }
      if (seen.has(c)) throw new TokenizerJSONError(`"chars[${i}]" ${describe(c)} appears twice`);
      seen.add(c);
    });
    return new CharTokenizer(j.chars as string[]);
  }

  encode(text: string): Uint32Array {
    const out = new Uint32Array(text.length); // ≥ number of code points
    let n = 0;
    for (const ch of text) out[n++] = this.ids.get(ch) ?? UNK;
    return out.slice(0, n);
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    checkIds(ids, this.vocabSize, 'char');
    const drop = options.specials === 'drop';
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id >= FIRST_CHAR) s += this.chars[id - FIRST_CHAR];
      else if (id === UNK) s += REPLACEMENT;
      else if (!drop) s += SPECIAL_TEXT[specialName(id, SPECIAL)!];
    }
    return s;
  }

  tokenize(ids: ArrayLike<number>): string[] {
    checkIds(ids, this.vocabSize, 'char');
    return Array.from(ids, (id) =>
      id >= FIRST_CHAR ? this.chars[id - FIRST_CHAR] : id === UNK ? UNK_TEXT : SPECIAL_TEXT[specialName(id, SPECIAL)!],
    );
  }

  toJSON(): CharTokenizerJSON {
    return { kind: 'char', version: 1, specials: { ...SPECIAL, unk: UNK }, chars: this.chars.slice() };
  }
}
