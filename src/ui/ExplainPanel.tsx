// "About the stage", below the charts: what the selected stage does, why, what healthy looks like, its formulas (the
// reward-model loss for the reward model, the KL-penalised reward, PPO's clipped surrogate and the PPO-ptx objective
// for PPO) and the metrics to watch (src/ui/Explain.tsx). It follows the running stage; the buttons here (and the
// pipeline diagram's boxes) pick another to read about (the lab store's `explained`).
import { type Ref, useEffect } from 'react';
import { type LabStore, useLabStore } from '../store';
import { RUN_STAGES, type RunStore, STAGE_NAMES, useRunStore } from '../store/run';
import { Explain } from './Explain';

export interface ExplainPanelProps {
  lab?: LabStore;
  run?: RunStore;
  ref?: Ref<HTMLElement>;
}

export function ExplainPanel({ lab = useLabStore, run = useRunStore, ref }: ExplainPanelProps) {
  const stage = run((s) => s.stage);
  const running = run((s) => (s.state === 'running' || s.state === 'paused' ? s.stage : undefined));
  const chosen = lab((s) => s.explained);
  const { explainStage } = lab.getState();
  // A stage that starts takes over from the one picked.
  useEffect(() => {
    if (running) explainStage(undefined);
  }, [running, explainStage]);
  const shown = chosen ?? stage ?? 'sft';

  return (
    <section className="explain-panel" aria-label="Stage explanation" ref={ref}>
      <h2>About the stage</h2>
      <div className="explain-tabs" role="group" aria-label="Explain a stage">
        {RUN_STAGES.map((s) => (
          <button key={s} type="button" aria-pressed={s === shown} aria-label={`Explain ${STAGE_NAMES[s]}`} onClick={() => explainStage(s)}>
            {STAGE_NAMES[s]}
          </button>
        ))}
      </div>
      <Explain stage={shown} />
    </section>
  );
}
