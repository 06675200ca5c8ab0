// Where an RL stage's training prompts come from (<stage>.promptSource): the instructions task's prompt generator
// (deterministic, never a held-out prompt, every kind, judged by gold and the verifier), the setting (train by default,
// one shared definition, "generated" refused on a task without a generator, naming the field), the prompt stream of
// either source, and PPO, GRPO and RLOO training on the prompts their setting names (nano, on the GPU).
import { describe, expect, test } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { makeConfig } from '../../src/model/config';
import { mixSeed, shuffledIndices } from '../../src/model/data';
import { initWeights } from '../../src/model/params';
import { makePipelineConfig, STAGE_SETTING_DOCS, taskProblems } from '../../src/rlhf/config';
import type { Episode } from '../../src/rlhf/episode';
import { Pipeline } from '../../src/rlhf/pipeline';
import type { StageContext } from '../../src/rlhf/stages/context';
import { trainingPrompts } from '../../src/rlhf/stages/prompt-source';
import { PROMPT_SOURCES, promptSourceSetting } from '../../src/rlhf/stages/shared';
import { createTask, importTask, type Task } from '../../src/rlhf/tasks';
import { instructionAnswer } from '../../src/rlhf/tasks/instructions';
import { acceptConfiguration } from '../../src/worker/configure';
import { gpuTest } from '../helpers/gpu';

const instructions = createTask('instructions', { seed: 1 });
const sentiment = createTask('sentiment', { seed: 1 });
const custom = importTask({ prompts: ['{"prompt": "a"}', '{"prompt": "b"}', '{"prompt": "c"}'].join('\n') }, { seed: 1 });
const draw = (task: Task, seed: number, n: number) => Array.from({ length: n }, task.promptGenerator!(seed));
const kindOf = (prompt: string) => prompt.slice(0, prompt.indexOf(':'));

describe("the instructions task's prompt generator", () => {
  const prompts = draw(instructions, 7, 4000);

  test('is deterministic from its seed, and another seed gives another stream', () => {
    expect(draw(instructions, 7, 4000)).toEqual(prompts);
    expect(draw(createTask('instructions', { seed: 1 }), 7, 50)).toEqual(prompts.slice(0, 50)); // a fresh task, the same stream
    const other = draw(instructions, 8, 50);
    expect(other.filter((p, i) => p !== prompts[i]).length).toBeGreaterThan(40);
  });

  test('never gives a held-out prompt, gives every kind, and many prompts the training pool does not have', () => {
    const heldout = new Set(instructions.prompts.heldout);
    expect(prompts.filter((p) => heldout.has(p))).toEqual([]);
    const kinds = new Set(prompts.map(kindOf));
    expect([...kinds].sort()).toEqual(['add', 'count letters', 'first letter', 'opposite', 'plural', 'reverse', 'sentiment', 'sort', 'uppercase']);
    const train = new Set(instructions.prompts.train);
    const fresh = prompts.filter((p) => !train.has(p));
    // The kinds with few distinct prompts (plural, opposite, …) are all in the pool already: 36% of the stream is new.
    expect(fresh.length / prompts.length).toBeGreaterThan(0.3);
    expect(new Set(fresh).size).toBeGreaterThan(1000);
  });

  test('gold and the verifier judge every prompt it gives, a sentiment line included (its answer is recorded, not derived)', () => {
    for (const p of prompts.slice(0, 1500)) {
      const answer = instructionAnswer(p);
      if (answer !== undefined) {
        expect(instructions.verifier!(p, answer), p).toBe(1);
        expect(instructions.gold!(p, answer), p).toBe(1);
        expect(instructions.verifier!(p, `${answer}x`), p).toBe(0);
      } else {
        expect(kindOf(p)).toBe('sentiment');
        // Exactly one of the two labels is right.
        expect(instructions.verifier!(p, 'positive') + instructions.verifier!(p, 'negative'), p).toBe(1);
      }
    }
  });

  test('sentiment and a custom task have none: their prompts are a fixed set', () => {
    expect(sentiment.promptGenerator).toBeUndefined();
    expect(custom.promptGenerator).toBeUndefined();
  });
});

describe('the promptSource setting', () => {
  const fields = ['ppo.promptSource', 'grpo.promptSource', 'rloo.promptSource'];

  test('train by default in every RL stage and preset, one shared definition, other values refused', () => {
    expect(promptSourceSetting.options).toEqual(PROMPT_SOURCES);
    expect(Object.keys(STAGE_SETTING_DOCS).filter((path) => path.endsWith('.promptSource')).sort()).toEqual([...fields].sort());
    for (const f of fields) expect(STAGE_SETTING_DOCS[f]).toBe(promptSourceSetting);
    for (const preset of ['nano', 'tiny', 'small'] as const) {
      const c = makePipelineConfig(preset);
      expect([c.ppo.promptSource, c.grpo.promptSource, c.rloo.promptSource]).toEqual(['train', 'train', 'train']);
    }
    expect(makePipelineConfig('nano', { 'grpo.promptSource': 'generated' }).grpo.promptSource).toBe('generated');
    expect(() => makePipelineConfig('nano', { 'rloo.promptSource': 'fresh' })).toThrow(/rloo\.promptSource: must be one of train, generated, got "fresh"/);
  });

  test('"generated" is refused on a task without a generator, naming the field; accepted on instructions', () => {
    for (const f of fields) {
      const c = makePipelineConfig('nano', { [f]: 'generated' });
      const message = (id: string) => `the ${id} task has no prompt generator (its prompts are a fixed set): use train`;
      expect(taskProblems(c, sentiment)).toEqual([{ field: f, message: message('sentiment') }]);
      expect(taskProblems(c, custom)).toEqual([{ field: f, message: message('custom') }]);
      expect(taskProblems(c, instructions)).toEqual([]);
    }
    expect(() => acceptConfiguration({ task: 'sentiment', preset: 'nano', overrides: { 'ppo.promptSource': 'generated' } })).toThrow(/ppo\.promptSource: the sentiment task has no prompt generator/);
    expect(acceptConfiguration({ task: 'instructions', preset: 'nano', overrides: { 'ppo.promptSource': 'generated' } }).config.ppo.promptSource).toBe('generated');
  });
});

describe('the prompt stream', () => {
  const ctx = (task: Task) => ({ config: { seed: 3 }, task }) as unknown as StageContext;

  test('train: the training prompts in a seeded order, each once a cycle, drawn across calls', () => {
    const next = trainingPrompts(ctx(instructions), 'X', 'train', 52);
    const train = instructions.prompts.train;
    const got = [...next(5), ...next(train.length)];
    const order = shuffledIndices(train.length, mixSeed(3, 52));
    expect(got).toEqual(Array.from({ length: train.length + 5 }, (_, i) => train[order[i % train.length]]));
    expect(new Set(got.slice(0, train.length))).toEqual(new Set(train));
  });

  test("generated: the task's generator seeded from the run's seed and the salt, drawn across calls", () => {
    const next = trainingPrompts(ctx(instructions), 'X', 'generated', 92);
    expect([...next(3), ...next(4)]).toEqual(draw(instructions, mixSeed(3, 92), 7));
    expect(trainingPrompts(ctx(instructions), 'X', 'generated', 94)(7)).not.toEqual(draw(instructions, mixSeed(3, 92), 7));
    expect(() => trainingPrompts(ctx(sentiment), 'GRPO', 'generated', 92)).toThrow('GRPO: the sentiment task has no prompt generator (its prompts are a fixed set): set promptSource to train');
  });
});

describe('RL stages on the prompts their promptSource names', () => {
  const task = createTask('instructions', { seed: 1, maxResponseTokens: 6 });
  // A generator whose stream is easy to recognise: "add: A + i" for i = 0, 1, 2, … (gold knows every answer).
  const counting: Task = { ...task, promptGenerator: (seed) => { let i = 0; return () => `add: ${seed % 40} + ${i++}`; } };
  const tok = CharTokenizer.fromText([...task.prompts.train, ...task.prompts.heldout, ...task.demonstrations.map((d) => d.completion)].join('\n'));
  const model = makeConfig('nano', { vocabSize: tok.vocabSize, dropout: 0 });
  const QUICK = { seed: 5, 'ppo.maxResponseTokens': 6, 'ppo.batchSize': 4, 'ppo.miniBatches': 2, 'ppo.episodes': 8 };

  /** The episodes of `stage` run on the counting task with its promptSource set to `source`. */
  async function episodesOf(rt: GpuRuntime, stage: 'ppo' | 'grpo' | 'rloo', source: string): Promise<Episode[]> {
    const episodes: Episode[] = [];
    const config = makePipelineConfig('nano', { ...QUICK, [`${stage}.promptSource`]: source, [`${stage}.rewardSource`]: 'gold' });
    const pipeline = new Pipeline(rt, config, counting, tok, { weights: initWeights(model, 1), config: model }, undefined, { episodes: (_s, _i, e) => episodes.push(...e) });
    pipeline.weights.sft = initWeights(model, 1);
    pipeline.weights['reward-model'] = initWeights(model, 2, 'score');
    await pipeline.runStage(stage);
    return episodes;
  }

  gpuTest.for(['ppo', 'grpo', 'rloo'] as const)('%s: generated prompts come from the stream, in order; train ones from the training pool', { timeout: 180_000 }, async (stage, { rt }) => {
    const generated = await episodesOf(rt, stage, 'generated');
    expect(generated.length).toBeGreaterThanOrEqual(8);
    const distinct = [...new Set(generated.map((e) => e.prompt))];
    const a = /^add: (\d+) \+ 0$/.exec(distinct[0])?.[1];
    expect(a, distinct[0]).toBeDefined();
    expect(distinct).toEqual(distinct.map((_, i) => `add: ${a} + ${i}`));
    for (const e of generated) expect(e.gold).toBe(counting.gold!(e.prompt, e.response));
    const pool = new Set(task.prompts.train);
    const train = await episodesOf(rt, stage, 'train');
    expect(train.length).toBe(generated.length);
    for (const e of train) expect(pool.has(e.prompt), e.prompt).toBe(true);
  });
});
