// The loaded model: its size, how it was trained (or the Hugging Face folder it came from), a prompt box to sample
// continuations from it, and the picker that makes a Hugging Face model the base.
import { type FormEvent, useState } from 'react';
import { useLabStore } from '../store';
import { TRAINING_METADATA_KEY } from '../model/checkpoint';
import { HF_SOURCE_KEY } from '../model/hf-model';
import { TOKENIZER_NAMES } from '../model/tokenizer-base';
import type { ModelInfo } from '../worker/protocol';
import { BaseModelPicker } from './BaseModelPicker';

const DEFAULT_PROMPT = 'Once upon a time';

export function ModelPanel({ model }: { model: ModelInfo }) {
  const { config, parameters, tokenizer, metadata } = model;
  const sample = useLabStore((s) => s.sample);
  const generating = useLabStore((s) => s.generating);
  const generate = useLabStore((s) => s.generate);
  const send = useLabStore((s) => s.send);
  const [typed, setTyped] = useState(DEFAULT_PROMPT);
  // Room for the continuation: a model with a short context (a small Hugging Face base) gets the prompt's start.
  const maxPromptChars = config.contextLength - 8;
  const prompt = typed.slice(0, maxPromptChars);
  const [temperature, setTemperature] = useState(0.8);
  const [seed, setSeed] = useState(1);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    generate(prompt, temperature, seed);
    setSeed((s) => s + 1); // a fresh continuation each time, reproducible from the seed shown
  };

  const folder = metadata[HF_SOURCE_KEY];
  const trained = folder === undefined ? trainingSummary(metadata[TRAINING_METADATA_KEY]) : `The Hugging Face model "${folder}".`;
  return (
    <section aria-label="Base model">
      <h2>Base model</h2>
      <p>
        {(parameters / 1e6).toFixed(2)}M parameters · {config.nLayer} layers · d {config.dModel} · {config.nHead} heads ·
        context {config.contextLength} · {TOKENIZER_NAMES[tokenizer]} tokenizer ({config.vocabSize}{' '}
        tokens)
      </p>
      {trained && <p className="muted">{trained}</p>}
      <form onSubmit={onSubmit} className="prompt-form">
        <label>
          Prompt
          <input value={prompt} onChange={(e) => setTyped(e.target.value)} maxLength={maxPromptChars} />
        </label>
        <label>
          Temperature
          <input type="number" min={0} max={2} step={0.1} value={temperature} onChange={(e) => setTemperature(Number(e.target.value))} />
        </label>
        <button type="submit" disabled={generating}>
          {generating ? 'Generating…' : 'Generate'}
        </button>
      </form>
      <p className="downloads">
        <button type="button" onClick={() => send({ type: 'export', format: 'safetensors' })}>
          Download checkpoint (safetensors)
        </button>{' '}
        <button type="button" onClick={() => send({ type: 'export', format: 'onnx' })}>
          Download ONNX
        </button>
      </p>
      <BaseModelPicker send={send} />
      {sample && (
        <figure aria-label="Sample">
          <blockquote data-testid="sample-text">
            <strong>{sample.prompt}</strong>
            {sample.text}
          </blockquote>
          <figcaption>{sample.tokensPerSecond.toFixed(0)} tokens/s</figcaption>
        </figure>
      )}
    </section>
  );
}

interface TrainingFacts {
  steps?: number;
  batch?: number;
  seq?: number;
  finalValLoss?: number;
  wallSeconds?: number;
  /** `npm run pretrain --init`: the facts of the checkpoint this run continued. */
  init?: { training?: TrainingFacts | null };
}

/**
 * One line on how the checkpoint was trained, from the facts `npm run pretrain` stores in its metadata; a run
 * continued with --init lists the runs before it too.
 */
function trainingSummary(json: string | undefined): string | undefined {
  if (!json) return undefined;
  try {
    const runs: TrainingFacts[] = [];
    for (let f: TrainingFacts | null | undefined = JSON.parse(json); f; f = f.init?.training) runs.unshift(f);
    if (!runs.every((r) => typeof r.steps === 'number')) return undefined;
    const last = runs[runs.length - 1];
    const steps = runs.reduce((s, r) => s + r.steps!, 0);
    const parts = runs.map((r) => `${r.steps} steps of ${r.batch}×${r.seq} tokens`).join(', then ');
    const seconds = runs.reduce((s, r) => s + (r.wallSeconds ?? NaN), 0);
    const loss = typeof last.finalValLoss === 'number' ? `, validation loss ${last.finalValLoss.toFixed(3)} nats/token` : '';
    const time = Number.isFinite(seconds) ? ` in ${Math.round(seconds / 60)} min` : '';
    return runs.length === 1 ? `Pretrained by this lab for ${parts}${time}${loss}.` : `Pretrained by this lab for ${steps} steps (${parts})${time}${loss}.`;
  } catch {
    return undefined; // metadata from another tool: nothing to say
  }
}
