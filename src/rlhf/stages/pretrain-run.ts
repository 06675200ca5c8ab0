// Pretraining from scratch on the bundled corpus (nano, small; tiny ships a base model).
import { encodeCorpus, pretrain } from '../../model/pretrain';
import { PRETRAIN_ROW_TOKENS } from '../batch-sizes';
import type { StageContext } from './context';

export async function runPretrain(ctx: StageContext): Promise<void> {
  if (!ctx.corpus) throw new Error('pretrain needs a corpus (no base checkpoint fits this preset)');
  const c = ctx.config.pretrain;
  const report = ctx.progress('pretrain', performance.now());
  const controller = new AbortController();
  const result = await pretrain(ctx.rt, {
    config: ctx.modelConfig,
    tokenizer: ctx.tokenizer,
    ids: encodeCorpus(ctx.corpus, ctx.tokenizer),
    steps: c.steps,
    batchSize: c.batchSize,
    seqLen: Math.min(PRETRAIN_ROW_TOKENS, ctx.modelConfig.contextLength),
    maxLr: c.lr,
    warmupSteps: Math.min(20, Math.floor(c.steps / 10)),
    seed: ctx.config.seed,
    evalEvery: 0,
    finalEvalBatches: 4,
    signal: controller.signal,
    onStep: async (m) => {
      ctx.emit({ stage: 'pretrain', step: m.step, loss: m.loss, lr: m.lr, grad_norm: m.gradNorm });
      report(m.step + 1, c.steps);
      try {
        await ctx.control.gate();
      } catch (e) {
        controller.abort();
        throw e;
      }
    },
  });
  ctx.keep('base', result.weights);
}
