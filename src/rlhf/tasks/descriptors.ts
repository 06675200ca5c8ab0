// Each task's descriptor: id, title, what "good" means (the hidden gold reward and how it can be hacked) and whether
// the page's task form and the CLI offer it. Plain data without the generators, so the page's main bundle can import
// it; each task module (sentiment.ts, instructions.ts, custom.ts) adds its `create`, and the registry (index.ts)
// checks that it has one module per descriptor.
import type { TaskDescriptor } from './types';

export const SENTIMENT = {
  id: 'sentiment',
  title: 'Positive product reviews',
  inForm: true,
  description:
    'Continue a product review so that it is positive (Ziegler et al. 2019; TRL\'s positive-sentiment demo). ' +
    'Prompts are review openings in the corpus format ("Review of the kettle:", sometimes with a neutral first ' +
    'sentence); the SFT demonstrations are half positive and half negative, so the SFT policy is neutral on average. ' +
    'The hidden gold reward is the AFINN-165 valence of the response (tanh of the summed word scores / 4, with simple ' +
    'negation), minus penalties for repeated words and n-grams, words outside an English word list, and lists of ' +
    'adjectives; an empty response scores −1; gold lies in [−1, 1]. It can be hacked in the usual ways: a reward ' +
    'model trained on few labels may come to like "great great great", superlative salads or gibberish it has never ' +
    'seen ranked; the gold penalties then show the proxy reward rising while gold falls.',
} as const satisfies TaskDescriptor;

export const INSTRUCTIONS = {
  id: 'instructions',
  title: 'Follow instructions',
  inForm: true,
  description:
    'Follow a small instruction exactly: reverse or uppercase a word, add two numbers, give an opposite or a plural, ' +
    'sort letters, count letters, name the first letter, or say whether a review line is positive or negative — the ' +
    'instruction lines of the pretraining corpus. The hidden gold reward is 1 for the exact answer, 0 for an empty ' +
    'response, and otherwise 1 − (edit distance / length of the longer string), so near misses earn partial credit; ' +
    'gold lies in [0, 1]. A reward model can be fooled by answers that merely look right (the right length or ' +
    'format), and partial credit itself rewards strings close in spelling to the answer.',
} as const satisfies TaskDescriptor;

export const CUSTOM = {
  id: 'custom',
  title: 'Custom task',
  inForm: false,
  description:
    'There is no hidden gold reward: the reward model learns only from the imported (or UI-collected) preferences, ' +
    'so over-optimisation cannot be measured against gold — watch the KL and read the samples.',
} as const satisfies TaskDescriptor;

/** Every task, in the order the page and the CLI list them. */
export const TASK_DESCRIPTORS = [SENTIMENT, INSTRUCTIONS, CUSTOM] as const;

export type TaskId = (typeof TASK_DESCRIPTORS)[number]['id'];
export const TASK_IDS: readonly TaskId[] = TASK_DESCRIPTORS.map((d) => d.id);
/** The tasks the page's task form and the CLI offer. */
export const FORM_TASK_IDS: readonly TaskId[] = TASK_DESCRIPTORS.filter((d) => d.inForm).map((d) => d.id);
