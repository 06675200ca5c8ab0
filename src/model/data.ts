// Training data: seeded randomness, SFT JSONL parsing, pretraining windows (TextBatcher) and SFT batches (sftBatch).
// Every batch is row-major (B,T): tokens[b·T + t] is the input at position t of row b, targets[b·T + t] the token
// that position must predict and weights[b·T + t] its loss weight (the loss is Σ w·nll / Σ w).
import type { Tokenizer } from './tokenizer';

// ---- seeded randomness ----

/** mulberry32: a small, fast seeded generator of floats in [0, 1). Same seed → same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes integers into one 32-bit seed (murmur3's finaliser per step), so (seed, step) pairs give unrelated streams. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

// ---- batches ----

/** A (B,T) batch, row-major. */
/** A shuffled copy of `xs` (Fisher–Yates with `random`). */
export function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** 0 … n−1 in an order seeded by `seed`. */
export function shuffledIndices(n: number, seed: number): number[] {
  return shuffled(Array.from({ length: n }, (_, i) => i), seededRandom(seed));
}

export interface TokenBatch {
  readonly B: number;
  readonly T: number;
  readonly tokens: Uint32Array; // (B,T) inputs
  readonly targets: Uint32Array; // (B,T) next tokens
  readonly weights: Float32Array; // (B,T) loss weights
}

function checkShape(who: string, B: number, T: number, minT = 1): void {
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`${who}: batch size must be an integer ≥ 1, got ${B}`);
  if (!Number.isInteger(T) || T < minT) throw new RangeError(`${who}: context length must be an integer ≥ ${minT}, got ${T}`);
}

// ---- SFT JSONL ----

export interface SftExample {
  prompt: string;
  completion: string;
}

export interface SftProblem {
  line: number; // 1-based
  message: string;
}

/** All malformed lines of a JSONL file, in one error; `problems` has every one of them. */
export class SftParseError extends Error {
  constructor(readonly problems: SftProblem[]) {
    super(importProblemsMessage('SFT JSONL', 'malformed line', problems));
    this.name = 'SftParseError';
  }
}

/**
 * Parses TRL's prompt–completion JSONL: one JSON object per line with string fields "prompt" and "completion"
 * (other fields are ignored; either string may be empty). Blank lines are skipped. Any malformed line (invalid
 * JSON, not an object, missing or non-string field) makes the whole parse fail with one SftParseError listing every
 * bad line by number; a file without any example is an error too. Nothing is returned half-parsed.
 */
export function parseSftJsonl(text: string): SftExample[] {
  const examples: SftExample[] = [];
  const { objects, problems, lineCount } = jsonlObjects(text, '{"prompt": string, "completion": string}');
  for (const { line, value } of objects) {
    const example = sftExampleOf(value);
    if (typeof example === 'string') problems.push({ line, message: example });
    else examples.push(example);
  }
  problems.sort((a, b) => a.line - b.line);
  if (problems.length > 0) throw new SftParseError(problems);
  if (examples.length === 0) throw new SftParseError([{ line: lineCount, message: 'no examples in the file' }]);
  return examples;
}

/** The SFT example a JSONL object is, or what is wrong with it. */
export function sftExampleOf(o: Record<string, unknown>): SftExample | string {
  const bad: string[] = [];
  for (const field of ['prompt', 'completion'] as const) {
    if (!(field in o)) bad.push(`missing "${field}"`);
    else if (typeof o[field] !== 'string') bad.push(`"${field}" must be a string, got ${jsonTypeName(o[field])}`);
  }
  return bad.length > 0 ? bad.join('; ') : { prompt: o.prompt as string, completion: o.completion as string };
}

/** How many problems a refusal shows: a file of 300,000 bad lines must still give a short message. */
export const SHOWN_PROBLEMS = 20;
/** The longest problem message shown (a message may quote a value from the file, which can be any length). */
export const SHOWN_PROBLEM_CHARS = 200;

/**
 * The problems a refusal shows, in the one place that bounds them (import errors' messages, the worker's refusal of
 * a configuration): the first SHOWN_PROBLEMS, each message clipped to SHOWN_PROBLEM_CHARS, and how many are left out
 * (`moreProblems` words them).
 */
export function shownProblems<P extends { message: string }>(problems: readonly P[]): { shown: P[]; hidden: number } {
  const shown = problems.slice(0, SHOWN_PROBLEMS).map((p) => (p.message.length > SHOWN_PROBLEM_CHARS ? { ...p, message: clipped(p.message) } : p));
  return { shown, hidden: problems.length - shown.length };
}

export function moreProblems(hidden: number): string {
  return `… and ${hidden} more`;
}

function clipped(message: string): string {
  let end = SHOWN_PROBLEM_CHARS - 1;
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // never half a surrogate pair
  return `${message.slice(0, end)}…`;
}

/**
 * The message of an import error: "<what>: N <noun>s, nothing imported:", then the problems shownProblems keeps, one
 * per line (the error's `.problems` keeps them all), each as `show` writes it.
 */
export function importProblemsMessage<P extends { line: number; message: string }>(
  what: string,
  noun: string,
  problems: readonly P[],
  show: (p: P) => string = (p) => `line ${p.line}: ${p.message}`,
): string {
  const n = problems.length;
  const { shown, hidden } = shownProblems(problems);
  const lines = shown.map((p) => `  ${show(p)}`);
  if (hidden > 0) lines.push(`  ${moreProblems(hidden)} (see .problems)`);
  return `${what}: ${n} ${noun}${n === 1 ? '' : 's'}, nothing imported:\n${lines.join('\n')}`;
}

/** A JSON value's type in words, for error messages: "null", "an array", "string", … */
export function jsonTypeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** A UTF-16 surrogate without its pair (`\p{Cs}` matches only those in a `u` regex): not Unicode text. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Whether a string anywhere in a JSON value (a key included) holds a lone surrogate. A loop, not recursion: JSON
 * nests deeper than the stack. */
function hasLoneSurrogate(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return true;
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, item] of Object.entries(v)) {
        if (LONE_SURROGATE.test(key)) return true;
        stack.push(item);
      }
    }
  }
  return false;
}

/**
 * The non-blank lines of JSONL text as JSON objects with their 1-based line numbers; a line that is not valid JSON,
 * not an object (`expected` describes the object wanted), or holds a lone surrogate (e.g. the escape "\ud800"),
 * becomes a problem instead. Callers add their own problems and report them all at once, so nothing is ever
 * half-imported.
 */
export function jsonlObjects(text: string, expected: string): { objects: { line: number; value: Record<string, unknown> }[]; problems: { line: number; message: string }[]; lineCount: number } {
  const objects: { line: number; value: Record<string, unknown> }[] = [];
  const problems: { line: number; message: string }[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const s = raw.trim();
    if (s === '') return;
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch (e) {
      problems.push({ line: i + 1, message: `invalid JSON (${(e as Error).message})` });
      return;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) problems.push({ line: i + 1, message: `expected an object ${expected}, got ${jsonTypeName(v)}` });
    else if (hasLoneSurrogate(v)) problems.push({ line: i + 1, message: 'a string holds a lone UTF-16 surrogate (an escape like "\\ud800" without its pair): not Unicode text' });
    else objects.push({ line: i + 1, value: v as Record<string, unknown> });
  });
  return { objects, problems, lineCount: lines.length };
}

// ---- pretraining windows ----

export interface TextBatcherOptions {
  batchSize: number; // B
  contextLength: number; // T
  seed: number;
  /** Fraction of the tokens, taken from the end, held out for validation (default 0.05; 0 = no validation split). */
  valFraction?: number;
}

/**
 * Pretraining batches from one long token stream. The last `valFraction` of the tokens is the validation split,
 * the rest the training split; a window never straddles the two. A batch is B windows of T+1 consecutive tokens
 * (tokens = window[0..T), targets = window[1..T]), weights all ones.
 * `batch(split, step)` is a pure function of (seed, split, step): resuming at a step replays the same batches.
 */
export class TextBatcher {
  readonly B: number;
  readonly T: number;
  readonly seed: number;
  readonly train: Uint32Array; // view of the training split
  readonly val: Uint32Array; // view of the validation split (may be empty when valFraction is 0)

  constructor(ids: Uint32Array, options: TextBatcherOptions) {
    const { batchSize: B, contextLength: T, seed, valFraction = 0.05 } = options;
    checkShape('TextBatcher', B, T);
    if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`TextBatcher: valFraction must be in [0, 1), got ${valFraction}`);
    const nVal = Math.floor(ids.length * valFraction);
    this.B = B;
    this.T = T;
    this.seed = seed;
    this.train = ids.subarray(0, ids.length - nVal);
    this.val = ids.subarray(ids.length - nVal);
    if (this.train.length < T + 1) {
      throw new RangeError(`TextBatcher: the training split has ${this.train.length} tokens, fewer than contextLength + 1 = ${T + 1}`);
    }
    if (nVal > 0 && this.val.length < T + 1) {
      throw new RangeError(
        `TextBatcher: the validation split has ${this.val.length} tokens, fewer than contextLength + 1 = ${T + 1} ` +
          `(use more text, a larger valFraction, or valFraction 0)`,
      );
    }
  }

  /** B windows at uniformly random starts in the split, from a generator seeded by (seed, split, step). */
  batch(split: 'train' | 'val', step: number): TokenBatch {
    const src = this.split(split);
    const { B, T } = this;
    const random = seededRandom(mixSeed(this.seed, split === 'train' ? 1 : 2, step));
    const starts = Array.from({ length: B }, () => Math.floor(random() * (src.length - T)));
    return this.windows(src, starts);
  }

  /**
   * The validation split as consecutive non-overlapping windows (starts 0, T, 2T, … while T+1 tokens remain),
   * B per batch, at most `maxBatches` batches; rows past the last window in the final batch are all zeros with
   * weight 0, so every batch keeps the (B,T) shape and Σ weights counts exactly the predicted validation tokens.
   */
  valBatches(maxBatches = Infinity): TokenBatch[] {
    const src = this.split('val');
    const { B, T } = this;
    const nWindows = Math.floor((src.length - 1) / T);
    const out: TokenBatch[] = [];
    for (let w = 0; w < nWindows && out.length < maxBatches; w += B) {
      const starts = Array.from({ length: Math.min(B, nWindows - w) }, (_, r) => (w + r) * T);
      out.push(this.windows(src, starts));
    }
    return out;
  }

  private split(split: 'train' | 'val'): Uint32Array {
    if (split === 'val' && this.val.length === 0) throw new Error('TextBatcher: there is no validation split (valFraction is 0)');
    return split === 'train' ? this.train : this.val;
  }

  private windows(src: Uint32Array, starts: number[]): TokenBatch {
    const { B, T } = this;
    const tokens = new Uint32Array(B * T);
    const targets = new Uint32Array(B * T);
    const weights = new Float32Array(B * T);
    starts.forEach((s, b) => {
      tokens.set(src.subarray(s, s + T), b * T);
      targets.set(src.subarray(s + 1, s + T + 1), b * T);
      weights.fill(1, b * T, (b + 1) * T);
    });
    return { B, T, tokens, targets, weights };
  }
}

// ---- SFT batches ----

/** An SFT example as ids (no specials). */
export interface EncodedSftExample {
  prompt: Uint32Array;
  completion: Uint32Array;
}

export function encodeSftExamples(examples: readonly SftExample[], tokenizer: Tokenizer): EncodedSftExample[] {
  return examples.map((e) => ({ prompt: tokenizer.encode(e.prompt), completion: tokenizer.encode(e.completion) }));
}

export interface SftBatch extends TokenBatch {
  /** (B) which example each row holds. */
  readonly indices: Uint32Array;
  /** (B) 1 where the row had to be truncated to fit T+1 tokens. */
  readonly truncated: Uint8Array;
}

/**
 * One SFT batch of B rows. Row = the sequence S = [BOS, p_1..p_m, SEP, c_1..c_n, EOS] of L = m + n + 3 tokens,
 * cut to its first T+1 tokens or right-padded with PAD:
 *   tokens[t] = S[t], targets[t] = S[t+1] (t = 0..T-1; PAD past the end of S).
 * Loss weights: position t is trained (weight 1) exactly when its target S[t+1] is a completion token or the EOS,
 * i.e. for t = m+1 (input SEP, predicts c_1) through t = m+n+1 (input c_n, predicts EOS). Weight 0 everywhere else:
 * positions whose targets are prompt tokens, the position predicting SEP (t = m, input p_m), and padding.
 * Truncation when L > T+1: prompt tokens are dropped from the LEFT (its start; BOS stays first) until it fits. If even
 * an empty prompt leaves too many tokens (n + 3 > T + 1), the prompt is emptied and the completion is cut on the
 * right to T−1 tokens with no EOS (the response did not end there, so the model is not taught to stop).
 * `pick`: a seed (B examples drawn uniformly with replacement from a generator seeded by it) or B explicit indices.
 * `examples` may be raw strings (encoded here) or already encoded with `encodeSftExamples` (cheaper per step).
 */
export function sftBatch(
  examples: readonly SftExample[] | readonly EncodedSftExample[],
  tokenizer: Tokenizer,
  B: number,
  T: number,
  pick: number | ArrayLike<number>,
): SftBatch {
  checkShape('sftBatch', B, T, 2);
  if (examples.length === 0) throw new RangeError('sftBatch: no examples');
  let indices: Uint32Array;
  if (typeof pick === 'number') {
    const random = seededRandom(pick);
    indices = Uint32Array.from({ length: B }, () => Math.floor(random() * examples.length));
  } else {
    if (pick.length !== B) throw new RangeError(`sftBatch: got ${pick.length} indices for a batch of ${B}`);
    for (let i = 0; i < B; i++) {
      if (!Number.isInteger(pick[i]) || pick[i] < 0 || pick[i] >= examples.length) {
        throw new RangeError(`sftBatch: index ${pick[i]} (row ${i}) is not an example index in [0, ${examples.length})`);
      }
    }
    indices = Uint32Array.from(pick);
  }
  const { bos, eos, pad, sep } = tokenizer.special;
  const tokens = new Uint32Array(B * T);
  const targets = new Uint32Array(B * T);
  const weights = new Float32Array(B * T);
  const truncated = new Uint8Array(B);
  const seq = new Uint32Array(T + 1);
  for (let b = 0; b < B; b++) {
    const ex = examples[indices[b]];
    const raw = typeof ex.prompt === 'string';
    const prompt = raw ? tokenizer.encode(ex.prompt as string) : (ex.prompt as Uint32Array);
    const completion = raw ? tokenizer.encode(ex.completion as string) : (ex.completion as Uint32Array);
    // Layout S = [BOS, prompt (m), SEP, completion (n), EOS?], L tokens, L ≤ T+1.
    let p = prompt;
    let c = completion;
    let withEos = true;
    if (p.length + c.length + 3 > T + 1) {
      truncated[b] = 1;
      const room = T + 1 - 3 - c.length; // prompt tokens that fit with the whole completion
      if (room >= 0) p = p.subarray(p.length - room);
      else {
        p = p.subarray(p.length);
        c = c.subarray(0, T - 1); // BOS, SEP, T−1 completion tokens = T+1
        withEos = false;
      }
    }
    const m = p.length;
    const n = c.length;
    seq.fill(pad);
    seq[0] = bos;
    seq.set(p, 1);
    seq[m + 1] = sep;
    seq.set(c, m + 2);
    if (withEos) seq[m + n + 2] = eos;
    const row = b * T;
    tokens.set(seq.subarray(0, T), row);
    targets.set(seq.subarray(1, T + 1), row);
    // Trained positions t = m+1 .. m+n+1 with EOS, m+1 .. m+n without (then m+n = T−1, the last position).
    const last = withEos ? m + n + 1 : m + n;
    for (let t = m + 1; t <= last && t < T; t++) weights[row + t] = 1;
  }
  return { B, T, tokens, targets, weights, indices, truncated };
}
