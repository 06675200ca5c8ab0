// "Run in ONNX Runtime Web": the current policy's ONNX export continues a prompt greedily in ONNX Runtime Web beside
// the lab's own engine, on the same weights (src/store/onnx-check.ts runs the check). The panel says which policy
// it was, shows both continuations, whether they are the same, and the largest logit difference between them; a
// failure (ONNX Runtime not loading or not running, the engine refusing) is its alert. Disabled while the engine is
// busy with a run, a configuration or a lesson.
import { type FormEvent, useState } from 'react';
import { type LabStore, useLabStore, useOnnxCheckStore } from '../store';
import type { OnnxCheckResult, OnnxCheckStatus, OnnxCheckStore } from '../store/onnx-check';
import { isGoing, type RunStore, STAGE_NAMES, useRunStore } from '../store/run';
import { CHECKPOINT_STAGE, type PipelineCheckpointName } from '../worker/protocol';
import { Fold } from './Fold';

const DEFAULT_PROMPT = 'Once upon a time';

const PROGRESS: Record<Extract<OnnxCheckStatus, { prompt: string }>['state'], string> = {
  exporting: 'Exporting the policy as ONNX…',
  'onnx-runtime': 'Generating in ONNX Runtime Web (loading it the first time)…',
  engine: "Generating with the lab's engine…",
};

/** Which policy was checked, in words. */
export function policyName(model: PipelineCheckpointName | undefined): string {
  if (model === undefined) return 'the loaded base model (no policy trained yet)';
  if (model === 'base') return 'the base model this run pretrained';
  return `the ${STAGE_NAMES[CHECKPOINT_STAGE[model]]} policy`;
}

export interface OnnxPanelProps {
  lab?: LabStore;
  run?: RunStore;
  onnx?: OnnxCheckStore;
}

export function OnnxPanel({ lab = useLabStore, run = useRunStore, onnx = useOnnxCheckStore }: OnnxPanelProps) {
  const ready = lab((s) => s.engine.state === 'ready');
  const pending = lab((s) => s.pending !== undefined);
  const lessonGoing = lab((s) => s.lessonRun?.state === 'running');
  const going = run((s) => isGoing(s.state));
  const status = onnx((s) => s.status);
  const [prompt, setPrompt] = useState(DEFAULT_PROMPT);
  const checking = status.state === 'exporting' || status.state === 'onnx-runtime' || status.state === 'engine';

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    onnx.getState().check(prompt);
  };

  return (
    <section aria-label="ONNX Runtime Web">
      <h2>Run in ONNX Runtime Web</h2>
      <Fold className="muted">
        The current policy — the latest trained one, else SFT, else the base model — exported as ONNX and run by ONNX Runtime
        Web (WebAssembly, on the CPU, loaded only for this) to continue the prompt greedily, beside the lab&apos;s own engine
        (WebGPU) on the same weights. Both take the most likely token at each step, so the continuations should be the same,
        and the logits differ only by float32 rounding.
      </Fold>
      <form onSubmit={onSubmit} className="prompt-form">
        <label>
          Prompt
          <input value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        </label>
        <button type="submit" disabled={!ready || pending || lessonGoing || going || checking} title={going ? 'Available when the run has ended' : undefined}>
          {checking ? 'Running…' : 'Run in ONNX Runtime Web'}
        </button>
      </form>
      {checking && <p role="status">{PROGRESS[status.state]}</p>}
      {status.state === 'failed' && (
        <p role="alert" className="error-text">
          {status.message}
        </p>
      )}
      {status.state === 'done' && <OnnxCheckView result={status.result} />}
    </section>
  );
}

function OnnxCheckView({ result }: { result: OnnxCheckResult }) {
  const { model, prompt, onnx, engine, firstDifference, largest } = result;
  return (
    <div data-testid="onnx-check">
      <p>
        Policy: <strong data-testid="onnx-policy">{policyName(model)}</strong>
      </p>
      <Continuation testId="onnx-continuation" prompt={prompt} text={onnx.text} caption={`ONNX Runtime Web (WebAssembly): ${onnx.ids.length} tokens`} />
      <Continuation testId="engine-continuation" prompt={prompt} text={engine.text} caption={`The lab's engine (WebGPU): ${engine.ids.length} tokens`} />
      <p data-testid="onnx-agreement">
        {firstDifference === undefined ? 'The same continuation' : `The continuations differ from token ${firstDifference + 1} on`}. Largest logit
        difference: <span data-testid="onnx-logit-difference">{largest.difference.toExponential(1)}</span> (at generated token {largest.step + 1})
      </p>
    </div>
  );
}

function Continuation({ testId, prompt, text, caption }: { testId: string; prompt: string; text: string; caption: string }) {
  return (
    <figure>
      <blockquote data-testid={testId}>
        <strong>{prompt}</strong>
        {text}
      </blockquote>
      <figcaption>{caption}</figcaption>
    </figure>
  );
}
