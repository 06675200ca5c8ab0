// Beside the stage stepper: what the selected stage does, why, what healthy looks like, its formulas (the reward-model
// loss for the reward model, the KL-penalised reward, PPO's clipped surrogate and the PPO-ptx objective for PPO) and
// the metrics to watch (src/ui/Explain.tsx). It follows the running stage; the buttons pick another to read about.
import { useEffect, useState } from 'react';
import type { PipelineStage } from '../rlhf/pipeline';
import { RUN_STAGES, type RunStore, STAGE_NAMES, useRunStore } from '../store/run';
import { Explain } from './Explain';

export function ExplainPanel({ run = useRunStore }: { run?: RunStore }) {
  const stage = run((s) => s.stage);
  const running = run((s) => (s.state === 'running' || s.state === 'paused' ? s.stage : undefined));
  const [chosen, setChosen] = useState<PipelineStage | undefined>();
  // A stage that starts takes over from the one picked.
  useEffect(() => {
    if (running) setChosen(undefined);
  }, [running]);
  const shown = chosen ?? stage ?? 'sft';

  return (
    <section className="explain-panel" aria-label="Stage explanation">
      <h2>About the stage</h2>
      <div className="explain-tabs" role="group" aria-label="Explain a stage">
        {RUN_STAGES.map((s) => (
          <button key={s} type="button" aria-pressed={s === shown} aria-label={`Explain ${STAGE_NAMES[s]}`} onClick={() => setChosen(s)}>
            {STAGE_NAMES[s]}
          </button>
        ))}
      </div>
      <Explain stage={shown} />
    </section>
  );
}
