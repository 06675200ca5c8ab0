// Evaluation: SFT and every trained policy of the run answer the same held-out prompts (one sample each, the same
// seed); the gold reward judges each policy against SFT (win rate, 95% Wilson interval), beside its mean proxy score
// (when a reward model was trained) and its KL to SFT on its own samples; where the task has a verifier, each
// policy's exact-answer rate too (eval/verifier_rate_<policy>, summary policies.<policy>.verifier_rate, SFT's as
// policies.sft), and with eval.passK = k each one's pass@k and pass@1 over k more samples a prompt (the same seed for
// every policy). One record holds it all.
import { mixSeed } from '../../model/data';
import type { GPT } from '../../model/gpt';
import { compareByGold, type PolicySamples, sampleKL, samplePolicy } from '../evaluate';
import { sampleResponses } from '../reward-model';
import type { MetricRecord } from '../metrics';
import type { PolicyEvaluation } from '../pipeline';
import type { StageContext } from './context';
import { TRAINED_POLICY_STAGES } from './index';

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function runEvaluation(ctx: StageContext): Promise<void> {
  const sftWeights = ctx.need('sft', 'evaluation');
  const policies = TRAINED_POLICY_STAGES.filter((s) => ctx.weights[s.writes!]);
  if (policies.length === 0) throw new Error(`evaluation needs a trained policy: run ${TRAINED_POLICY_STAGES.map((s) => s.id).join(' or ')} first`);
  const prompts = ctx.task.prompts.heldout.slice(0, ctx.config.eval.prompts);
  const rmWeights = ctx.weights['reward-model'];
  const options = { ...ctx.rules, seed: mixSeed(ctx.config.seed, 71), gold: ctx.task.gold };
  const record = { stage: 'eval', step: 0 } as MetricRecord & Record<string, number>;
  const rm = rmWeights && ctx.model(rmWeights, 'score');
  const sftModel = ctx.model(sftWeights);
  const toRecords = (s: PolicySamples, policy: string) =>
    s.responses.map((response, i) => ({ prompt: s.prompts[i], response, policy, proxy: s.proxy[i], gold: Number.isFinite(s.gold[i]) ? s.gold[i] : null }));
  const put = (name: string, value: number) => {
    if (Number.isFinite(value)) record[name] = value;
  };
  const verifier = ctx.task.verifier;
  /** The share of the samples that are exactly right (the task's verifier), where it has one. */
  const verifierRate = (s: PolicySamples) => (verifier ? mean(s.responses.map((r, i) => verifier(s.prompts[i], r))) : undefined);
  /** With eval.passK = k and a verifier: pass@k (some of k answers to a prompt is exact) and pass@1 (the exact share of them). */
  const passAtK = async (model: GPT): Promise<{ k: number; one: number } | undefined> => {
    const k = ctx.config.eval.passK;
    if (!verifier || k === 0) return undefined;
    const s = await sampleResponses(model, ctx.tokenizer, prompts, k, { maxResponseTokens: ctx.rules.maxResponseTokens, temperature: 1, seed: mixSeed(ctx.config.seed, 73), onBatch: () => ctx.control.gate() });
    const exact = s.texts.map((answers, i) => answers.map((a) => verifier(prompts[i], a)));
    return { k: mean(exact.map((e) => Math.max(...e))), one: mean(exact.map(mean)) };
  };
  const passText = (p: { k: number; one: number } | undefined) => (p ? `pass@${ctx.config.eval.passK} ${p.k.toFixed(3)}, pass@1 ${p.one.toFixed(3)}` : '');
  try {
    const sft = await samplePolicy(sftModel, rm, ctx.tokenizer, prompts, options);
    ctx.events.samples?.(toRecords(sft, 'sft'));
    put('eval/proxy_sft', mean(sft.proxy));
    if (ctx.task.gold) put('eval/gold_sft', mean(sft.gold));
    const sftRate = verifierRate(sft);
    const sftPass = await passAtK(sftModel);
    if (sftRate !== undefined) {
      put('eval/verifier_rate_sft', sftRate);
      ctx.summary.policies.sft = { gold: ctx.task.gold ? mean(sft.gold) : null, win_rate: null, win_ci: null, kl: 0, proxy: rm ? mean(sft.proxy) : null, verifier_rate: sftRate };
    }
    if (sftPass) {
      put('eval/pass_at_k_sft', sftPass.k);
      put('eval/pass_at_1_sft', sftPass.one);
      Object.assign(ctx.summary.policies.sft!, { pass_at_k: sftPass.k, pass_at_1: sftPass.one });
      ctx.events.log?.(`evaluation: SFT ${passText(sftPass)}`);
    }
    for (const stage of policies) {
      await ctx.control.gate();
      let model: GPT | undefined = ctx.model(ctx.weights[stage.writes!]!);
      let samples: PolicySamples;
      let kl: number;
      let pass: { k: number; one: number } | undefined;
      try {
        samples = await samplePolicy(model, rm, ctx.tokenizer, prompts, options);
        kl = mean(await sampleKL(model, sftModel, samples));
        pass = await passAtK(model);
      } finally {
        model.dispose();
        model = undefined;
      }
      ctx.events.samples?.(toRecords(samples, stage.id));
      const result: PolicyEvaluation = { gold: null, win_rate: null, win_ci: null, kl, proxy: rm ? mean(samples.proxy) : null };
      put(`eval/kl_${stage.id}`, kl);
      put(`eval/proxy_${stage.id}`, result.proxy ?? NaN);
      if (ctx.task.gold) {
        const w = compareByGold(samples, sft);
        Object.assign(result, { gold: mean(samples.gold), win_rate: w.winRate, win_ci: w.ci });
        put(`eval/win_rate_${stage.id}`, w.winRate);
        put(`eval/win_rate_lo_${stage.id}`, w.ci[0]);
        put(`eval/win_rate_hi_${stage.id}`, w.ci[1]);
        put(`eval/gold_${stage.id}`, mean(samples.gold));
      }
      const rate = verifierRate(samples);
      if (rate !== undefined) {
        result.verifier_rate = rate;
        put(`eval/verifier_rate_${stage.id}`, rate);
      }
      if (pass) {
        Object.assign(result, { pass_at_k: pass.k, pass_at_1: pass.one });
        put(`eval/pass_at_k_${stage.id}`, pass.k);
        put(`eval/pass_at_1_${stage.id}`, pass.one);
      }
      ctx.summary.policies[stage.id] = result;
      // A stage with its own summary section (PPO's, from before there were several policies) gets the figures there too.
      const section = (ctx.summary as unknown as Record<string, Record<string, unknown> | undefined>)[stage.id];
      if (section && ctx.task.gold) Object.assign(section, { gold_sft: mean(sft.gold), [`gold_${stage.id}`]: result.gold, win_rate: result.win_rate, win_rate_ci: result.win_ci });
      ctx.events.log?.(
        `evaluation: ${stage.name} win rate ${result.win_rate?.toFixed(3) ?? 'n/a'} over SFT, gold ${result.gold?.toFixed(3) ?? 'n/a'} (SFT ${ctx.task.gold ? mean(sft.gold).toFixed(3) : 'n/a'}), KL ${kl.toFixed(2)} nats` +
          (rate !== undefined ? `, exact answers ${rate.toFixed(3)} (SFT ${sftRate!.toFixed(3)})` : '') +
          (pass ? `, ${passText(pass)}` : ''),
      );
    }
  } finally {
    sftModel.dispose();
    rm?.dispose();
  }
  ctx.emit(record);
}
