// The instructions task: follow the small instructions of the corpus ("reverse: kite" → "etik", "add: 3 + 4" → "7",
// "sort: l y t s" → "l s t y", "count letters: book" → "4", …; src/corpus/generators.ts `instruction`), the
// InstructGPT setting (Ouyang et al. 2022) in miniature: the gold reward knows the right answer.
//
// Gold reward (scoreAnswer), in [0, 1], on the response with leading/trailing whitespace removed:
//   1                                  the exact answer (case matters: "uppercase: kite" wants "KITE")
//   0                                  an empty response
//   1 − lev(response, answer) / max(|response|, |answer|)   otherwise (Levenshtein distance over characters):
//                                      partial credit for near misses ("etic" for "etik" → 0.75), ≈ 0 for
//                                      unrelated text, and rambling past the answer ("etik etik") is penalised.
// Hackable in that partial credit rewards answer-shaped text, e.g. numbers close in spelling to the sum.
//
// Verifier (verifyAnswer; RL with verifiable rewards): 1 exactly when gold gives full credit — the response with
// leading/trailing whitespace removed (String.prototype.trim, the normalisation gold uses) equals the answer
// character for character, case included — and 0 otherwise: no partial credit, so "etic" for "etik" earns 0.
//
// Example generator (exampleGenerator; a stage's promptSource "generated"): the corpus generator's instructions and
// their answers drawn without end from a seeded stream, held-out prompts skipped; training prompts recur (the kinds
// with few distinct prompts are all among them), and every prompt's answer is known to gold and the verifier.
import { Gen, OPPOSITES, PLURALS, generateDocuments, instruction } from '../../corpus/generators';
import { mixSeed, seededRandom, shuffled, type SftExample } from '../../model/data';
import { INSTRUCTIONS } from './descriptors';
import type { Task, TaskDefinition, TaskOptions } from './types';

/** The answer to an instruction prompt, computed from the prompt alone; undefined when it cannot be (e.g. "sentiment: …"). */
export function instructionAnswer(prompt: string): string | undefined {
  const m = /^([a-z ]+): (.*)$/s.exec(prompt.trim());
  if (!m) return undefined;
  const [, kind, arg] = m;
  switch (kind) {
    case 'reverse':
      return [...arg].reverse().join('');
    case 'uppercase':
      return arg.toUpperCase();
    case 'add': {
      const a = /^(\d+) \+ (\d+)$/.exec(arg);
      return a ? String(Number(a[1]) + Number(a[2])) : undefined;
    }
    case 'opposite': {
      const pair = OPPOSITES.find(([x, y]) => x === arg || y === arg);
      return pair ? (pair[0] === arg ? pair[1] : pair[0]) : undefined;
    }
    case 'plural':
      return PLURALS.find(([x]) => x === arg)?.[1];
    case 'sort':
      return /^[a-z]( [a-z])*$/.test(arg) ? arg.split(' ').sort().join(' ') : undefined;
    case 'count letters':
      return /^[a-z]+$/.test(arg) ? String(arg.length) : undefined;
    case 'first letter':
      return arg.length > 0 ? arg[0] : undefined;
    default:
      return undefined;
  }
}

function levenshtein(a: string, b: string): number {
  const A = [...a];
  const B = [...b];
  let prev = Array.from({ length: B.length + 1 }, (_, j) => j);
  for (let i = 1; i <= A.length; i++) {
    const cur = [i];
    for (let j = 1; j <= B.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (A[i - 1] === B[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[B.length];
}

/** Correctness of `response` against the expected `answer` with partial credit, in [0, 1] (see the file header). */
export function scoreAnswer(answer: string, response: string): number {
  const r = response.trim();
  if (r === answer) return 1;
  if (r === '') return 0;
  return 1 - levenshtein(r, answer) / Math.max([...r].length, [...answer].length);
}

/** The verifier's reward: 1 when the trimmed response is exactly the answer (gold's full-credit case), else 0. */
export function verifyAnswer(answer: string, response: string): 0 | 1 {
  return response.trim() === answer ? 1 : 0;
}

/** Gold reward for prompts whose answer follows from the prompt (every kind but "sentiment: …"); throws otherwise. */
export function instructionGold(prompt: string, response: string): number {
  const answer = instructionAnswer(prompt);
  if (answer === undefined) throw new RangeError(`instructions gold: cannot work out the answer to ${JSON.stringify(prompt.slice(0, 60))}`);
  return scoreAnswer(answer, response);
}


export const INSTRUCTIONS_TRAIN = 640;
export const INSTRUCTIONS_HELDOUT = 160;
export const INSTRUCTIONS_DEMONSTRATIONS = 512;

/** The instructions task, deterministic from `seed`. */
function createInstructionsTask(options: TaskOptions): Task {
  const { seed, maxResponseTokens = 16 } = options;
  const g = new Gen(mixSeed(seed, 1));
  const answers = new Map<string, string>();
  const order: string[] = [];
  const want = INSTRUCTIONS_TRAIN + INSTRUCTIONS_HELDOUT;
  while (order.length < want) {
    const [prompt, answer] = instruction(g);
    if (answers.has(prompt)) continue;
    answers.set(prompt, answer);
    order.push(prompt);
  }
  // Shuffle before splitting: kinds with few distinct prompts (plural, opposite, …) are used up early in the draw.
  const prompts = shuffled(order, seededRandom(mixSeed(seed, 2)));
  const heldout = prompts.slice(0, INSTRUCTIONS_HELDOUT);
  const train = prompts.slice(INSTRUCTIONS_HELDOUT);
  const demoOrder = shuffled(train, seededRandom(mixSeed(seed, 4)));
  const demonstrations: SftExample[] = Array.from({ length: INSTRUCTIONS_DEMONSTRATIONS }, (_, i) => {
    const p = demoOrder[i % demoOrder.length];
    return { prompt: p, completion: answers.get(p)! };
  });
  const pretrainText = generateDocuments(mixSeed(seed, 3), 120_000).map((d) => d.text);
  // Generated prompts' answers: a "sentiment: …" answer does not follow from the prompt, so the generator records it.
  const generated = new Map<string, string>();
  const held = new Set(heldout);
  const exampleGenerator = (streamSeed: number) => {
    const gen = new Gen(mixSeed(seed, 5, streamSeed));
    return (): SftExample => {
      for (;;) {
        const [prompt, answer] = instruction(gen);
        if (held.has(prompt)) continue;
        if (!answers.has(prompt)) generated.set(prompt, answer);
        return { prompt, completion: answer };
      }
    };
  };
  const answerOf = (who: string, prompt: string) => {
    const answer = answers.get(prompt) ?? generated.get(prompt) ?? instructionAnswer(prompt);
    if (answer === undefined) throw new RangeError(`instructions ${who}: ${JSON.stringify(prompt.slice(0, 60))} is not a prompt of this task`);
    return answer;
  };
  return {
    id: INSTRUCTIONS.id,
    title: INSTRUCTIONS.title,
    description: INSTRUCTIONS.description,
    prompts: { train, heldout },
    demonstrations,
    pretrainText,
    maxResponseTokens,
    gold: (prompt, response) => scoreAnswer(answerOf('gold', prompt), response),
    verifier: (prompt, response) => verifyAnswer(answerOf('verifier', prompt), response),
    exampleGenerator,
  };
}

/** What the registry (index.ts) lists for this task. */
export const instructionsTask: TaskDefinition<'instructions'> = { ...INSTRUCTIONS, create: createInstructionsTask };
