// The pipeline's stages in run order with their state, a progress bar and the time left (or taken). Each stage's
// name is a button that runs that stage again alone (with the earlier stages' outputs); the buttons are disabled
// while a run is going, since the worker refuses a second start. A stage that has not run in this configuration but
// whose checkpoint the worker kept from the one before (e.g. SFT and the reward model after a change of β) reads
// "kept": later stages run on its output. A stage a metric alarm stopped reads "stopped by an alarm" (amber, not
// red): it kept its last good weights, and later stages can run on them (the KL sweep's β = 0 run ends so). A policy
// stage whose reward is the gold oracle (rewardSource "gold") carries the mark "(gold oracle: upper bound)".
import { formatDuration } from './charts/format';
import { type LabState, type LabStore, useLabStore } from '../store';
import { type RunStore, STAGE_NAMES, type StageState, useRunStore } from '../store/run';
import type { PipelineStage } from '../rlhf/pipeline';
import { policyLabel } from '../rlhf/stages';
import { CHECKPOINT_STAGE } from '../worker/protocol';
import './run.css';

const STATE_TEXT: Record<StageState | 'kept', string> = {
  pending: 'pending',
  running: 'running',
  done: 'done',
  skipped: 'skipped',
  failed: 'failed',
  alarm: 'stopped by an alarm',
  kept: 'kept',
};

/** The checkpoints the worker kept from the previous configuration. */
const keptCheckpoints = (s: LabState) => s.configured?.kept;

export interface StageStepperProps {
  /** Runs one stage again, alone. */
  onRunStage(stage: PipelineStage): void;
  store?: RunStore;
  /** Where the kept checkpoints are known (the accepted configuration). */
  lab?: LabStore;
}

export function StageStepper({ onRunStage, store = useRunStore, lab = useLabStore }: StageStepperProps) {
  const stages = store((s) => s.stages);
  // The stages this run is to run (the recipe, plus the methods chosen); others start outside it only when asked.
  const plan = store((s) => s.plan);
  const progress = store((s) => s.progress);
  const run = store((s) => s.state);
  const kept = lab(keptCheckpoints)?.map((name) => CHECKPOINT_STAGE[name]) ?? [];
  // A policy trained on the gold oracle is marked as the upper bound it is.
  const config = lab((s) => s.configured?.config);
  const busy = run === 'running' || run === 'paused' || run === 'stopping';

  return (
    <ol className="stage-stepper" aria-label="Pipeline stages">
      {plan.map((stage) => {
        const { seconds } = stages[stage];
        const state = stages[stage].state === 'pending' && kept.includes(stage) ? 'kept' : stages[stage].state;
        const p = progress[stage];
        const name = STAGE_NAMES[stage];
        const label = policyLabel(stage, config);
        // A finished stage shows a full bar; one not yet reported an empty one.
        const [now, max] = state === 'done' || state === 'skipped' || state === 'kept' ? [1, 1] : p && p.total > 0 ? [p.done, p.total] : [0, 1];
        const eta = state === 'running' && p?.etaSeconds !== undefined ? `ETA ${formatDuration(p.etaSeconds)}` : undefined;
        const took = state === 'done' && seconds !== undefined ? `took ${formatDuration(seconds)}` : undefined;
        const valueText = state === 'done' || state === 'skipped' ? state : state === 'kept' ? 'kept from the previous configuration' : p ? `${p.done} of ${p.total}` : 'not started';
        return (
          <li key={stage} className={`stage stage-${state}`} data-stage={stage} aria-current={state === 'running' ? 'step' : undefined}>
            <button type="button" onClick={() => onRunStage(stage)} disabled={busy} title={`Run ${name} again, alone`}>
              {name}
              {label !== name && <small className="stage-oracle"> {label.slice(name.length + 1)}</small>}
            </button>
            <span className="stage-state">{STATE_TEXT[state]}</span>
            <div
              className="stage-progress"
              role="progressbar"
              aria-label={`${name} progress`}
              aria-valuemin={0}
              aria-valuemax={max}
              aria-valuenow={now}
              aria-valuetext={valueText}
            >
              <div className="stage-progress-fill" style={{ width: `${(100 * now) / max}%` }} />
            </div>
            <span className="stage-eta">{eta ?? took ?? ' '}</span>
          </li>
        );
      })}
    </ol>
  );
}
