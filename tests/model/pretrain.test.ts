import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { commandLine, main, parsePretrainArgs, type PretrainCliOptions, runPretrain, UsageError } from '../../src/cli/pretrain';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { loadCheckpoint, TRAINING_METADATA_KEY } from '../../src/model/checkpoint';
import { makeConfig, parameterCount, parameterShapes, PRESETS } from '../../src/model/config';
import { buildTokenizer, encodeCorpus, pretrain, type PretrainOptions, splitDocuments, validatePretrainOptions } from '../../src/model/pretrain';
import { tokenizerFromJSON } from '../../src/model/tokenizer';
import { gpuTest } from '../helpers/gpu';

// A 20k-character slice of the bundled corpus, cut at a document boundary: ~60 documents, enough for a
// training split and a 5% validation split of several 32-token windows.
const full = readFileSync(new URL('../../public/corpus/tiny-stories.txt', import.meta.url), 'utf8');
const slice = full.slice(0, full.indexOf('\n\n', 20_000));
const tokenizer = CharTokenizer.fromText(slice);
const ids = encodeCorpus(slice, tokenizer);
const nano = makeConfig('nano', { vocabSize: tokenizer.vocabSize });

const dir = mkdtempSync(join(tmpdir(), 'pretrain-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A nano run small enough for SwiftShader: 2 × 32 tokens per step. */
function options(overrides: Partial<PretrainOptions> = {}): PretrainOptions {
  return {
    config: nano,
    tokenizer,
    ids,
    steps: 12,
    batchSize: 2,
    seqLen: 32,
    maxLr: 1e-2,
    warmupSteps: 3,
    seed: 7,
    logEvery: 3,
    evalEvery: 6,
    evalBatches: 1,
    finalEvalBatches: 2,
    ...overrides,
  };
}

describe('corpus encoding', () => {
  test('documents split at blank lines become BOS text EOS, concatenated', () => {
    const text = 'ab\n\n  cab \n\n\n\nb\r\n\r\nxa\nb\n';
    expect(splitDocuments(text)).toEqual(['ab', 'cab', 'b', 'xa\nb']);
    const tok = CharTokenizer.fromText(text);
    const { bos, eos } = tok.special;
    const got = Array.from(encodeCorpus(text, tok));
    const doc = (s: string) => [bos, ...tok.encode(s), eos];
    expect(got).toEqual([...doc('ab'), ...doc('cab'), ...doc('b'), ...doc('xa\nb')]);
    // The bundled corpus: one BOS and one EOS per document.
    const docs = splitDocuments(slice).length;
    expect(ids.filter((id) => id === tokenizer.special.bos).length).toBe(docs);
    expect(ids.filter((id) => id === tokenizer.special.eos).length).toBe(docs);
  });

  test('a BPE tokenizer of the requested size works the same way', () => {
    const bpe = buildTokenizer('bpe', slice.slice(0, 5000), 300);
    expect(bpe.kind).toBe('bpe');
    expect(bpe.vocabSize).toBe(300);
    const stream = encodeCorpus(slice.slice(0, 5000), bpe);
    expect(stream[0]).toBe(bpe.special.bos);
    expect(bpe.decode(stream, { specials: 'drop' })).toBe(splitDocuments(slice.slice(0, 5000)).join(''));
  });

  test('pretrain options are validated before anything runs', () => {
    expect(() => validatePretrainOptions(options({ seqLen: 33 }))).toThrow(/seqLen 33 exceeds the model's contextLength 32/);
    expect(() => validatePretrainOptions(options({ steps: 0 }))).toThrow(/steps must be an integer ≥ 1, got 0/);
    expect(() => validatePretrainOptions(options({ warmupSteps: 20 }))).toThrow(/warmupSteps \(20\) exceeds steps \(12\)/);
    expect(() => validatePretrainOptions(options({ maxLr: -1 }))).toThrow(/maxLr must be a positive number/);
    expect(() => validatePretrainOptions(options({ config: makeConfig('nano') }))).toThrow(/tokenizer has \d+ ids but config.vocabSize is 64/);
  });
});

describe('pretrain loop', () => {
  gpuTest('nano: the loss falls well below step 0, seeded runs repeat exactly, every log step is reported', async ({ rt }) => {
    const steps: number[] = [];
    const losses: number[] = [];
    const logged: number[] = [];
    const r = await pretrain(rt, options({ onStep: (m) => void (steps.push(m.step), losses.push(m.loss)), onLog: (e) => void logged.push(e.step) }));
    expect(steps).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(r.steps).toBe(12);
    expect(r.stopped).toBe(false);
    expect(r.tokens).toBe(12 * 2 * 32);
    // Step 0 is the untrained model: close to ln V (uniform predictions; GPT-2's init gives near-zero logits).
    expect(r.initialLoss).toBe(losses[0]);
    expect(Math.abs(r.initialLoss - Math.log(nano.vocabSize))).toBeLessThan(0.1);
    // After 12 steps the model is learning the character frequencies (the unigram entropy is ≈ 3 nats here).
    expect(r.finalTrainLoss).toBeLessThan(r.initialLoss - 0.6);
    expect(r.finalValLoss).toBeLessThan(r.initialLoss - 0.5);
    expect(r.finalValTokens).toBe(2 * 2 * 32);
    // Log entries at every 3rd step, validation at 6 and at the end (the final, larger evaluation).
    expect(logged).toEqual([3, 6, 9, 12]);
    expect(r.log.map((e) => e.valLoss !== undefined)).toEqual([false, true, false, true]);
    expect(r.log[3].valLoss).toBe(r.finalValLoss);
    expect(r.log[3].trainLoss).toBeCloseTo((losses[9] + losses[10] + losses[11]) / 3, 6);
    expect(r.log.every((e) => e.tokensPerSecond > 0 && Number.isFinite(e.gradNorm))).toBe(true);
    for (const { name, shape } of parameterShapes(nano)) expect(r.weights[name].length).toBe(shape.reduce((a, b) => a * b, 1));

    // Same seed, same first steps (the warm-up's learning rates do not depend on the total step count):
    // bit-identical losses. A stopped run returns what it has.
    const controller = new AbortController();
    const again: number[] = [];
    const short = await pretrain(rt, options({
      signal: controller.signal,
      onStep: (m) => {
        again.push(m.loss);
        if (m.step === 2) controller.abort();
      },
    }));
    expect(again).toEqual(losses.slice(0, 3));
    expect(short.stopped).toBe(true);
    expect(short.steps).toBe(3);
    // A different seed gives a different run.
    const other = await pretrain(rt, options({ steps: 1, warmupSteps: 0, seed: 8, logEvery: 1, finalEvalBatches: 1 }));
    expect(other.initialLoss).not.toBe(losses[0]);
  });
});

describe('npm run pretrain', () => {
  gpuTest('writes a checkpoint that loads back with bit-identical weights, its tokenizer and the training facts', async ({ rt }) => {
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, slice);
    const out = join(dir, 'sub', 'nano.safetensors');
    const args = ['--', '--preset', 'nano', '--steps', '4', '--batch=2', '--seq', '32', '--warmup', '1', '--seed', '3', '--corpus', corpus, '--out', out, '--log-every', '2', '--eval-every', '0', '--final-eval-batches', '1'];
    const lines: string[] = [];
    const run = await runPretrain(parsePretrainArgs(args) as PretrainCliOptions, args, { runtime: rt, out: (l) => lines.push(l) });
    expect(run.path).toBe(out);

    const ckpt = loadCheckpoint(readFileSync(out));
    expect(ckpt.config).toEqual(nano);
    for (const { name } of parameterShapes(nano)) {
      const a = new Uint32Array(run.result.weights[name].buffer, run.result.weights[name].byteOffset, run.result.weights[name].length);
      expect(new Uint32Array(ckpt.weights[name].buffer), name).toEqual(a);
    }
    const tok = tokenizerFromJSON(ckpt.tokenizerJson);
    expect(tok.toJSON()).toEqual(tokenizer.toJSON());
    const facts = JSON.parse(ckpt.metadata[TRAINING_METADATA_KEY]);
    expect(facts).toMatchObject({ kind: 'pretrain', preset: 'nano', steps: 4, batch: 2, seq: 32, seed: 3, tokenizer: 'char' });
    expect(facts.finalTrainLoss).toBe(run.result.finalTrainLoss);
    expect(facts.finalValLoss).toBe(run.result.finalValLoss);
    expect(facts.command).toBe(commandLine(args));
    expect(facts.command).toMatch(/^npm run pretrain -- --preset nano --steps 4 --batch=2 /);

    // The printed report: a line per log step, the summary, six samples (greedy and sampled) and the file.
    expect(lines.filter((l) => /^step +\d\/4 +train \d/.test(l))).toHaveLength(2);
    expect(lines.some((l) => /^done: 4 steps .* val \d+\.\d{4}/.test(l))).toBe(true);
    expect(lines.filter((l) => /^ {2}\[(greedy|T=0\.8, seed 1)\] "(Once upon a time|Review of the|reverse: abc =>)" → "/.test(l))).toHaveLength(6);

    // --init continues that checkpoint: same tokenizer and architecture, its weights as the start (the step-0
    // loss is the checkpoint's, not an untrained model's), and the lineage in the new facts.
    const next = join(dir, 'sub', 'nano-continued.safetensors');
    const more = ['--init', out, '--steps', '2', '--batch', '2', '--seq', '32', '--warmup', '0', '--corpus', corpus, '--out', next, '--eval-every', '0', '--final-eval-batches', '1', '--no-samples'];
    const continued = await runPretrain(parsePretrainArgs(more) as PretrainCliOptions, more, { runtime: rt, out: () => {} });
    expect(continued.result.initialLoss).toBeLessThan(run.result.initialLoss - 0.1);
    const c2 = loadCheckpoint(readFileSync(next));
    expect(c2.config).toEqual(nano);
    expect(tokenizerFromJSON(c2.tokenizerJson).toJSON()).toEqual(tokenizer.toJSON());
    expect(JSON.parse(c2.metadata[TRAINING_METADATA_KEY]).init).toMatchObject({ checkpoint: out, training: { steps: 4, seed: 3 } });
    expect(() => parsePretrainArgs(['--init', out, '--tokenizer', 'bpe'])).toThrow(/leave out --preset, --tokenizer and --vocab/);
    expect(run.samples).toHaveLength(6);
    expect(lines[lines.length - 1]).toMatch(/^wrote .*nano\.safetensors: [\d,]+ bytes$/);
  });

  test('bad options are usage errors that say what is wrong', async () => {
    const bad: [string[], RegExp][] = [
      [['--frobnicate'], /unknown option --frobnicate/],
      [['extra'], /unexpected argument "extra"/],
      [['--preset', 'huge'], /--preset must be one of nano, tiny, small, got "huge"/],
      [['--steps', '0'], /--steps needs an integer in \[1, ∞\], got "0"/],
      [['--steps', '2.5'], /--steps needs an integer/],
      [['--batch'], /--batch needs a value/],
      [['--batch', '--steps', '3'], /--batch needs a value/],
      [['--seq', '129'], /--seq needs an integer in \[1, 128\], got "129"/],
      [['--preset', 'nano', '--seq', '64'], /--seq needs an integer in \[1, 32\]/],
      [['--lr', 'fast'], /--lr needs a learning rate in \(0, 1\), got "fast"/],
      [['--lr', '0'], /--lr needs a learning rate/],
      [['--steps', '10', '--warmup', '11'], /--warmup \(11\) cannot exceed --steps \(10\)/],
      [['--dropout', '1'], /--dropout needs a probability in \[0, 1\)/],
      [['--tokenizer', 'word'], /--tokenizer must be char or bpe, got "word"/],
      [['--vocab', '512'], /--vocab applies to --tokenizer bpe only/],
      [['--tokenizer', 'bpe', '--vocab', '100'], /--vocab needs an integer in \[260, 65536\]/],
      [['--seed', '-1'], /--seed needs an integer in \[0, 4294967295\]/],
      [['--steps', '5', '--steps', '6'], /--steps given twice/],
    ];
    for (const [args, message] of bad) expect(() => parsePretrainArgs(args), args.join(' ')).toThrow(message);
    expect(() => parsePretrainArgs(['--preset', 'huge'])).toThrow(UsageError);

    const defaults = parsePretrainArgs([]) as PretrainCliOptions;
    expect(defaults).toMatchObject({ preset: 'tiny', tokenizer: 'char', corpus: 'public/corpus/tiny-stories.txt', out: 'public/models/base-tiny.safetensors', seq: undefined, samples: true });
    expect(parsePretrainArgs(['--', '--steps=50', '--no-samples'])).toMatchObject({ steps: 50, warmup: 5, samples: false });
    expect(parsePretrainArgs(['--help'])).toBe('help');

    // main: usage errors exit 2 with the usage text, run-time failures 1, help 0.
    const err: string[] = [];
    const out: string[] = [];
    expect(await main(['--steps', 'x'], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(2);
    expect(err[0]).toMatch(/^--steps needs an integer.*\n\nusage: npm run pretrain/s);
    expect(await main(['--corpus', join(dir, 'missing.txt')], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(1);
    expect(err[1]).toMatch(/^pretrain failed: cannot read the corpus .*missing\.txt/);
    expect(await main(['-h'], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(0);
    expect(out[0]).toMatch(/^usage: npm run pretrain -- \[options\]/);
  });
});

describe('the bundled base model (public/models/base-tiny.safetensors)', () => {
  test('is a tiny GPT with its tokenizer and the facts of the run that made it', () => {
    const bytes = readFileSync(new URL('../../public/models/base-tiny.safetensors', import.meta.url));
    expect(bytes.length).toBeLessThan(1.5e6);
    const ckpt = loadCheckpoint(bytes);
    const tok = tokenizerFromJSON(ckpt.tokenizerJson);
    expect(ckpt.config).toEqual({ ...PRESETS.tiny, vocabSize: tok.vocabSize, dropout: 0 });
    expect(parameterCount(ckpt.config)).toBeLessThan(300_000);
    for (const w of Object.values(ckpt.weights)) expect(w.every(Number.isFinite)).toBe(true);
    // Two runs (public/models/README.md): from scratch, then continued with --init.
    const facts = JSON.parse(ckpt.metadata[TRAINING_METADATA_KEY]);
    expect(facts).toMatchObject({ kind: 'pretrain', preset: 'tiny', corpus: 'public/corpus/tiny-stories.txt', tokenizer: tok.kind, seed: 2024, steps: 500 });
    expect(facts.command).toMatch(/^npm run pretrain -- --init \S+ --steps 500 /);
    const first = facts.init.training;
    expect(first).toMatchObject({ kind: 'pretrain', preset: 'tiny', tokenizer: tok.kind, seed: 1337, steps: 600 });
    expect(first.command).toMatch(/^npm run pretrain -- --preset tiny /);
    // Trained: far below the untrained ln V, and the continuation improved on the first run.
    expect(facts.finalValLoss).toBeLessThan(first.initialLoss - 3);
    expect(facts.finalValLoss).toBeLessThan(first.finalValLoss - 0.5);
    // The tokenizer round-trips the corpus's text.
    const text = full.slice(0, 2000);
    expect(tok.decode(tok.encode(text))).toBe(text);
  });
});
