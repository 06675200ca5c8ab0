// The preference dataset: rankings of K ≥ 2 completions of one prompt, best → worst. Simulated labelers
// (src/rlhf/labelers.ts), people ranking in the UI and imported files all produce the same `Ranking`, so the reward
// model trains on them the same way: all C(K,2) pairs of one ranking form one batch element (InstructGPT, Ouyang et
// al. 2022, §3.5; Ziegler et al. 2019 used K = 4).
// JSONL formats (Hugging Face TRL's preference datasets, plus InstructGPT-style rankings, one object per line):
//   {"prompt": "...", "chosen": "...", "rejected": "..."}          a pair (K = 2), TRL's explicit-prompt format
//   {"chosen": "...", "rejected": "..."}                            Anthropic HH style: the prompt is the shared prefix
//                                                                   up to and including the last "Assistant:" in it
//   {"prompt": "...", "completions": ["best", ..., "worst"]}       a ranking (K ≥ 2), the format toJsonl writes
// Optional fields read and written by this module: "source" ("simulated" | "human" | "imported", default
// "imported") and "gold_order" (indices into completions, best → worst by the hidden gold reward). Other fields are
// ignored. Plain TypeScript (no node:*, no DOM): runs in Node and in a browser Web Worker.
import { importProblemsMessage, jsonlObjects, jsonTypeName, mixSeed } from '../model/data';

export type RankingSource = 'simulated' | 'human' | 'imported';
const SOURCES: readonly RankingSource[] = ['simulated', 'human', 'imported'];

export interface Ranking {
  prompt: string;
  /** best → worst, K ≥ 2 distinct strings (an empty string is a valid, if poor, completion). */
  completions: string[];
  source: RankingSource;
  /** goldOrder[k] = index into `completions` of the k-th best by the hidden gold reward (a permutation of 0..K−1). */
  goldOrder?: number[];
}

export interface PreferenceProblem {
  line: number; // 1-based
  message: string;
}

/** All malformed lines of a preference JSONL file, in one error; `problems` has every one of them. */
export class PreferenceParseError extends Error {
  constructor(readonly problems: PreferenceProblem[]) {
    super(importProblemsMessage('preference JSONL', 'malformed line', problems));
    this.name = 'PreferenceParseError';
  }
}


/** What is wrong with a ranking, or undefined when it is valid. */
export function rankingProblem(r: Ranking): string | undefined {
  if (typeof r !== 'object' || r === null) return `a ranking must be an object, got ${jsonTypeName(r)}`;
  if (typeof r.prompt !== 'string') return `"prompt" must be a string, got ${jsonTypeName(r.prompt)}`;
  if (!Array.isArray(r.completions)) return `"completions" must be an array of strings, got ${jsonTypeName(r.completions)}`;
  const bad = r.completions.findIndex((c) => typeof c !== 'string');
  if (bad >= 0) return `"completions"[${bad}] must be a string, got ${jsonTypeName(r.completions[bad])}`;
  if (r.completions.length < 2) return `a ranking needs K ≥ 2 completions, got ${r.completions.length}`;
  const seen = new Map<string, number>();
  for (let i = 0; i < r.completions.length; i++) {
    const first = seen.get(r.completions[i]);
    if (first !== undefined) return `completions ${first} and ${i} are the same text ${JSON.stringify(r.completions[i].slice(0, 40))}: a ranking needs distinct completions`;
    seen.set(r.completions[i], i);
  }
  if (!SOURCES.includes(r.source)) return `"source" must be one of ${SOURCES.join(', ')}, got ${JSON.stringify(r.source)}`;
  if (r.goldOrder !== undefined) {
    const K = r.completions.length;
    const g = r.goldOrder;
    if (!Array.isArray(g) || g.length !== K || !g.every((i) => Number.isInteger(i) && i >= 0 && i < K) || new Set(g).size !== K) {
      return `"goldOrder" must be a permutation of 0..${K - 1}, got ${JSON.stringify(g)}`;
    }
  }
  return undefined;
}

// ---- JSONL ----

/** The prompt of an Anthropic HH pair: the shared prefix of chosen and rejected up to the end of its last "Assistant:". */
function sharedPrompt(chosen: string, rejected: string): string | undefined {
  let n = 0;
  while (n < chosen.length && n < rejected.length && chosen[n] === rejected[n]) n++;
  const at = chosen.slice(0, n).lastIndexOf('Assistant:');
  return at < 0 ? undefined : chosen.slice(0, at + 'Assistant:'.length);
}

/** The ranking a JSONL object is (any of the formats in the file header), or what is wrong with it. */
export function rankingOf(o: Record<string, unknown>): Ranking | string {
  const bad: string[] = [];
  const hasPair = 'chosen' in o || 'rejected' in o;
  const hasList = 'completions' in o;
  if (hasPair && hasList) return 'has both "chosen"/"rejected" and "completions": use one format per line';
  if (!hasPair && !hasList) return 'expected "chosen" and "rejected", or "completions" (a list best → worst)';
  let source: RankingSource = 'imported';
  if ('source' in o) {
    if (typeof o.source === 'string' && SOURCES.includes(o.source as RankingSource)) source = o.source as RankingSource;
    else bad.push(`"source" must be one of ${SOURCES.join(', ')}, got ${JSON.stringify(o.source)}`);
  }
  if ('prompt' in o && typeof o.prompt !== 'string') bad.push(`"prompt" must be a string, got ${jsonTypeName(o.prompt)}`);
  let completions: string[] = [];
  let prompt = typeof o.prompt === 'string' ? o.prompt : undefined;
  if (hasPair) {
    for (const f of ['chosen', 'rejected'] as const) {
      if (!(f in o)) bad.push(`missing "${f}"`);
      else if (typeof o[f] !== 'string') bad.push(`"${f}" must be a string, got ${jsonTypeName(o[f])}`);
    }
    if (bad.length > 0) return bad.join('; ');
    let chosen = o.chosen as string;
    let rejected = o.rejected as string;
    if (!('prompt' in o)) {
      prompt = sharedPrompt(chosen, rejected);
      if (prompt === undefined) return 'missing "prompt" (and chosen/rejected share no prefix ending in "Assistant:" to take it from)';
      chosen = chosen.slice(prompt.length);
      rejected = rejected.slice(prompt.length);
    }
    if (chosen === rejected) return '"chosen" and "rejected" are the same text';
    completions = [chosen, rejected];
  } else {
    if (!('prompt' in o)) bad.push('missing "prompt"');
    const c = o.completions;
    if (!Array.isArray(c)) bad.push(`"completions" must be an array of strings (best → worst), got ${jsonTypeName(c)}`);
    else if (c.length === 0) bad.push('"completions" is empty: a ranking needs K ≥ 2 completions');
    else if (c.length < 2) bad.push(`"completions" has K = 1: a ranking needs K ≥ 2 completions`);
    else {
      const wrong = c.findIndex((x) => typeof x !== 'string');
      if (wrong >= 0) bad.push(`"completions"[${wrong}] must be a string, got ${jsonTypeName(c[wrong])}`);
      else completions = c as string[];
    }
    if (bad.length > 0) return bad.join('; ');
  }
  const r: Ranking = { prompt: prompt as string, completions, source };
  if ('gold_order' in o) r.goldOrder = o.gold_order as number[];
  return rankingProblem(r) ?? r;
}

/**
 * Parses preference JSONL (pairs, HH pairs and rankings, see the file header; formats may be mixed line by line).
 * Blank lines are skipped. Any malformed line (invalid JSON, not an object, missing or mistyped field, K < 2,
 * duplicate completions, …) makes the whole parse fail with one PreferenceParseError listing every bad line by
 * number; a file without any preference is an error too. Nothing is returned half-parsed.
 */
export function parsePreferenceJsonl(text: string): Ranking[] {
  const out: Ranking[] = [];
  const { objects, problems, lineCount } = jsonlObjects(text, 'with "prompt" and "chosen"/"rejected" or "completions"');
  for (const { line, value } of objects) {
    const r = rankingOf(value);
    if (typeof r === 'string') problems.push({ line, message: r });
    else out.push(r);
  }
  problems.sort((a, b) => a.line - b.line);
  if (problems.length > 0) throw new PreferenceParseError(problems);
  if (out.length === 0) throw new PreferenceParseError([{ line: lineCount, message: 'no preferences in the file' }]);
  return out;
}

// ---- the dataset ----

/** FNV-1a of a string, for seeded splits that do not depend on insertion order. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class PreferenceDataset {
  private readonly items: Ranking[] = [];

  constructor(rankings: readonly Ranking[] = []) {
    for (const r of rankings) this.add(r);
  }

  /** Adds a validated copy of `r`; throws a RangeError saying what is wrong otherwise. */
  add(r: Ranking): void {
    const problem = rankingProblem(r);
    if (problem !== undefined) throw new RangeError(`PreferenceDataset.add: ${problem}`);
    const copy: Ranking = { prompt: r.prompt, completions: r.completions.slice(), source: r.source };
    if (r.goldOrder !== undefined) copy.goldOrder = r.goldOrder.slice();
    this.items.push(copy);
  }

  /** A pair: `chosen` preferred to `rejected` (K = 2). */
  addPair(prompt: string, chosen: string, rejected: string, source: RankingSource): void {
    this.add({ prompt, completions: [chosen, rejected], source });
  }

  get rankings(): readonly Ranking[] {
    return this.items;
  }

  get size(): number {
    return this.items.length;
  }

  /** Number of pairwise comparisons, Σ C(K,2). */
  get comparisons(): number {
    return this.items.reduce((s, r) => s + (r.completions.length * (r.completions.length - 1)) / 2, 0);
  }

  /**
   * Splits by PROMPT (every ranking of one prompt lands on the same side, so held-out accuracy measures
   * generalisation to new prompts): prompts are ordered by a seeded hash and the first ⌈fraction · #prompts⌉ are
   * held out (at least one and never all when fraction > 0 and there are ≥ 2 prompts; none when fraction is 0 or there is
   * only one prompt). Deterministic from
   * (seed, set of prompts), independent of insertion order; each side keeps insertion order.
   */
  split(heldoutFraction: number, seed: number): { train: PreferenceDataset; heldout: PreferenceDataset } {
    if (!(heldoutFraction >= 0 && heldoutFraction < 1)) throw new RangeError(`PreferenceDataset.split: heldoutFraction must be in [0, 1), got ${heldoutFraction}`);
    const held = heldoutPrompts([...new Set(this.items.map((r) => r.prompt))], heldoutFraction, seed);
    const train = new PreferenceDataset();
    const heldout = new PreferenceDataset();
    for (const r of this.items) (held.has(r.prompt) ? heldout : train).add(r);
    return { train, heldout };
  }

  /** One ranking per line in the rankings format, with "source" and (when known) "gold_order". */
  toJsonl(): string {
    return this.items
      .map((r) => JSON.stringify(r.goldOrder ? { prompt: r.prompt, completions: r.completions, source: r.source, gold_order: r.goldOrder } : { prompt: r.prompt, completions: r.completions, source: r.source }))
      .map((l) => `${l}\n`)
      .join('');
  }

  static fromJsonl(text: string): PreferenceDataset {
    return new PreferenceDataset(parsePreferenceJsonl(text));
  }
}

/** The held-out subset of distinct `prompts` (see PreferenceDataset.split); shared with the custom task import. */
export function heldoutPrompts(prompts: readonly string[], fraction: number, seed: number): Set<string> {
  const distinct = [...new Set(prompts)];
  const n = fraction === 0 || distinct.length < 2 ? 0 : Math.max(1, Math.min(Math.ceil(fraction * distinct.length), distinct.length - 1));
  const keyed = distinct.map((p) => ({ p, k: mixSeed(seed, hashString(p)) }));
  keyed.sort((a, b) => a.k - b.k || (a.p < b.p ? -1 : a.p > b.p ? 1 : 0));
  return new Set(keyed.slice(0, n).map((x) => x.p));
}
