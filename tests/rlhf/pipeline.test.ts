// The nano smoke run of the whole pipeline (pretrain → SFT → labels + RM → PPO → DPO → best-of-N → evaluation) through
// the command line's own entry point, on SwiftShader, and the determinism promise: the same seed gives the same numbers.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readPipelineRun } from '../../src/cli/export';
import { EXIT_ALARM, main, parsePipelineArgs, type PipelineCliSummary, runPipelineCli, UsageError } from '../../src/cli/pipeline';
import { trlFolder } from '../../src/hf/trl';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { frontierFitsOfRecords, gaoFitSummary } from '../../src/rlhf/frontier-fits';
import { makePipelineConfig, taskProblems } from '../../src/rlhf/config';
import { isMetricName, KL_BLOWUP_THRESHOLD, type MetricRecord } from '../../src/rlhf/metrics';
import { createTask } from '../../src/rlhf/tasks';

const dir = mkdtempSync(join(tmpdir(), 'pipeline-test-'));
const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));

/**
 * A 95% Wilson score interval for a win rate p̂ over n prompts, checked by its definition rather than math.ts's closed
 * form: its ends are the two p at which the normal score test just accepts p̂, (p̂ − p)² = z²·p(1 − p)/n, one on each
 * side of p̂ — so a wrong n, a Wald interval or an interval that merely contains p̂ fails.
 */
function expectWilsonInterval(ci: [number, number], winRate: number, n: number, what: string) {
  const z = 1.959963984540054; // the normal distribution's 97.5% quantile
  for (const end of ci) expect((winRate - end) ** 2, `${what}: interval end ${end}`).toBeCloseTo((z * z * end * (1 - end)) / n, 12);
  expect(ci[0], what).toBeLessThan(ci[1]);
  expect(ci[0], what).toBeLessThanOrEqual(winRate);
  expect(ci[1], what).toBeGreaterThanOrEqual(winRate);
}

describe('npm run pipeline (nano smoke run)', () => {
  const out = join(dir, 'full');
  let summary: PipelineCliSummary;
  const log: string[] = [];

  test('runs every stage and writes summary.json, metrics.jsonl, samples.jsonl, episodes.jsonl and checkpoints', { timeout: 600_000 }, async () => {
    const opts = parsePipelineArgs(['--preset', 'nano', '--task', 'sentiment', '--seed', '3', '--out', out, '--stages', 'eval,bon,dpo,ppo,rm,sft,pretrain']);
    if (opts === 'help') throw new Error('unexpected help');
    summary = await runPipelineCli(opts, (l) => log.push(l));
    // Named in any order, the stages run in the registry's.
    expect(log.join('\n')).toMatch(/== pretrain done[\s\S]*== sft done[\s\S]*== rm done[\s\S]*== ppo done[\s\S]*== dpo done[\s\S]*== bon done[\s\S]*== eval done/);

    // summary.json: the shape, every headline number present and finite.
    const written = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(written).toEqual(JSON.parse(JSON.stringify(summary)));
    expect(written).toMatchObject({ task: 'sentiment', preset: 'nano', seed: 3, labelers: { k: 4, agreement: 0.73 } });
    for (const v of [written.rm.heldout_accuracy, written.rm.gold_agreement, written.rm.labeler_gold_agreement, written.rm.inter_labeler_agreement, written.ppo.gold_sft, written.ppo.gold_ppo, written.ppo.win_rate, written.ppo.kl, written.seconds]) {
      expect(Number.isFinite(v)).toBe(true);
    }
    expect(written.alarms).toEqual([]);
    // Held-out accuracy: the mean over nano's 2 held-out rankings (10 prompts × heldoutFraction 0.2) of the share of
    // their C(4,2) = 6 pairs the reward model orders as the labels do, so a multiple of 1/12. Ordering at random gets
    // 6/12 on average; this seed measures 9/12 (what a second simulated labeler gets on the same labels), and a
    // comparison the wrong way round (preferred and rejected swapped) would give 3/12.
    expect(written.rm.heldout_accuracy * 12).toBeCloseTo(Math.round(written.rm.heldout_accuracy * 12), 9);
    expect(written.rm.heldout_accuracy).toBeGreaterThan(0.5);
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
    expect([...stageNames]).toEqual(['pretrain', 'sft', 'rm', 'ppo', 'dpo', 'bon', 'eval']);
    const ppo = metrics.filter((r) => r.stage === 'ppo');
    expect(ppo).toHaveLength(2); // 16 episodes / 8 per iteration
    for (const name of ['objective/scores', 'objective/kl', 'objective/entropy', 'objective/non_score_reward', 'objective/rlhf_reward', 'policy/approxkl', 'policy/clipfrac', 'policy/advantage_std', 'loss/policy', 'loss/value', 'val/ratio', 'val/ratio_var', 'val/num_eos_tokens', 'policy/sqrt_kl', 'objective/gold', 'val/response_length'] as const) {
      expect(ppo[1][name], name).toBeTypeOf('number');
    }
    // The first iteration's ratio is exactly 1 before any update; later minibatches move it only a little.
    expect(ppo[0]['val/ratio']).toBeGreaterThan(0.9);
    expect(ppo[0]['val/ratio']).toBeLessThan(1.1);
    expect(ppo[0]['objective/kl']).toBeCloseTo(0, 6); // policy = reference before the first update
    expect(metrics.find((r) => r.stage === 'rm' && 'rm/heldout_accuracy' in r)).toBeDefined();
    expect(metrics.find((r) => r.stage === 'sft' && 'mean_token_accuracy' in r)).toBeDefined();

    // DPO: an optimizer-step record per step (nano: 2 epochs of the training rankings, 2 a step) and a held-out check
    // before the first step, every 2 steps and after the last — each with KL, proxy and gold for the frontier.
    const dpo = metrics.filter((r) => r.stage === 'dpo');
    const steps = dpo.filter((r) => 'loss/dpo' in r);
    const checks = dpo.filter((r) => 'objective/kl' in r);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps[0]['loss/dpo']).toBeCloseTo(Math.log(2), 5); // policy = reference before the first update
    expect(checks[0]).toMatchObject({ step: 0, 'objective/kl': 0 });
    expect(checks.at(-1)!.step).toBe(steps.length);
    for (const c of checks) for (const name of ['eval_rewards/accuracies', 'eval_rewards/margins', 'objective/scores', 'objective/gold', 'policy/sqrt_kl'] as const) expect(c[name], name).toBeTypeOf('number');
    // summary.json's policies: every trained policy against SFT on the same prompts; PPO's also in today's fields.
    expect(Object.keys(written.policies).sort()).toEqual(['bon', 'dpo', 'ppo']);
    // Best-of-N's KL is its bound at N = maxN, its win rate against the first sample of each prompt's pool (SFT's).
    expect(written.policies.bon).toMatchObject({ kl: written.bon[2].kl_bound, proxy: written.bon[2].proxy, gold: written.bon[2].gold });
    for (const p of Object.values(written.policies) as Record<string, unknown>[]) {
      for (const k of ['gold', 'win_rate', 'kl', 'proxy']) expect(Number.isFinite(p[k]), k).toBe(true);
    }
    // Best-of-N is judged on bon.prompts = 4 prompts, the trained policies on eval.prompts = 8 (below).
    expectWilsonInterval(written.policies.bon.win_ci, written.policies.bon.win_rate, 4, 'bon');
    expect(written.policies.ppo).toMatchObject({ gold: written.ppo.gold_ppo, win_rate: written.ppo.win_rate });
    const evalRecord = metrics.find((r) => r.stage === 'eval')!;
    expect(evalRecord['eval/win_rate_dpo']).toBe(written.policies.dpo.win_rate);
    expect(evalRecord['eval/kl_ppo']).toBe(written.policies.ppo.kl);
    // summary.json's gao_fits: Gao et al.'s curves fitted to each method's frontier points as it ran, the same fits as
    // from metrics.jsonl (the page's, src/rlhf/frontier-fits.ts). DPO's checks, from its check at step 0 (KL 0), get
    // the RL form. Nano's PPO has 2 iterations (KL 0, then one point): too few to tell α from β. Nano's best-of-N
    // responses all miss EOS (proxy = the −1 penalty for each), so the reward model keeps the first sample for every N:
    // every gain is 0. Each with its reason.
    const fitsOfRecords = Object.fromEntries(frontierFitsOfRecords(metrics).map((f) => [f.stage, gaoFitSummary(f)]));
    expect(written.gao_fits).toEqual(JSON.parse(JSON.stringify(fitsOfRecords)));
    expect(Object.keys(written.gao_fits).sort()).toEqual(['bon', 'dpo', 'ppo']);
    expect(written.gao_fits.dpo).toMatchObject({ ok: true, form: 'rl', points: checks.length, gold_0: checks[0]['objective/gold'] });
    for (const k of ['alpha', 'beta', 'r2', 'max_d']) expect(Number.isFinite(written.gao_fits.dpo[k]), k).toBe(true);
    expect(written.gao_fits.dpo.max_d).toBe(Math.max(...checks.map((c) => c['policy/sqrt_kl']!)));
    expect(written.gao_fits.ppo).toMatchObject({ ok: false, form: 'rl', points: 2, reason: expect.stringMatching(/singular/) });
    expect(written.bon.map((b: { proxy: number }) => b.proxy)).toEqual([-1, -1, -1]);
    expect(written.gao_fits.bon).toMatchObject({ ok: false, form: 'bon', points: 3, reason: expect.stringMatching(/every gain is 0/) });

    // samples.jsonl: held-out samples of sft, ppo, dpo and bon-4 with proxy and gold rewards.
    const samples = lines(join(out, 'samples.jsonl'));
    expect(new Set(samples.map((s) => s.policy))).toEqual(new Set(['sft', 'ppo', 'dpo', 'bon-4']));
    for (const s of samples) {
      expect(Object.keys(s).sort()).toEqual(['gold', 'policy', 'prompt', 'proxy', 'response']);
      expect(typeof s.prompt).toBe('string');
      expect(Number.isFinite(s.proxy) && Number.isFinite(s.gold)).toBe(true);
    }
    expect(samples.filter((s) => s.policy === 'sft')).toHaveLength(8);
    // Each policy's win rate over SFT again from these samples (the same prompts in the same order; a tie counts ½),
    // and its interval for those 8 prompts.
    const sftSamples = samples.filter((s) => s.policy === 'sft');
    for (const policy of ['ppo', 'dpo']) {
      const own = samples.filter((s) => s.policy === policy);
      expect(own.map((s) => s.prompt)).toEqual(sftSamples.map((s) => s.prompt));
      const outcomes = own.map((s, i): number => (s.gold > sftSamples[i].gold ? 1 : s.gold === sftSamples[i].gold ? 0.5 : 0));
      const winRate = outcomes.reduce((a, b) => a + b, 0) / outcomes.length;
      expect(written.policies[policy].win_rate, policy).toBeCloseTo(winRate, 12);
      expectWilsonInterval(written.policies[policy].win_ci, winRate, sftSamples.length, policy);
    }
    expect(written.ppo.win_rate_ci).toEqual(written.policies.ppo.win_ci);
    expect(lines(join(out, 'episodes.jsonl'))).toHaveLength(16);

    // Checkpoints: the policies are language models, the reward model carries the score head.
    for (const name of ['base', 'sft', 'ppo', 'dpo']) expect(loadCheckpoint(readFileSync(join(out, 'checkpoints', `${name}.safetensors`))).head).toBeUndefined();
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

  test('a metric alarm stops its stage, not the run: later stages use the kept policy, summary.json lists the alarm, exit 0 (EXIT_ALARM with --fail-on-alarm)', { timeout: 300_000 }, async () => {
    // PPO from the smoke run's SFT model and reward model, driven into the designed KL alarm: β = 0, learning rate 1,
    // one minibatch per iteration (so val/ratio is exactly 1 and cannot raise its own alarm first) and 29-token
    // responses. Iteration 0 has KL 0 (policy = reference); iteration 1 samples from the policy its step wrecked:
    // 187 nats per response on SwiftShader, 3.7× the alarm's 50.
    const args = ['--preset', 'nano', '--seed', '3', '--from', out, '--stages', 'ppo,bon,eval', '--kl-coef', '0', '--set', 'ppo.lr=1', '--set', 'ppo.miniBatches=1', '--set', 'ppo.maxResponseTokens=29'];
    const alarmed = join(dir, 'alarm');
    const [log, err] = [[] as string[], [] as string[]];
    expect(await main([...args, '--out', alarmed], (l) => log.push(l), (l) => err.push(l))).toBe(0);
    expect(err).toEqual([]);
    const written: PipelineCliSummary = JSON.parse(readFileSync(join(alarmed, 'summary.json'), 'utf8'));
    const ppo = lines(join(alarmed, 'metrics.jsonl')).filter((r: MetricRecord) => r.stage === 'ppo');
    expect(ppo.map((r: MetricRecord) => r.step)).toEqual([0, 1]);
    expect(written.alarms).toEqual([{ stage: 'ppo', step: 1, metric: 'objective/kl', value: ppo[1]['objective/kl'], message: expect.stringMatching(/^objective\/kl is \d+\.\d\d nats \(> 50\): KL blow-up/) }]);
    expect(written.alarms[0].value).toBeGreaterThan(KL_BLOWUP_THRESHOLD);
    // Printed, and the later stages ran after it.
    expect(log.join('\n')).toMatch(/== ppo stopped by an alarm at step 1: objective\/kl is [\s\S]*== bon done[\s\S]*== eval done[\s\S]*wrote /);
    expect(log.join('\n')).not.toMatch(/== ppo done/);
    // The evaluation measured the policy PPO kept (the one iteration 1 sampled from, far from SFT), not SFT itself
    // (beside the smoke run's DPO policy, which --from loaded).
    expect(Object.keys(written.policies).sort()).toEqual(['bon', 'dpo', 'ppo']);
    expect(written.policies.ppo.kl).toBeGreaterThan(KL_BLOWUP_THRESHOLD);
    // Its points up to the alarm are fitted too (two: no fit), best-of-N's from this run.
    expect(written.gao_fits.ppo).toMatchObject({ ok: false, form: 'rl', points: 2 });
    expect(Object.keys(written.gao_fits).sort()).toEqual(['bon', 'ppo']);
    expect(Number.isFinite(written.policies.ppo.win_rate)).toBe(true);
    expect(loadCheckpoint(readFileSync(join(alarmed, 'checkpoints', 'ppo.safetensors'))).head).toBeUndefined();

    // --fail-on-alarm: the same run and files, then a non-zero exit status that names the alarm.
    const failing = join(dir, 'alarm-fail');
    err.length = 0;
    expect(await main([...args, '--fail-on-alarm', '--out', failing], () => {}, (l) => err.push(l))).toBe(EXIT_ALARM);
    expect(EXIT_ALARM).not.toBe(0);
    expect(err).toEqual(['--fail-on-alarm: ppo stopped at step 1 (objective/kl)']);
    const again: PipelineCliSummary = JSON.parse(readFileSync(join(failing, 'summary.json'), 'utf8'));
    expect(again.alarms).toEqual(written.alarms);
    expect(again.policies).toEqual(written.policies);
  });

  test('GRPO and RLOO join a run as DPO does: their records, policies.grpo and policies.rloo, win rates, samples and checkpoints', { timeout: 300_000 }, async () => {
    // From the smoke run's checkpoints (SFT, the reward model, PPO and DPO), named in any order.
    const joined = join(dir, 'group');
    const opts = parsePipelineArgs(['--preset', 'nano', '--seed', '3', '--from', out, '--stages', 'eval,rloo,grpo', '--out', joined]);
    if (opts === 'help') throw new Error('unexpected help');
    const log: string[] = [];
    const written = await runPipelineCli(opts, (l) => log.push(l));
    expect(log.join('\n')).toMatch(/== grpo done[\s\S]*== rloo done[\s\S]*== eval done/);
    const metrics: MetricRecord[] = lines(join(joined, 'metrics.jsonl'));
    for (const r of metrics) {
      for (const [k, v] of Object.entries(r)) {
        if (k === 'stage' || k === 'step') continue;
        expect(isMetricName(k), `${k} is a metric of src/rlhf/metrics.ts`).toBe(true);
        expect(Number.isFinite(v), `${r.stage} ${r.step} ${k} = ${v}`).toBe(true);
      }
    }
    // Nano: 16 completions a run, 2 prompts × 4 an iteration: 2 records each; the first samples the reference's weights.
    const grpo = metrics.filter((r) => r.stage === 'grpo');
    const rloo = metrics.filter((r) => r.stage === 'rloo');
    expect([grpo.length, rloo.length]).toEqual([2, 2]);
    for (const name of ['reward', 'reward_std', 'frac_reward_zero_std', 'kl', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'entropy', 'completions/mean_length', 'objective/scores', 'objective/gold', 'objective/kl', 'policy/sqrt_kl'] as const) {
      expect(grpo[1][name], `grpo ${name}`).toBeTypeOf('number');
    }
    for (const name of ['reward', 'reward_std', 'objective/rlhf_reward', 'objective/non_score_reward', 'objective/scores', 'objective/gold', 'objective/kl'] as const) {
      expect(rloo[1][name], `rloo ${name}`).toBeTypeOf('number');
    }
    expect([grpo[0]['objective/kl'], rloo[0]['objective/kl']]).toEqual([0, 0]);
    // With rewardSource rm the training reward is the reward model's score (every nano sample misses EOS: −1 each).
    expect(grpo[0]['objective/scores']).toBeTypeOf('number');
    // The evaluation picked them up from the registry, beside the policies --from loaded.
    expect(Object.keys(written.policies).sort()).toEqual(['dpo', 'grpo', 'ppo', 'rloo']);
    const evalRecord = metrics.find((r) => r.stage === 'eval')!;
    for (const policy of ['grpo', 'rloo'] as const) {
      const p = written.policies[policy];
      for (const k of ['gold', 'win_rate', 'kl', 'proxy'] as const) expect(Number.isFinite(p[k]), `${policy} ${k}`).toBe(true);
      expect(evalRecord[`eval/win_rate_${policy}`]).toBe(p.win_rate);
      expect(evalRecord[`eval/kl_${policy}`]).toBe(p.kl);
      expect(loadCheckpoint(readFileSync(join(joined, 'checkpoints', `${policy}.safetensors`))).head).toBeUndefined();
    }
    const samples = lines(join(joined, 'samples.jsonl'));
    expect(new Set(samples.map((s) => s.policy))).toEqual(new Set(['sft', 'ppo', 'dpo', 'grpo', 'rloo']));
    // Their frontier records are fitted like any policy stage's (two points each: too few for a fit).
    expect(Object.keys(written.gao_fits).sort()).toEqual(['grpo', 'rloo']);
    // The folder stands alone: what --from gave it is copied in, so it exports (TRL here) without the folder it came from.
    for (const f of ['checkpoints/sft.safetensors', 'checkpoints/reward-model.safetensors', 'checkpoints/ppo.safetensors', 'preferences.jsonl']) {
      expect(readFileSync(join(joined, f)).equals(readFileSync(join(out, f))), f).toBe(true);
    }
    const trl = await trlFolder(readPipelineRun(joined));
    expect(new TextDecoder().decode(trl['train_trl.py'])).toMatch(/^    grpo\(policy, reward\)\n    rloo\(policy, reward\)$/m);
    expect(trl['models/reward-model/config.json']).toBeDefined();
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
    expect(o).toMatchObject({ failOnAlarm: false });
    expect(parsePipelineArgs(['--fail-on-alarm', '--seed', '2'])).toMatchObject({ failOnAlarm: true, seed: 2 }); // a switch: it takes no value
    expect(() => parsePipelineArgs(['--fail-on-alarm=yes'])).toThrow(/--fail-on-alarm takes no value/);
    const err: string[] = [];
    expect(await main(['--preset', 'nano', '--set', 'ppo.clip=7', '--out', join(dir, 'bad')], () => {}, (l) => err.push(l))).toBe(2);
    expect(err.join('\n')).toMatch(/ppo\.clip: must be in \(0, 1\], got 7/);
    expect(existsSync(join(dir, 'bad', 'summary.json'))).toBe(false);
  });

  test('--stages, --set and --help come from the stage registry: DPO is named, its settings are documented and checked', async () => {
    expect(parsePipelineArgs(['--stages', 'sft,rm,ppo,dpo,eval', '--set', 'dpo.beta=0.3', '--set', 'dpo.loss=ipo'])).toMatchObject({
      stages: ['sft', 'rm', 'ppo', 'dpo', 'eval'],
      overrides: { 'dpo.beta': '0.3', 'dpo.loss': 'ipo' },
    });
    expect(parsePipelineArgs([])).toMatchObject({ stages: ['pretrain', 'sft', 'rm', 'ppo', 'bon', 'eval'] }); // the InstructGPT recipe
    const out: string[] = [];
    expect(await main(['--help'], (l) => out.push(l))).toBe(0);
    const help = out.join('\n');
    expect(help).toMatch(/^ {2}dpo {7}DPO \(not run unless named\): /m);
    expect(help).toMatch(/^ {2}dpo\.loss +sigmoid \| ipo: /m);
    expect(help).toMatch(/^ {2}dpo\.beta +number in \(0, 100\]: /m);
    expect(help).toMatch(new RegExp(`^ {2}--fail-on-alarm +exit with status ${EXIT_ALARM} when a metric alarm stopped a stage`, 'm'));
    const err: string[] = [];
    expect(await main(['--preset', 'nano', '--set', 'dpo.loss=hinge', '--set', 'dpo.beta=0', '--out', join(dir, 'bad-dpo')], () => {}, (l) => err.push(l))).toBe(2);
    expect(err.join('\n')).toMatch(/dpo\.loss: must be one of sigmoid, ipo, got "hinge"; dpo\.beta: must be in \(0, 100\], got 0/);
  });

  test('GRPO and RLOO are named stages: --stages sft,rm,grpo,eval with --set grpo.rewardSource=verifier validates; their settings are documented and checked', async () => {
    const opts = parsePipelineArgs(['--task', 'instructions', '--stages', 'sft,rm,grpo,eval', '--set', 'grpo.rewardSource=verifier', '--set', 'grpo.groupSize=8']);
    expect(opts).toMatchObject({ task: 'instructions', stages: ['sft', 'rm', 'grpo', 'eval'], overrides: { 'grpo.rewardSource': 'verifier', 'grpo.groupSize': '8' } });
    if (opts === 'help') throw new Error('unexpected help');
    const c = makePipelineConfig(opts.preset, opts.overrides);
    expect(c.grpo).toMatchObject({ rewardSource: 'verifier', groupSize: 8, promptsPerIteration: 4, episodes: 768, epsLow: 0.2, epsHigh: 0.28, beta: 0.04, scaleRewards: 'group', lossType: 'dapo', iterations: 1 });
    expect(c.rloo).toMatchObject({ k: 4, beta: 0.05, rewardSource: 'rm' });
    // The instructions task has a verifier; sentiment has none, which the run refuses naming the field.
    expect(taskProblems(c, createTask('instructions', { seed: 1 }), { stages: opts.stages, checkpoints: [] })).toEqual([]);
    expect(taskProblems(makePipelineConfig('tiny', { 'rloo.rewardSource': 'verifier' }), createTask('sentiment', { seed: 1 }))).toEqual([
      { field: 'rloo.rewardSource', message: expect.stringMatching(/sentiment task has no verifier/) },
    ]);

    const out: string[] = [];
    expect(await main(['--help'], (l) => out.push(l))).toBe(0);
    const help = out.join('\n');
    expect(help).toMatch(/^ {2}grpo {6}GRPO \(not run unless named\): /m);
    expect(help).toMatch(/^ {2}rloo {6}RLOO \(not run unless named\): /m);
    expect(help).toMatch(/^ {2}grpo\.groupSize +integer in \[2, 64\]: /m);
    expect(help).toMatch(/^ {2}grpo\.scaleRewards +group \| batch \| none: /m);
    expect(help).toMatch(/^ {2}grpo\.lossType +grpo \| dapo \| dr_grpo: /m);
    expect(help).toMatch(/^ {2}grpo\.rewardSource +rm \| verifier \| ensemble \| gold: /m);
    expect(help).toMatch(/^ {2}rloo\.k +integer in \[2, 64\]: /m);
    expect(help).toMatch(/^ {2}rloo\.beta +number in \[0, 100\]: /m);

    const err: string[] = [];
    const bad = ['--preset', 'nano', '--set', 'grpo.lossType=ppo', '--set', 'grpo.episodes=17', '--set', 'rloo.k=1', '--out', join(dir, 'bad-grpo')];
    expect(await main(bad, () => {}, (l) => err.push(l))).toBe(2);
    expect(err.join('\n')).toMatch(/grpo\.lossType: must be one of grpo, dapo, dr_grpo, got "ppo"/);
    expect(err.join('\n')).toMatch(/rloo\.k: must be an integer in \[2, 64\], got 1/);
    expect(err.join('\n')).toMatch(/grpo\.episodes: must be a multiple of grpo\.promptsPerIteration × grpo\.groupSize \(8\), got 17/);
  });
});
