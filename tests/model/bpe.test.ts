import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { BPE_BASE_VOCAB, trainBpe } from '../../src/model/bpe-tokenizer';
import { rng } from '../helpers/random';

const corpus = readFileSync(new URL('../../public/corpus/tiny-stories.txt', import.meta.url), 'utf8');
const PIECES = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Plain BPE training, recounting every pair each step: the specification trainBpe's incremental version must match. */
function naiveMerges(text: string, vocabSize: number): [number, number][] {
  const words = [...text.matchAll(PIECES)].map((m) => Array.from(new TextEncoder().encode(m[0])));
  const merges: [number, number][] = [];
  while (BPE_BASE_VOCAB + merges.length < vocabSize) {
    const counts = new Map<number, number>(); // key a·65536 + b
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) counts.set(w[i] * 65536 + w[i + 1], (counts.get(w[i] * 65536 + w[i + 1]) ?? 0) + 1);
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [key, c] of counts) {
      const a = Math.floor(key / 65536);
      const b = key % 65536;
      if (c > bestCount || (c === bestCount && best !== undefined && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (best === undefined) break;
    const z = BPE_BASE_VOCAB + merges.length;
    merges.push(best);
    for (const w of words) {
      for (let i = 0; i + 1 < w.length; i++) if (w[i] === best[0] && w[i + 1] === best[1]) w.splice(i, 2, z);
    }
  }
  return merges;
}

/** Seeded random Unicode: ASCII, Latin-1, Greek, CJK, combining marks, emoji (astral), whitespace; no lone surrogates. */
function randomText(r: () => number, maxLength: number): string {
  const ranges: [number, number][] = [[0x20, 0x7e], [0x20, 0x7e], [0xa0, 0xff], [0x391, 0x3c9], [0x4e00, 0x4fff], [0x300, 0x36f], [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x9, 0xa], [0x20, 0x20]];
  let s = '';
  const n = Math.floor(r() * maxLength);
  for (let i = 0; i < n; i++) {
    const [lo, hi] = ranges[Math.floor(r() * ranges.length)];
    s += String.fromCodePoint(lo + Math.floor(r() * (hi - lo + 1)));
  }
  return s;
}

describe('byte-level BPE', () => {
  const slice = corpus.slice(0, 100_000);
  const tok = trainBpe(slice, 1024);

  test('vocabulary: 256 bytes, 4 specials at 256..259, then merges', () => {
    expect(tok.vocabSize).toBe(1024);
    expect(tok.merges.length).toBe(1024 - 260);
    expect(tok.special).toEqual({ bos: 256, eos: 257, pad: 258, sep: 259 });
    expect(Array.from(tok.tokenBytes(65))).toEqual([65]);
    expect(tok.tokenBytes(257).length).toBe(0);
  });

  test('vocabSize below 256 bytes + 4 specials (or not an integer) is a clear error', () => {
    expect(() => trainBpe('abc', 259)).toThrow(/vocabSize must be an integer in \[260, .*got 259/);
    expect(() => trainBpe('abc', 300.5)).toThrow(RangeError);
    const bytesOnly = trainBpe('hello', 260);
    expect(bytesOnly.vocabSize).toBe(260);
    expect(Array.from(bytesOnly.encode('hé'))).toEqual([104, 0xc3, 0xa9]);
  });

  test('training is deterministic and matches plain (recount-every-step) BPE', () => {
    const text = corpus.slice(200_000, 210_000);
    const a = trainBpe(text, 500);
    expect(trainBpe(text, 500).toJSON()).toEqual(a.toJSON());
    expect(a.toJSON().merges).toEqual(naiveMerges(text, 500));
  });

  test('stops early, smaller vocabulary, when every piece is a single token', () => {
    const small = trainBpe('aaaa bb aaaa', 1000);
    // pieces "aaaa", " bb", " aaaa": merges aa, aaaa, " b", " bb"... until each piece is one token
    expect(small.vocabSize).toBeLessThan(1000);
    for (const piece of ['aaaa', ' bb', ' aaaa']) expect(small.encode(piece).length).toBe(1);
  });

  test('compression: < 0.5 tokens per byte at vocab 1024 on held-out corpus text', () => {
    const heldOut = corpus.slice(500_000, 700_000);
    const ids = tok.encode(heldOut);
    const perByte = ids.length / new TextEncoder().encode(heldOut).length;
    expect(perByte).toBeLessThan(0.5);
    expect(tok.decode(ids)).toBe(heldOut);
  });

  test('merges never cross a pre-split boundary (a space only starts a token; letters never join non-letters)', () => {
    for (const text of tok.tokenize(Array.from({ length: tok.vocabSize - 260 }, (_, i) => 260 + i))) {
      if (/^\s+$/.test(text) || /^'(s|t|re|ve|m|ll|d)$/.test(text)) continue; // whitespace runs, GPT-2's contractions
      expect(text.slice(1)).not.toMatch(/\s/);
      expect(text).not.toMatch(/\p{L}[^\p{L}]|[^\p{L}\s]\p{L}/u);
    }
  });

  test('round trip on seeded random Unicode strings (emoji, CJK, combining marks, whitespace)', () => {
    const r = rng(7);
    // Train on random text too, so merges exist inside multi-byte characters.
    const trained = trainBpe(Array.from({ length: 200 }, () => randomText(r, 60)).join(' '), 700);
    for (let i = 0; i < 300; i++) {
      const s = randomText(r, 80);
      for (const t of [tok, trained]) {
        const ids = t.encode(s);
        expect(t.decode(ids)).toBe(s);
        expect(ids.some((id) => id >= 256 && id < 260)).toBe(false); // encode adds no specials
      }
    }
  });

  test('specials in decode and tokenize; partial UTF-8 shows as byte escapes and decodes as U+FFFD', () => {
    const { bos, eos, pad, sep } = tok.special;
    const ids = [bos, ...tok.encode('hi'), sep, ...tok.encode('ok 🙂'), eos, pad];
    expect(tok.decode(ids)).toBe('<|bos|>hi<|sep|>ok 🙂<|eos|><|pad|>');
    expect(tok.decode(ids, { specials: 'drop' })).toBe('hiok 🙂');
    const emoji = tok.encode('🙂'); // 4 bytes F0 9F 99 82, not merged by this English corpus
    expect(tok.tokenize(emoji)).toEqual(['\\xF0', '\\x9F', '\\x99', '\\x82']);
    expect(tok.decode(emoji.subarray(0, 2))).toBe('\uFFFD');
    expect(tok.tokenize([bos, ...tok.encode(' the')])).toEqual(['<|bos|>', ' the']);
    expect(() => tok.decode([tok.vocabSize])).toThrow(/id 1024 at position 0 is outside the vocabulary/);
    expect(Array.from(tok.encode('<|eos|>')).includes(eos)).toBe(false);
  });

  test('onProgress reports every merge', () => {
    const seen: number[] = [];
    trainBpe(corpus.slice(0, 5000), 270, { onProgress: (done, total) => seen.push(done * 100 + total) });
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * 100 + 10));
  });
});
