// Where a stage's training data come from (<stage>.promptSource): the instructions task's example generator
// (deterministic, never a held-out prompt, every kind, judged by gold and the verifier, each prompt with its right
// answer), the setting (train by default, one shared definition for the RL stages and SFT's own, "generated" refused on
// a task without a generator, naming the field), the prompt and demonstration streams of either source, and PPO,
// GRPO, RLOO and SFT training on the data their setting names (nano, on the GPU).
import { describe, expect, test } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { makeConfig } from '../../src/model/config';
import { mixSeed, type SftExample, shuffledIndices } from '../../src/model/data';
import { GPT } from '../../src/model/gpt';
import { initWeights } from '../../src/model/params';
import { makePipelineConfig, STAGE_SETTING_DOCS, taskProblems } from '../../src/rlhf/config';
import type { Episode } from '../../src/rlhf/episode';
import { Pipeline } from '../../src/rlhf/pipeline';
import type { StageContext } from '../../src/rlhf/stages/context';
import { trainingDemonstrations, trainingPrompts } from '../../src/rlhf/stages/prompt-source';
import { tokenAccuracy } from '../../src/rlhf/stages/sft-run';
import { PROMPT_SOURCES, promptSourceSetting } from '../../src/rlhf/stages/shared';
import { createTask, importTask, type Task } from '../../src/rlhf/tasks';
import { instructionAnswer } from '../../src/rlhf/tasks/instructions';
import { acceptConfiguration } from '../../src/worker/configure';
import { gpuTest } from '../helpers/gpu';

const instructions = createTask('instructions', { seed: 1 });
const sentiment = createTask('sentiment', { seed: 1 });
const custom = importTask({ prompts: ['{"prompt": "a"}', '{"prompt": "b"}', '{"prompt": "c"}'].join('\n') }, { seed: 1 });
const drawExamples = (task: Task, seed: number, n: number) => Array.from({ length: n }, task.exampleGenerator!(seed));
const draw = (task: Task, seed: number, n: number) => drawExamples(task, seed, n).map((e) => e.prompt);
const kindOf = (prompt: string) => prompt.slice(0, prompt.indexOf(':'));

describe("the instructions task's example generator", () => {
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
    for (const { prompt: p, completion } of drawExamples(instructions, 7, 1500)) {
      expect(instructions.verifier!(p, completion), p).toBe(1); // every example carries its right answer
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
    expect(sentiment.exampleGenerator).toBeUndefined();
    expect(custom.exampleGenerator).toBeUndefined();
  });
});

describe('the promptSource setting', () => {
  const rl = ['ppo.promptSource', 'grpo.promptSource', 'rloo.promptSource'];
  const fields = [...rl, 'sft.promptSource'];

  test('train by default in SFT and every RL stage and preset, one shared definition for the RL stages, other values refused', () => {
    expect(promptSourceSetting.options).toEqual(PROMPT_SOURCES);
    expect(Object.keys(STAGE_SETTING_DOCS).filter((path) => path.endsWith('.promptSource')).sort()).toEqual([...fields].sort());
    for (const f of rl) expect(STAGE_SETTING_DOCS[f]).toBe(promptSourceSetting);
    expect(STAGE_SETTING_DOCS['sft.promptSource']).toMatchObject({ kind: 'choice', options: PROMPT_SOURCES, meaning: expect.stringMatching(/demonstrations .*generated = drawn from the task’s own generator/) });
    for (const preset of ['nano', 'tiny', 'small'] as const) {
      const c = makePipelineConfig(preset);
      expect([c.sft.promptSource, c.ppo.promptSource, c.grpo.promptSource, c.rloo.promptSource]).toEqual(['train', 'train', 'train', 'train']);
    }
    expect(makePipelineConfig('nano', { 'sft.promptSource': 'generated' }).sft.promptSource).toBe('generated');
    expect(makePipelineConfig('nano', { 'grpo.promptSource': 'generated' }).grpo.promptSource).toBe('generated');
    expect(() => makePipelineConfig('nano', { 'rloo.promptSource': 'fresh' })).toThrow(/rloo\.promptSource: must be one of train, generated, got "fresh"/);
  });

  test('"generated" is refused on a task without a generator, naming the field; accepted on instructions', () => {
    for (const f of fields) {
      const c = makePipelineConfig('nano', { [f]: 'generated' });
      const message = (id: string) => `the ${id} task has no example generator (its prompts are a fixed set): use train`;
      expect(taskProblems(c, sentiment)).toEqual([{ field: f, message: message('sentiment') }]);
      expect(taskProblems(c, custom)).toEqual([{ field: f, message: message('custom') }]);
      expect(taskProblems(c, instructions)).toEqual([]);
    }
    expect(() => acceptConfiguration({ task: 'sentiment', preset: 'nano', overrides: { 'ppo.promptSource': 'generated' } })).toThrow(/ppo\.promptSource: the sentiment task has no example generator/);
    expect(() => acceptConfiguration({ task: 'sentiment', preset: 'nano', overrides: { 'sft.promptSource': 'generated' } })).toThrow(/sft\.promptSource: the sentiment task has no example generator/);
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
    expect(() => trainingPrompts(ctx(sentiment), 'GRPO', 'generated', 92)).toThrow('GRPO: the sentiment task has no example generator (its prompts are a fixed set): set promptSource to train');
  });

  test("SFT's demonstrations: train ones as they are; generated ones the generator's examples in order, the held-out demonstrations' prompts skipped", () => {
    const [held, train] = [instructions.demonstrations.slice(0, 51), instructions.demonstrations.slice(51)];
    expect(trainingDemonstrations(ctx(instructions), 'train', 23, train, held)).toBe(train);
    const next = trainingDemonstrations(ctx(instructions), 'generated', 23, train, held) as () => SftExample;
    const got = Array.from({ length: 3000 }, next);
    const heldPrompts = new Set(held.map((d) => d.prompt));
    const stream = drawExamples(instructions, mixSeed(3, 23), 3400);
    const skipped = stream.filter((e) => heldPrompts.has(e.prompt));
    expect(skipped.length).toBeGreaterThan(0); // the stream does give them (count letters, plural, … are few)
    expect(got).toEqual(stream.filter((e) => !heldPrompts.has(e.prompt)).slice(0, 3000));
    expect(() => trainingDemonstrations(ctx(sentiment), 'generated', 23, train, held)).toThrow('SFT: the sentiment task has no example generator (its prompts are a fixed set): set promptSource to train');
  });
});

describe('stages on the data their promptSource names', () => {
  const task = createTask('instructions', { seed: 1, maxResponseTokens: 6 });
  // A generator whose stream is easy to recognise: "add: A + i" for i = 0, 1, 2, … (gold knows every answer).
  const counting: Task = { ...task, exampleGenerator: (seed) => { let i = 0; return () => ({ prompt: `add: ${seed % 40} + ${i}`, completion: String((seed % 40) + i++) }); } };
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

  gpuTest('sft: generated demonstrations come from the stream, batchSize new ones a step, and teach its answers', { timeout: 180_000 }, async ({ rt }) => {
    // A stream that answers every prompt "zz": the task's demonstrations never end that way, the stream always does.
    let drawn = 0;
    const zz: Task = { ...task, exampleGenerator: (seed) => { let i = 0; return () => (drawn++, { prompt: `add: ${seed % 40} + ${1000 + i++}`, completion: 'zz' }); } }; // never a held-out demonstration's prompt
    const unseen = Array.from({ length: 8 }, (_, i) => ({ prompt: `add: 7 + ${i + 100}`, completion: 'zz' }));
    const steps = 20;
    /** The SFT policy's loss on `unseen` after SFT with `source`. */
    async function lossAfter(source: string): Promise<number> {
      const config = makePipelineConfig('nano', { seed: 5, 'sft.promptSource': source, 'sft.steps': steps, 'sft.lr': 1e-2 });
      const pipeline = new Pipeline(rt, config, zz, tok, { weights: initWeights(model, 1), config: model }, undefined, {});
      await pipeline.runStage('sft');
      const sft = GPT.create(rt, model, { weights: pipeline.weights.sft });
      try {
        return (await tokenAccuracy(sft, tok, unseen, unseen.length, 32)).loss;
      } finally {
        sft.dispose();
      }
    }
    const train = await lossAfter('train');
    expect(drawn).toBe(0);
    const generated = await lossAfter('generated');
    expect(drawn).toBe(steps * makePipelineConfig('nano').sft.batchSize);
    // Measured: 3.08 nats after the task's demonstrations, 0.64 after the stream's (chance: ln V ≈ 3.6).
    expect(generated).toBeLessThan(1);
    expect(generated).toBeLessThan(train / 3);
  });
});
