// The loaded model: its size, how it was trained, and a prompt box to sample continuations from it.
import { type FormEvent, useState } from 'react';
import { useLabStore } from '../store';
import { TRAINING_METADATA_KEY } from '../model/checkpoint';
import type { ModelInfo } from '../worker/protocol';

const DEFAULT_PROMPT = 'Once upon a time';

export function ModelPanel({ model }: { model: ModelInfo }) {
  const { config, parameters, tokenizer, metadata } = model;
  const sample = useLabStore((s) => s.sample);
  const generating = useLabStore((s) => s.generating);
  const generate = useLabStore((s) => s.generate);
  const send = useLabStore((s) => s.send);
  const [prompt, setPrompt] = useState(DEFAULT_PROMPT);
  const [temperature, setTemperature] = useState(0.8);
  const [seed, setSeed] = useState(1);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    generate(prompt, temperature, seed);
    setSeed((s) => s + 1); // a fresh continuation each time, reproducible from the seed shown
  };

  const trained = trainingSummary(metadata[TRAINING_METADATA_KEY]);
  return (
    <section aria-label="Base model">
      <h2>Base model</h2>
      <p>
        {(parameters / 1e6).toFixed(2)}M parameters · {config.nLayer} layers · d {config.dModel} · {config.nHead} heads ·
        context {config.contextLength} · {tokenizer === 'char' ? 'character' : 'byte-level BPE'} tokenizer ({config.vocabSize}{' '}
        tokens)
      </p>
      {trained && <p className="muted">{trained}</p>}
      <form onSubmit={onSubmit} className="prompt-form">
        <label>
          Prompt
          <input value={prompt} onChange={(e) => setPrompt(e.target.value)} maxLength={config.contextLength - 8} />
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

/** One line on how the checkpoint was trained, from the facts `npm run pretrain` stores in its metadata. */
function trainingSummary(json: string | undefined): string | undefined {
  if (!json) return undefined;
  try {
    const f = JSON.parse(json) as { steps?: number; batch?: number; seq?: number; finalValLoss?: number; wallSeconds?: number };
    if (typeof f.steps !== 'number') return undefined;
    const loss = typeof f.finalValLoss === 'number' ? `, validation loss ${f.finalValLoss.toFixed(3)} nats/token` : '';
    const time = typeof f.wallSeconds === 'number' ? ` in ${Math.round(f.wallSeconds / 60)} min` : '';
    return `Pretrained by this lab for ${f.steps} steps of ${f.batch}×${f.seq} tokens${time}${loss}.`;
  } catch {
    return undefined; // metadata from another tool: nothing to say
  }
}
