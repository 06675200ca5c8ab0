import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { trainBpe } from '../../src/model/bpe-tokenizer';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { tokenizerFromJSON, TokenizerJSONError } from '../../src/model/tokenizer';

const corpus = readFileSync(new URL('../../public/corpus/tiny-stories.txt', import.meta.url), 'utf8');

describe('char tokenizer', () => {
  const tok = CharTokenizer.fromText('hello world\nbye 🙂');

  test('vocabulary: 5 fixed specials then the distinct code points sorted', () => {
    expect(tok.special).toEqual({ bos: 0, eos: 1, pad: 2, sep: 3 });
    expect(tok.unk).toBe(4);
    const chars = tok.toJSON().chars;
    expect(chars).toEqual(['\n', ' ', 'b', 'd', 'e', 'h', 'l', 'o', 'r', 'w', 'y', '🙂']);
    expect(tok.vocabSize).toBe(5 + chars.length);
    // Deterministic: the order of first appearance does not matter.
    expect(CharTokenizer.fromText('🙂 eyb\ndlrow olleh').toJSON()).toEqual(tok.toJSON());
  });

  test('encode/decode round trip, an emoji is one token, no specials added', () => {
    const ids = tok.encode('hello 🙂');
    expect(Array.from(ids)).toEqual([10, 9, 11, 11, 12, 6, 16]);
    expect(tok.decode(ids)).toBe('hello 🙂');
    const text = corpus.slice(0, 20_000);
    const big = CharTokenizer.fromText(corpus);
    expect(big.decode(big.encode(text))).toBe(text);
    expect(big.encode(text).some((id) => id < 5)).toBe(false);
  });

  test('unknown characters fall back to UNK (decoded as U+FFFD), never throw', () => {
    const ids = tok.encode('hex💥!');
    expect(Array.from(ids)).toEqual([10, 9, 4, 4, 4]);
    expect(tok.decode(ids)).toBe('he\uFFFD\uFFFD\uFFFD');
    expect(tok.tokenize(ids)).toEqual(['h', 'e', '<|unk|>', '<|unk|>', '<|unk|>']);
    expect(tok.encode('').length).toBe(0);
    // Special-token text in the input is plain text, not a control token.
    expect(Array.from(tok.encode('<|eos|>')).every((id) => id === 4 || id >= 5)).toBe(true);
  });

  test('decode renders or drops specials; tokenize names them', () => {
    const { bos, eos, pad, sep } = tok.special;
    const ids = [bos, ...tok.encode('hey'), sep, ...tok.encode('bye'), eos, pad];
    expect(tok.decode(ids)).toBe('<|bos|>hey<|sep|>bye<|eos|><|pad|>');
    expect(tok.decode(ids, { specials: 'drop' })).toBe('heybye');
    expect(tok.tokenize(ids)).toEqual(['<|bos|>', 'h', 'e', 'y', '<|sep|>', 'b', 'y', 'e', '<|eos|>', '<|pad|>']);
  });

  test('ids outside the vocabulary are a RangeError naming the position', () => {
    expect(() => tok.decode([5, tok.vocabSize])).toThrow(/id 17 at position 1 is outside the vocabulary \[0, 17\)/);
    expect(() => tok.decode([-1])).toThrow(RangeError);
    expect(() => tok.tokenize([1.5])).toThrow(RangeError);
  });
});

describe('tokenizer JSON', () => {
  test('char and bpe survive JSON.stringify → tokenizerFromJSON', () => {
    const text = corpus.slice(0, 30_000);
    for (const tok of [CharTokenizer.fromText(text), trainBpe(text, 400)]) {
      const back = tokenizerFromJSON(JSON.parse(JSON.stringify(tok)));
      expect(back.kind).toBe(tok.kind);
      expect(back.vocabSize).toBe(tok.vocabSize);
      expect(back.special).toEqual(tok.special);
      expect(back.toJSON()).toEqual(tok.toJSON());
      const sample = corpus.slice(50_000, 52_000);
      expect(Array.from(back.encode(sample))).toEqual(Array.from(tok.encode(sample)));
    }
  });

  const char = CharTokenizer.fromText('abc').toJSON();
  const bpe = { kind: 'bpe', version: 1, specials: { bos: 256, eos: 257, pad: 258, sep: 259 }, merges: [[97, 98], [260, 99]] };
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 'char', /expected an object, got "char"/],
    ['null', null, /expected an object, got null/],
    ['array', [], /expected an object, got an array/],
    ['unknown kind', { ...char, kind: 'wordpiece' }, /"kind" must be "char", "bpe" or "gpt2", got "wordpiece"/],
    ['missing kind', { version: 1 }, /"kind" must be "char", "bpe" or "gpt2", got nothing/],
    ['bad version', { ...char, version: 2 }, /"version" must be 1, got number 2/],
    ['missing specials', { ...char, specials: undefined }, /"specials" must be an object/],
    ['moved special', { ...char, specials: { ...char.specials, eos: 7 } }, /"specials.eos" must be 1, got number 7/],
    ['moved unk', { ...char, specials: { ...char.specials, unk: 9 } }, /"specials.unk" must be 4/],
    ['chars not array', { ...char, chars: 'abc' }, /"chars" must be an array of strings/],
    ['two-char entry', { ...char, chars: ['a', 'bc'] }, /"chars\[1\]" must be a single character, got "bc"/],
    ['number entry', { ...char, chars: ['a', 3] }, /"chars\[1\]" must be a single character, got number 3/],
    ['duplicate char', { ...char, chars: ['a', 'b', 'a'] }, /"chars\[2\]" "a" appears twice/],
    ['bpe specials', { ...bpe, specials: { bos: 0, eos: 1, pad: 2, sep: 3 } }, /"specials.bos" must be 256, got number 0/],
    ['merges missing', { ...bpe, merges: undefined }, /"merges" must be an array of \[id, id\] pairs, got nothing/],
    ['merge not a pair', { ...bpe, merges: [[97, 98, 99]] }, /"merges\[0\]" must be a pair \[id, id\], got an array of 3/],
    ['merge uses a later token', { ...bpe, merges: [[97, 98], [261, 99]] }, /"merges\[1\]" \(token 261\) refers to number 261/],
    ['merge uses a special', { ...bpe, merges: [[97, 257]] }, /"merges\[0\]" \(token 260\) refers to number 257/],
    ['merge not integer', { ...bpe, merges: [[97, 'b']] }, /refers to "b"/],
    ['repeated merge', { ...bpe, merges: [[97, 98], [97, 98]] }, /"merges\[1\]" \[97, 98\] repeats an earlier merge/],
  ];
  test.each(cases)('malformed: %s', (_name, json, message) => {
    expect(() => tokenizerFromJSON(json)).toThrow(TokenizerJSONError);
    expect(() => tokenizerFromJSON(json)).toThrow(message);
  });

  test('a valid hand-written BPE JSON rebuilds', () => {
    const tok = tokenizerFromJSON(bpe);
    expect(tok.vocabSize).toBe(262);
    expect(Array.from(tok.encode('abcab'))).toEqual([261, 260]);
  });
});
