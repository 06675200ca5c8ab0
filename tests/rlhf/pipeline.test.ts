// The nano smoke run of the whole pipeline (pretrain → SFT → labels + RM → PPO → best-of-N → evaluation) through the
// command line's own entry point, on SwiftShader, and the determinism promise: the same seed gives the same numbers.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { main, parsePipelineArgs, runPipelineCli, UsageError } from '../../src/cli/pipeline';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { isMetricName, type MetricRecord } from '../../src/rlhf/metrics';
import type { PipelineSummary } from '../../src/rlhf/pipeline';

const dir = mkdtempSync(join(tmpdir(), 'pipeline-test-'));
const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));

describe('npm run pipeline (nano smoke run)', () => {
  const out = join(dir, 'full');
  let summary: PipelineSummary;
  const log: string[] = [];

  test('runs every stage and writes summary.json, metrics.jsonl, samples.jsonl, episodes.jsonl and checkpoints', { timeout: 600_000 }, async () => {
    const opts = parsePipelineArgs(['--preset', 'nano', '--task', 'sentiment', '--seed', '3', '--out', out]);
    if (opts === 'help') throw new Error('unexpected help');
    summary = await runPipelineCli(opts, (l) => log.push(l));
    expect(log.join('\n')).toMatch(/== pretrain done[\s\S]*== sft done[\s\S]*== rm done[\s\S]*== ppo done[\s\S]*== bon done[\s\S]*== eval done/);

    // summary.json: the shape, every headline number present and finite.
    const written = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(written).toEqual(JSON.parse(JSON.stringify(summary)));
    expect(written).toMatchObject({ task: 'sentiment', preset: 'nano', seed: 3, labelers: { k: 4, agreement: 0.73 } });
    for (const v of [written.rm.heldout_accuracy, written.rm.gold_agreement, written.rm.labeler_gold_agreement, written.rm.inter_labeler_agreement, written.ppo.gold_sft, written.ppo.gold_ppo, written.ppo.win_rate, written.ppo.kl, written.seconds]) {
      expect(Number.isFinite(v)).toBe(true);
    }
    expect(written.rm.heldout_accuracy).toBeGreaterThanOrEqual(0);
    expect(written.rm.heldout_accuracy).toBeLessThanOrEqual(1);
    expect(written.ppo.win_rate_ci[0]).toBeLessThanOrEqual(written.ppo.win_rate);
    expect(written.ppo.win_rate_ci[1]).toBeGreaterThanOrEqual(written.ppo.win_rate);
    expect(written.bon.map((b: { n: number }) => b.n)).toEqual([1, 2, 4]);
    expect(written.bon[0].kl_bound).toBe(0);
    expect(written.bon[2].kl_bound).toBeCloseTo(Math.log(4) - 3 / 4, 12);

    // metrics.jsonl: {"stage","step", <known metric names>: finite numbers}.
    const metrics: MetricRecord[] = lines(join(out, 'metrics.jsonl'));
    for (const r of metrics) {
      for (const [k, v] of Object.entries(r)) {
        if (k === 'stage' || k === 'step') continue;
        expect(isMetricName(k), `${k} is a metric of src/rlhf/metrics.ts`).toBe(true);
        expect(Number.isFinite(v), `${r.stage} ${r.step} ${k} = ${v}`).toBe(true);
      }
    }
    const stageNames = new Set(metrics.map((r) => r.stage));
    expect([...stageNames]).toEqual(['pretrain', 'sft', 'rm', 'ppo', 'bon', 'eval']);
    const ppo = metrics.filter((r) => r.stage === 'ppo');
    expect(ppo).toHaveLength(2); // 16 episodes / 8 per iteration
    for (const name of ['objective/scores', 'objective/kl', 'objective/entropy', 'objective/non_score_reward', 'objective/rlhf_reward', 'policy/approxkl', 'policy/clipfrac', 'loss/policy', 'loss/value', 'val/ratio', 'val/ratio_var', 'val/num_eos_tokens', 'policy/sqrt_kl', 'objective/gold', 'val/response_length'] as const) {
      expect(ppo[1][name], name).toBeTypeOf('number');
    }
    // The first iteration's ratio is exactly 1 before any update; later minibatches move it only a little.
    expect(ppo[0]['val/ratio']).toBeGreaterThan(0.9);
    expect(ppo[0]['val/ratio']).toBeLessThan(1.1);
    expect(ppo[0]['objective/kl']).toBeCloseTo(0, 6); // policy = reference before the first update
    expect(metrics.find((r) => r.stage === 'rm' && 'rm/heldout_accuracy' in r)).toBeDefined();
    expect(metrics.find((r) => r.stage === 'sft' && 'mean_token_accuracy' in r)).toBeDefined();

    // samples.jsonl: held-out samples of sft, ppo and bon-4 with proxy and gold rewards.
    const samples = lines(join(out, 'samples.jsonl'));
    expect(new Set(samples.map((s) => s.policy))).toEqual(new Set(['sft', 'ppo', 'bon-4']));
    for (const s of samples) {
      expect(Object.keys(s).sort()).toEqual(['gold', 'policy', 'prompt', 'proxy', 'response']);
      expect(typeof s.prompt).toBe('string');
      expect(Number.isFinite(s.proxy) && Number.isFinite(s.gold)).toBe(true);
    }
    expect(samples.filter((s) => s.policy === 'sft')).toHaveLength(8);
    expect(lines(join(out, 'episodes.jsonl'))).toHaveLength(16);

    // Checkpoints: the policies are language models, the reward model carries the score head.
    for (const name of ['base', 'sft', 'ppo']) expect(loadCheckpoint(readFileSync(join(out, 'checkpoints', `${name}.safetensors`))).head).toBeUndefined();
    expect(loadCheckpoint(readFileSync(join(out, 'checkpoints', 'reward-model.safetensors'))).head).toBe('score');
  });

  test('the same seed gives the same numbers', { timeout: 300_000 }, async () => {
    const again = join(dir, 'again');
    const opts = parsePipelineArgs(['--preset', 'nano', '--seed', '3', '--out', again, '--stages', 'pretrain,sft']);
    if (opts === 'help') throw new Error('unexpected help');
    await runPipelineCli(opts, () => {});
    const first = lines(join(out, 'metrics.jsonl')).filter((r) => r.stage === 'pretrain' || r.stage === 'sft');
    expect(lines(join(again, 'metrics.jsonl'))).toEqual(first);
    expect(readFileSync(join(again, 'checkpoints', 'sft.safetensors')).equals(readFileSync(join(out, 'checkpoints', 'sft.safetensors')))).toBe(true);
  });
});

describe('pipeline command line', () => {
  test('named flags and --set map onto the configuration; bad input is a usage error naming the problem', async () => {
    const o = parsePipelineArgs(['--kl-coef', '0', '--ptx-coef=2', '--episodes', '64', '--labels', '30', '--bon-max', '8', '--set', 'ppo.lr=5e-5', '--preset', 'nano']);
    expect(o).toMatchObject({ preset: 'nano', overrides: { 'ppo.klCoef': '0', 'ppo.ptxCoef': '2', 'ppo.episodes': '64', 'labels.prompts': '30', 'bon.maxN': '8', 'ppo.lr': '5e-5' } });
    expect(() => parsePipelineArgs(['--task', 'poetry'])).toThrow(UsageError);
    expect(() => parsePipelineArgs(['--stages', 'sft,magic'])).toThrow(/unknown stage magic/);
    expect(() => parsePipelineArgs(['--bogus', '1'])).toThrow(/unknown option --bogus/);
    expect(() => parsePipelineArgs(['--set', 'novalue'])).toThrow(/PATH=VALUE/);
    const err: string[] = [];
    expect(await main(['--preset', 'nano', '--set', 'ppo.clip=7', '--out', join(dir, 'bad')], () => {}, (l) => err.push(l))).toBe(2);
    expect(err.join('\n')).toMatch(/ppo\.clip: must be in \(0, 1\], got 7/);
    expect(existsSync(join(dir, 'bad', 'summary.json'))).toBe(false);
  });
});
