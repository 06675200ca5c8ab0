// Supervised fine-tuning of the base model on the task's demonstrations (10% held out for the token accuracy), or
// on fresh ones from the task's generator (sft.promptSource generated; ./prompt-source.ts).
import { mixSeed, sftBatch, type SftExample } from '../../model/data';
import type { GPT } from '../../model/gpt';
import { supervisedFineTune } from '../../model/sft';
import type { Tokenizer } from '../../model/tokenizer';
import type { StageContext } from './context';
import { trainingDemonstrations } from './prompt-source';

export async function runSft(ctx: StageContext): Promise<void> {
  const c = ctx.config.sft;
  const base = ctx.need('base', 'SFT');
  const demos = ctx.task.demonstrations;
  const heldCount = Math.max(1, Math.floor(demos.length * 0.1));
  const [train, held] = [demos.slice(heldCount), demos.slice(0, heldCount)];
  const model = ctx.model(base);
  const report = ctx.progress('sft', performance.now());
  let weights;
  try {
    if (c.steps > 0) {
      await supervisedFineTune(model, ctx.tokenizer, trainingDemonstrations(ctx, c.promptSource, 23, train, held), {
        steps: c.steps,
        batchSize: c.batchSize,
        seq: c.seq,
        lr: c.lr,
        warmupSteps: c.warmup,
        seed: mixSeed(ctx.config.seed, 21),
        onStep: async (m) => {
          ctx.emit({ stage: 'sft', step: m.step, loss: m.loss, lr: m.lr, grad_norm: m.gradNorm });
          ctx.summary.sft.final_loss = m.loss;
          report(m.step + 1, c.steps);
          await ctx.control.gate();
        },
      });
    }
    const accuracy = await tokenAccuracy(model, ctx.tokenizer, held, c.batchSize, c.seq);
    ctx.summary.sft.mean_token_accuracy = accuracy.accuracy;
    ctx.emit({ stage: 'sft', step: c.steps, mean_token_accuracy: accuracy.accuracy, entropy: accuracy.entropy, 'sft/heldout_loss': accuracy.loss });
    weights = await model.params.getWeights();
  } finally {
    model.dispose();
  }
  ctx.keep('sft', weights);
}

/**
 * On the response tokens of held-out demonstrations (dropout off): the mean next-token accuracy (argmax = target),
 * the loss, and the entropy of the next-token distribution.
 */
export async function tokenAccuracy(model: GPT, tokenizer: Tokenizer, examples: readonly SftExample[], B: number, T: number): Promise<{ accuracy: number; loss: number; entropy: number }> {
  const V = model.config.vocabSize;
  let [right, total, loss, entropy] = [0, 0, 0, 0];
  model.eval();
  try {
    for (let start = 0; start < examples.length; start += B) {
      const rows = Math.min(B, examples.length - start);
      const batch = sftBatch(examples, tokenizer, rows, T, Array.from({ length: rows }, (_, i) => start + i));
      if (batch.weights.every((w) => w === 0)) continue;
      // One forward: accuracy, loss and entropy all come from the logits.
      const logits = await model.forward(batch.tokens, rows, T);
      for (let n = 0; n < rows * T; n++) {
        if (batch.weights[n] === 0) continue;
        const row = logits.subarray(n * V, (n + 1) * V);
        let best = 0;
        for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp(row[v] - row[best]);
        loss -= row[batch.targets[n]] - row[best] - Math.log(z);
        let h = 0;
        for (let v = 0; v < V; v++) {
          const lp = row[v] - row[best] - Math.log(z);
          h -= Math.exp(lp) * lp;
        }
        right += best === batch.targets[n] ? 1 : 0;
        entropy += h;
        total++;
      }
    }
  } finally {
    model.train();
  }
  return { accuracy: right / total, loss: loss / total, entropy: entropy / total };
}
