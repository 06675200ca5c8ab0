// Run, pause, resume, stop and single-step the pipeline. Plain buttons (Tab to reach, Enter/Space to press); each is
// enabled only where the worker accepts its command: start when no run is going, pause while running, resume and
// step while paused, stop while running or paused. While stopping everything waits for the run to end.
import type { RunState } from '../store/run';
import './run.css';

export interface RunControlsProps {
  state: RunState;
  onRun(): void;
  onPause(): void;
  onResume(): void;
  onStop(): void;
  onStep(): void;
  /** Disables everything (e.g. no GPU, or no configuration yet). */
  disabled?: boolean;
}

const IDLE: readonly RunState[] = ['idle', 'done', 'stopped', 'failed'];

export function RunControls({ state, onRun, onPause, onResume, onStop, onStep, disabled = false }: RunControlsProps) {
  const buttons = [
    { name: 'Run pipeline', onClick: onRun, enabled: IDLE.includes(state) },
    { name: 'Pause', onClick: onPause, enabled: state === 'running' },
    { name: 'Resume', onClick: onResume, enabled: state === 'paused' },
    { name: 'Stop', onClick: onStop, enabled: state === 'running' || state === 'paused' },
    { name: 'Step', onClick: onStep, enabled: state === 'paused', title: 'Run one more unit of work (an optimizer step, a PPO iteration), then pause again' },
  ];
  return (
    <div className="run-controls" role="group" aria-label="Run controls">
      {buttons.map((b) => (
        <button key={b.name} type="button" onClick={b.onClick} disabled={disabled || !b.enabled} title={b.title}>
          {b.name}
        </button>
      ))}
      <span className="run-state" aria-live="polite">
        {STATE_TEXT[state]}
      </span>
    </div>
  );
}

const STATE_TEXT: Record<RunState, string> = {
  idle: 'Not started',
  running: 'Running',
  paused: 'Paused',
  stopping: 'Stopping…',
  done: 'Done',
  stopped: 'Stopped',
  failed: 'Failed',
};
