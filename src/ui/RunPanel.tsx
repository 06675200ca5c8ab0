// The run bar: RunControls and the StageStepper wired to the worker. "Run pipeline" configures the worker from the
// config bar and starts every stage once the configuration is accepted; a stage's button runs it again alone.
// Pause/Resume/Stop/Step go straight to the worker, which acts at the next unit boundary. Run stays disabled while
// the settings have a problem, while a configuration is on its way, and while the engine is not ready. Before a run
// it says how long the run will take on this kind of adapter (./expected-time.ts).
import { useMemo } from 'react';
import type { PipelineConfig } from '../rlhf/config';
import { type LabStore, useLabStore } from '../store';
import { checkForm, type ConfigForm, formStages } from '../store/config-form';
import { DEFAULT_STAGES, type RunState, type RunStore, useRunStore } from '../store/run';
import { expectedTimeText, rememberedSeconds } from './expected-time';
import { Fold } from './Fold';
import { RunControls } from './RunControls';
import { StageStepper } from './StageStepper';

const IDLE: readonly RunState[] = ['idle', 'done', 'stopped', 'failed'];

export interface RunPanelProps {
  lab?: LabStore;
  run?: RunStore;
}

export function RunPanel({ lab = useLabStore, run = useRunStore }: RunPanelProps) {
  const state = run((s) => s.state);
  const ready = lab((s) => s.engine.state === 'ready');
  const form = lab((s) => s.form);
  const hasDataset = lab((s) => s.dataset !== undefined);
  const pending = lab((s) => s.pending !== undefined);
  const config = useMemo(() => checkForm(form).config, [form]);
  const invalid = config === undefined || (form.task === 'custom' && !hasDataset);
  const idle = IDLE.includes(state);
  const { runPipeline, runStage, send } = lab.getState();

  return (
    <section className="run-panel" aria-label="Pipeline run">
      <RunControls
        state={state}
        onRun={() => runPipeline()}
        onPause={() => send({ type: 'pause' })}
        onResume={() => send({ type: 'resume' })}
        onStop={() => send({ type: 'stop' })}
        onStep={() => send({ type: 'step' })}
        // Pause/Stop/Step need a run going, which an invalid form cannot affect; only starting a run is held back.
        disabled={!ready || (idle && (invalid || pending))}
      />
      {idle && config && <ExpectedTime lab={lab} form={form} config={config} />}
      <div className="run-note muted" aria-live="polite">
        <Fold>
          {!ready
            ? 'The run starts once the GPU engine is ready.'
            : pending
              ? 'Configuring the worker…'
              : idle && invalid
                ? 'Fix the settings marked in the configuration to run.'
                : idle
                  ? 'Runs SFT → reward model → PPO → best-of-N → evaluation in the worker (pretraining first when the preset needs its own base model). Click a stage to run it again alone.'
                  : 'Training runs in a worker: the page stays usable. Pause, step or stop at any time.'}
        </Fold>
      </div>
      <StageStepper store={run} lab={lab} onRunStage={(stage) => ready && runStage(stage)} />
    </section>
  );
}

/** How long the configured run takes on this kind of adapter, once the engine has said which kind it is. */
function ExpectedTime({ lab, form, config }: { lab: LabStore; form: ConfigForm; config: PipelineConfig }) {
  const software = lab((s) => (s.engine.state === 'ready' ? s.engine.adapter.software : undefined));
  if (software === undefined) return null;
  const stages = formStages(form) ?? DEFAULT_STAGES;
  return (
    <p className="expected-time" data-testid="expected-time">
      {expectedTimeText(config, stages, software, rememberedSeconds(form.preset, software))}
    </p>
  );
}
