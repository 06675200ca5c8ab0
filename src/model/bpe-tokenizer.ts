// Byte-level BPE (the GPT-2 idea, own implementation).
// Id layout: 0..255 the bytes (id b = byte b), 256 BOS, 257 EOS, 258 PAD, 259 SEP, then merge i → id 260 + i.
// Any string encodes (as its UTF-8 bytes), so there is no UNK token; decode is the exact inverse of encode.
// (A JS string with a lone surrogate is not valid Unicode: UTF-8 encoding turns it into U+FFFD, as TextEncoder does.)
//
// Training (`trainBpe`): the text is first split into pieces with GPT-2's regex (contractions, words with their
// leading space, numbers, punctuation runs, whitespace), so merges never cross a word boundary. Then, repeatedly,
// the most frequent adjacent pair of ids over all pieces becomes a new token. Ties go to the smallest pair
// (first id, then second id), so training is deterministic with no seed. Pair counts are updated incrementally
// (only the pieces containing the merged pair are touched) and the best pair comes from a max-heap with lazy
// deletion, so a merge costs about the size of the pieces it changes, not the size of the corpus.
// Encoding applies merges by rank: in each piece, repeatedly merge the adjacent pair that was learned earliest.
// That encoding (BpeEncoder) and the byte-level decoding (decodeByteTokens, displayBytes) are shared with GPT-2's own
// tokenizer (gpt2-tokenizer.ts), which differs only in its id layout and its vocabulary's origin.
import {
  type BpeTokenizerJSON,
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

const SPECIAL: SpecialIds = Object.freeze({ bos: 256, eos: 257, pad: 258, sep: 259 });
/** Ids below this are bytes and specials; merged tokens start here. */
export const BPE_BASE_VOCAB = 260;
/** Pair keys pack two ids as a·2^20 + b, exact in a double; vocabularies stay far below this. */
const KEY = 1 << 20;
const MAX_VOCAB = KEY;

/**
 * GPT-2's byte → character table (bytes_to_unicode; Hugging Face's ByteLevel alphabet): printable Latin-1 bytes stand
 * for themselves, the other 68 for U+0100… in byte order. Vocabulary files spell a token's bytes in it.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
})();

/** GPT-2's pre-tokenization pattern. */
export const PIECES = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const CACHE_LIMIT = 50_000;

export interface TrainBpeOptions {
  /** Called after each merge, e.g. for a progress bar. */
  onProgress?: (merges: number, targetMerges: number) => void;
}

/**
 * Learn a byte-level BPE vocabulary of `vocabSize` ids (≥ 260: 256 bytes + 4 specials) from `corpus`.
 * Stops early, with a smaller vocabulary, when no adjacent pair is left to merge (every piece is one token).
 */
export function trainBpe(corpus: string, vocabSize: number, options: TrainBpeOptions = {}): BpeTokenizer {
  if (!Number.isInteger(vocabSize) || vocabSize < BPE_BASE_VOCAB || vocabSize > MAX_VOCAB) {
    throw new RangeError(
      `trainBpe: vocabSize must be an integer in [${BPE_BASE_VOCAB}, ${MAX_VOCAB}] ` +
        `(256 bytes + 4 special tokens + merges), got ${vocabSize}`,
    );
  }
  const targetMerges = vocabSize - BPE_BASE_VOCAB;

  // Distinct pieces with their frequencies.
  const pieceCounts = new Map<string, number>();
  for (const m of corpus.matchAll(PIECES)) pieceCounts.set(m[0], (pieceCounts.get(m[0]) ?? 0) + 1);
  const encoder = new TextEncoder();
  const words: Int32Array[] = [];
  const lengths: number[] = [];
  const freqs: number[] = [];
  for (const [piece, count] of pieceCounts) {
    const bytes = encoder.encode(piece);
    if (bytes.length < 2) continue; // nothing to merge inside
    words.push(Int32Array.from(bytes));
    lengths.push(bytes.length);
    freqs.push(count);
  }

  // Pair counts and, per pair, the words that (may) contain it.
  const counts = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let w = 0; w < words.length; w++) {
    const word = words[w];
    for (let i = 0; i + 1 < lengths[w]; i++) {
      const key = word[i] * KEY + word[i + 1];
      counts.set(key, (counts.get(key) ?? 0) + freqs[w]);
      const list = where.get(key);
      if (list === undefined) where.set(key, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const heap = new PairHeap();
  for (const [key, count] of counts) heap.push(count, key);

  const merges: [number, number][] = [];
  const touched = new Set<number>();
  const add = (key: number, delta: number) => {
    const c = (counts.get(key) ?? 0) + delta;
    if (c === 0) counts.delete(key);
    else counts.set(key, c);
    touched.add(key);
  };
  while (merges.length < targetMerges) {
    // Best pair: highest count, ties to the smallest key; stale heap entries (count changed since) are skipped.
    let best = -1;
    while (heap.size > 0) {
      const [count, key] = heap.pop();
      if (counts.get(key) === count) {
        best = key;
        break;
      }
    }
    if (best < 0) break; // no pairs left
    const a = Math.floor(best / KEY);
    const b = best - a * KEY;
    const z = BPE_BASE_VOCAB + merges.length;
    merges.push([a, b]);
    touched.clear();
    for (const w of where.get(best) ?? []) {
      const word = words[w];
      const len = lengths[w];
      const f = freqs[w];
      let has = false;
      for (let i = 0; i + 1 < len; i++) if (word[i] === a && word[i + 1] === b) has = true;
      if (!has) continue; // an earlier merge in this word removed the pair
      for (let i = 0; i + 1 < len; i++) add(word[i] * KEY + word[i + 1], -f);
      let n = 0;
      for (let i = 0; i < len; i++) {
        if (i + 1 < len && word[i] === a && word[i + 1] === b) {
          word[n++] = z;
          i++;
        } else {
          word[n++] = word[i];
        }
      }
      lengths[w] = n;
      for (let i = 0; i + 1 < n; i++) {
        const key = word[i] * KEY + word[i + 1];
        add(key, f);
        // Only pairs with z are new to this word; the others already list it.
        if (word[i] === z || word[i + 1] === z) {
          const list = where.get(key);
          if (list === undefined) where.set(key, [w]);
          else if (list[list.length - 1] !== w) list.push(w);
        }
      }
    }
    where.delete(best);
    for (const key of touched) {
      const c = counts.get(key);
      if (c !== undefined) heap.push(c, key);
    }
    options.onProgress?.(merges.length, targetMerges);
  }
  return new BpeTokenizer(merges);
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly special: SpecialIds = SPECIAL;
  readonly vocabSize: number;
  /** merges[i] joins the pair into id 260 + i. */
  readonly merges: readonly (readonly [number, number])[];
  private readonly bytes: Uint8Array[] = [];
  private readonly encoder: BpeEncoder;

  /** Use `trainBpe` or `BpeTokenizer.fromJSON`; the merges must already be valid (fromJSON checks them). */
  constructor(merges: [number, number][]) {
    this.merges = Object.freeze(merges.map(([a, b]) => Object.freeze([a, b] as const)));
    this.vocabSize = BPE_BASE_VOCAB + merges.length;
    for (let b = 0; b < 256; b++) this.bytes.push(Uint8Array.of(b));
    for (let s = 256; s < BPE_BASE_VOCAB; s++) this.bytes.push(new Uint8Array(0));
    this.encoder = new BpeEncoder(
      Array.from({ length: 256 }, (_, b) => b),
      merges.map(([a, b], i) => [a, b, BPE_BASE_VOCAB + i]),
    );
    merges.forEach(([a, b]) => {
      const joined = new Uint8Array(this.bytes[a].length + this.bytes[b].length);
      joined.set(this.bytes[a]);
      joined.set(this.bytes[b], this.bytes[a].length);
      this.bytes.push(joined);
    });
  }

  static fromJSON(json: unknown): BpeTokenizer {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new TokenizerJSONError(`expected an object, got ${describe(json)}`);
    }
    const j = json as Record<string, unknown>;
    if (j.kind !== 'bpe') throw new TokenizerJSONError(`"kind" must be "bpe", got ${describe(j.kind)}`);
    checkVersion(j);
    checkSpecialsJSON(j.specials, SPECIAL);
    if (!Array.isArray(j.merges)) throw new TokenizerJSONError(`"merges" must be an array of [id, id] pairs, got ${describe(j.merges)}`);
    if (BPE_BASE_VOCAB + j.merges.length > MAX_VOCAB) throw new TokenizerJSONError(`too many merges (${j.merges.length})`);
    const seen = new Set<number>();
    const merges = j.merges.map((m: unknown, i: number): [number, number] => {
      const id = BPE_BASE_VOCAB + i;
      if (!Array.isArray(m) || m.length !== 2) throw new TokenizerJSONError(`"merges[${i}]" must be a pair [id, id], got ${describe(m)}`);
      for (const x of m) {
        if (!Number.isInteger(x) || x < 0 || x >= id || (x >= 256 && x < BPE_BASE_VOCAB)) {
          throw new TokenizerJSONError(
            `"merges[${i}]" (token ${id}) refers to ${describe(x)}: must be a byte (0..255) or an earlier merged token (260..${id - 1})`,
          );
        }
      }
      const key = m[0] * KEY + m[1];
      if (seen.has(key)) throw new TokenizerJSONError(`"merges[${i}]" [${m[0]}, ${m[1]}] repeats an earlier merge`);
      seen.add(key);
      return [m[0], m[1]];
    });
    return new BpeTokenizer(merges);
  }

  encode(text: string): Uint32Array {
    return this.encoder.encode(text);
  }

  /**
   * Exact inverse of `encode` on its output. Ids that do not form whole UTF-8 characters (e.g. a slice that cuts
   * an emoji's bytes) decode to U+FFFD for the broken bytes.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    checkIds(ids, this.vocabSize, 'bpe');
    const drop = options.specials === 'drop';
    return decodeByteTokens(ids, this.bytes, (id) => (isSpecial(id) ? (drop ? '' : SPECIAL_TEXT[specialName(id, SPECIAL)!]) : undefined));
  }

  /**
   * One display string per id: the token's text, or — for a token that is only part of a UTF-8 character — its
   * bytes as "\xE2\x9C" escapes; specials as "<|eos|>" etc.
   */
  tokenize(ids: ArrayLike<number>): string[] {
    checkIds(ids, this.vocabSize, 'bpe');
    return Array.from(ids, (id) => (isSpecial(id) ? SPECIAL_TEXT[specialName(id, SPECIAL)!] : displayBytes(this.bytes[id])));
  }

  /** The bytes a (non-special) id stands for; empty for specials. */
  tokenBytes(id: number): Uint8Array {
    checkIds([id], this.vocabSize, 'bpe');
    return this.bytes[id].slice();
  }

  toJSON(): BpeTokenizerJSON {
    return { kind: 'bpe', version: 1, specials: { ...SPECIAL }, merges: this.merges.map(([a, b]) => [a, b]) };
  }
}

const isSpecial = (id: number) => id >= 256 && id < BPE_BASE_VOCAB;

/**
 * Byte-level BPE encoding: text → GPT-2's pieces → each piece's UTF-8 bytes as their ids (`byteIds[b]`) → merges
 * applied by rank (in each piece, repeatedly join every occurrence, left to right, of the adjacent pair whose merge
 * comes first) → ids. `merges[rank]` = [a, b, joined]: a pair of ids (each pair once) and the id it becomes.
 */
export class BpeEncoder {
  private readonly rank = new Map<number, number>();
  private readonly cache = new Map<string, Uint32Array>();
  private readonly utf8 = new TextEncoder();

  constructor(
    private readonly byteIds: readonly number[],
    private readonly merges: readonly (readonly [number, number, number])[],
  ) {
    merges.forEach(([a, b], i) => this.rank.set(a * KEY + b, i));
  }

  encode(text: string): Uint32Array {
    const parts: Uint32Array[] = [];
    let total = 0;
    for (const m of text.matchAll(PIECES)) {
      const ids = this.encodePiece(m[0]);
      parts.push(ids);
      total += ids.length;
    }
    const out = new Uint32Array(total);
    let n = 0;
    for (const p of parts) {
      out.set(p, n);
      n += p.length;
    }
    return out;
  }

  /** One pre-split piece → ids, merging the first-ranked adjacent pair until none is mergeable. */
  private encodePiece(piece: string): Uint32Array {
    const hit = this.cache.get(piece);
    if (hit !== undefined) return hit;
    const syms = Array.from(this.utf8.encode(piece), (b) => this.byteIds[b]);
    for (;;) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.rank.get(syms[i] * KEY + syms[i + 1]);
        if (r !== undefined && r < bestRank) bestRank = r;
      }
      if (bestRank === Infinity) break;
      const [a, b, z] = this.merges[bestRank];
      let n = 0;
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          syms[n++] = z;
          i++;
        } else {
          syms[n++] = syms[i];
        }
      }
      syms.length = n;
    }
    const ids = Uint32Array.from(syms);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }
}

const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Ids (already checked) → text for a byte-level tokenizer: each id's `bytes`, decoded as UTF-8 together (bytes that do
 * not form whole characters become U+FFFD), except where `specialText(id)` gives a special's text ('' drops it).
 */
export function decodeByteTokens(ids: ArrayLike<number>, bytes: readonly Uint8Array[], specialText: (id: number) => string | undefined): string {
  let out = '';
  let buf = new Uint8Array(64);
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    const special = specialText(id);
    if (special !== undefined) {
      out += lenientUtf8.decode(buf.subarray(0, n)) + special;
      n = 0;
      continue;
    }
    const b = bytes[id];
    if (n + b.length > buf.length) {
      const bigger = new Uint8Array(Math.max(2 * buf.length, n + b.length));
      bigger.set(buf.subarray(0, n));
      buf = bigger;
    }
    buf.set(b, n);
    n += b.length;
  }
  return out + lenientUtf8.decode(buf.subarray(0, n));
}

/** A token's bytes for display: its text, or — for part of a UTF-8 character — its bytes as "\xE2\x9C" escapes. */
export function displayBytes(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return Array.from(bytes, (b) => `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
}

/** Binary max-heap of (count, key) ordered by count descending, then key ascending. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    return ci > cj || (ci === cj && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.counts.length && this.above(l, m)) m = l;
        if (r < this.counts.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}
