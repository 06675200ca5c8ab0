// Naming a tokenizer ('bpe-263' #fingerprint) and saying how two differ: the fingerprint is a function of the
// vocabulary only (the same JSON with its keys in another order gives the same one) and tells vocabularies of one
// size apart; the difference names the kind, the size, or the first id whose token differs.
import { describe, expect, test } from 'vitest';
import { BpeTokenizer } from '../../src/model/bpe-tokenizer';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { tokenizerFromJSON } from '../../src/model/tokenizer';
import { tokenizerDifference, tokenizerIdentity } from '../../src/model/tokenizer-identity';

const SPECIALS = { bos: 256, eos: 257, pad: 258, sep: 259 };
const bpe = (merges: [number, number][]) => BpeTokenizer.fromJSON({ kind: 'bpe', version: 1, specials: SPECIALS, merges });
const [a, b, c] = [97, 98, 99];

describe('tokenizerIdentity', () => {
  test("kind-size and a stable fingerprint of the vocabulary, whatever the JSON's key order", () => {
    const abc = bpe([[a, b], [b, c], [260, c]]);
    expect(tokenizerIdentity(abc)).toBe("'bpe-263' #624bb474");
    const reordered = tokenizerFromJSON({ merges: [[a, b], [b, c], [260, c]], specials: { sep: 259, pad: 258, eos: 257, bos: 256 }, version: 1, kind: 'bpe' });
    expect(tokenizerIdentity(reordered)).toBe(tokenizerIdentity(abc));
    expect(tokenizerIdentity(bpe([[a, b], [b, c], [a, 261]]))).toMatch(/^'bpe-263' #(?!624bb474)[0-9a-f]{8}$/);
    expect(tokenizerIdentity(CharTokenizer.fromText('hello'))).toMatch(/^'char-9' #[0-9a-f]{8}$/);
  });
});

describe('tokenizerDifference', () => {
  test('undefined for the same vocabulary; else the kind, the size, or the first id whose token differs', () => {
    const abc = bpe([[a, b], [b, c], [260, c]]);
    expect(tokenizerDifference(abc, bpe([[a, b], [b, c], [260, c]]))).toBeUndefined();
    expect(tokenizerDifference(CharTokenizer.fromText('ab'), abc)).toBe('char ≠ bpe');
    expect(tokenizerDifference(bpe([[a, b]]), abc)).toBe('261 ≠ 263 ids');
    expect(tokenizerDifference(bpe([[a, b], [b, c], [c, a]]), abc)).toBe('id 262 is "ca" ≠ "abc"');
    expect(tokenizerDifference(CharTokenizer.fromText('abd'), CharTokenizer.fromText('abc'))).toBe('id 7 is "d" ≠ "c"');
    // id 262 is "abc" either way, built from other pairs: every token the same, the encodings not.
    expect(tokenizerDifference(bpe([[a, b], [b, c], [a, 261]]), abc)).toBe('the same tokens, merged in another order');
  });
});
