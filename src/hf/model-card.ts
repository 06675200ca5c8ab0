// The README.md model card of a Hugging Face folder (./folder.ts): what the model is, how to load and feed it, and
// how the lab made it — task, stages, hyperparameters, measured metrics, seed, command or page settings — from the
// checkpoint's own metadata (`npm run pretrain` facts, the pipeline's {task, stage, seed}) and, when the caller
// knows the run (the page, `--trl`), its configuration and summary.
import { type Checkpoint, TRAINING_METADATA_KEY } from '../model/checkpoint';
import { parameterCount } from '../model/config';
import type { Tokenizer } from '../model/tokenizer';
import { TOKENIZER_NAMES } from '../model/tokenizer-base';
import type { AppendedPad } from './tokenizer-json';
import type { PipelineConfig } from '../rlhf/config';
import { CHECKPOINT_STAGE, inRunOrder, STAGE_NAMES, stageById } from '../rlhf/stages';

/** What the caller knows of the pipeline run that wrote a checkpoint. */
export interface RunFacts {
  config: PipelineConfig;
  /** The stages the run ran (ids). */
  stages: readonly string[];
  /** summary.json, when the run has one. */
  summary?: Record<string, unknown>;
  /** How it was started: the command line, or the page's settings in words. */
  origin: string;
}

export interface CardFacts {
  checkpoint: Checkpoint;
  name: string;
  tokenizer: Tokenizer;
  reward: boolean;
  /** The reward model's score bias (centring included), folded into ln_f.bias. */
  scoreBias: number | undefined;
  /** The padding token a reward-model folder adds when the tokenizer pads with its EOS (folder.ts). */
  ownPad?: AppendedPad;
  member: { index: number; of: number } | undefined;
  run: RunFacts | undefined;
}

const PIPELINE_METADATA_KEY = 'rlhf_lab.pipeline';

export function modelCard(f: CardFacts): string {
  const { config } = f.checkpoint;
  const { bos, eos, sep } = f.tokenizer.special;
  const pad = f.ownPad?.id ?? f.tokenizer.special.pad;
  const cls = f.reward ? 'GPT2ForSequenceClassification' : 'GPT2LMHeadModel';
  const lines = [
    '---',
    'library_name: transformers',
    `pipeline_tag: ${f.reward ? 'text-classification' : 'text-generation'}`,
    'tags: [rlhf-lab, gpt2]',
    '---',
    `# RLHF Lab: ${f.name}${f.member ? ` (member ${f.member.index} of a ${f.member.of}-model reward ensemble)` : ''}`,
    '',
    `A ${cls} (${parameterCount(config).toLocaleString('en-US')} parameters: ${config.nLayer} layers, d ${config.dModel}, ${config.nHead} heads, context ${config.contextLength}, vocabulary ${config.vocabSize}${f.ownPad ? ` + the padding token ${f.ownPad.id}` : ''}) exported by RLHF Lab.`,
    '',
    '## Input format',
    '',
    `The ${TOKENIZER_NAMES[f.tokenizer.kind]} tokenizer gives the lab's ids on any text and adds no special tokens; special-token strings in text stay text (\`split_special_tokens: true\`). The lab lays a prompt and its response out as`,
    '',
    `    [BOS ${bos}] prompt tokens [SEP ${sep}] response tokens [EOS ${eos}]   (right-padded with PAD ${pad})`,
    '',
    '```python',
    'import torch',
    `from transformers import AutoTokenizer, ${f.reward ? 'AutoModelForSequenceClassification' : 'AutoModelForCausalLM'}`,
    'tok = AutoTokenizer.from_pretrained(DIR)',
    `model = ${f.reward ? 'AutoModelForSequenceClassification' : 'AutoModelForCausalLM'}.from_pretrained(DIR)`,
    ...(f.reward
      ? [
          'ids = [tok.bos_token_id] + tok(prompt)["input_ids"] + [tok.sep_token_id] + tok(response)["input_ids"] + [tok.eos_token_id]',
          'score = model(torch.tensor([ids])).logits[0, 0]  # the lab\'s reward',
        ]
      : [
          'ids = [tok.bos_token_id] + tok(prompt)["input_ids"] + [tok.sep_token_id]',
          'out = model.generate(torch.tensor([ids]), max_new_tokens=24)  # sampling, stops at EOS (generation_config.json)',
          'print(tok.decode(out[0, len(ids):], skip_special_tokens=True))',
        ]),
    '```',
    '',
  ];
  if (f.reward) {
    lines.push(
      '## Score',
      '',
      `The score is read at the last non-PAD token (the EOS), as the lab reads it.${f.ownPad ? ` The base model's tokenizer pads with its EOS, which transformers would then skip as padding, so this folder adds a padding token of its own, \`${f.ownPad.content}\` (id ${f.ownPad.id}, a zero embedding row): pad batches with it (the tokenizer's pad_token), never with the EOS.` : ''} The lab's score head has a bias (${f.scoreBias}, which includes the offset that makes the demonstrations score 0 on average); transformers' score layer has none, so the bias is folded into \`ln_f.bias\`: β' = β + b·w/(w·w), which adds exactly b to w·LN_f(x) for every input (float32 rounding aside). The folder's score equals the lab's; its \`last_hidden_state\` differs from the lab's final LayerNorm output by that constant vector. Nothing needs to be added to the score.`,
      '',
    );
  }
  lines.push('## How it was made', '', ...provenance(f), '');
  return `${lines.join('\n')}\n`;
}

/** Task, stages, hyperparameters, metrics, seed and command, from what the checkpoint and the caller know. */
function provenance(f: CardFacts): string[] {
  const out: string[] = [];
  const training = parse(f.checkpoint.metadata[TRAINING_METADATA_KEY]);
  if (training) {
    out.push('Pretrained with `npm run pretrain` (next-token prediction on the bundled corpus):', '');
    for (let t: Record<string, unknown> | undefined = training; t; t = (t.init as { training?: Record<string, unknown> } | undefined)?.training ?? undefined) {
      out.push(`- \`${String(t.command)}\``);
      out.push(`  steps ${t.steps}, batch ${t.batch}, seq ${t.seq}, lr ${t.lr}, warmup ${t.warmup}, seed ${t.seed}; final train loss ${fmt(t.finalTrainLoss)}, validation loss ${fmt(t.finalValLoss)} (nats/token), corpus ${t.corpus}`);
    }
    out.push('');
  }
  const pipeline = parse(f.checkpoint.metadata[PIPELINE_METADATA_KEY]);
  const run = f.run;
  if (!pipeline && !run) {
    if (!training) out.push('The checkpoint carries no record of its training.');
    return out;
  }
  const stage = CHECKPOINT_STAGE[String(pipeline?.stage ?? f.name)];
  out.push(`Task: ${String(run?.config.task ?? pipeline?.task)}; seed ${String(run?.config.seed ?? pipeline?.seed)}; written by the ${stage ? STAGE_NAMES[stage] : String(pipeline?.stage)} stage.`);
  if (!run) return out;
  const stages = inRunOrder(run.stages);
  const upTo = stage ? stages.slice(0, stages.indexOf(stage) + 1) : stages;
  out.push(`Stages run: ${stages.map((s) => STAGE_NAMES[s]).join(' → ')}. Started by: ${run.origin}.`, '', '### Hyperparameters', '', `Preset ${run.config.preset}. The settings of the stages that led to this model:`, '');
  const sections = run.config as unknown as Record<string, Record<string, unknown>>;
  for (const s of upTo) {
    for (const { section } of stageById(s).config ?? []) out.push(`- ${section}: ${Object.entries(sections[section]).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')}`);
  }
  const measured = stage && run.summary ? (run.summary[stage] ?? (run.summary.policies as Record<string, unknown> | undefined)?.[stage]) : undefined;
  if (measured !== undefined) out.push('', '### Measured (summary.json)', '', '```json', JSON.stringify(measured, null, 2), '```');
  return out;
}

function parse(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // a card is still written from what can be read
  }
}

const fmt = (x: unknown) => (typeof x === 'number' ? x.toFixed(3) : 'n/a');
