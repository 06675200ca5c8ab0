// What went wrong, in words, never a blank page: the engine's errors (no WebGPU — with which browsers work and how to
// turn it on —, a lost device, a model that would not load, a crashed worker) and the pipeline's (a refused
// configuration with its fields, a metric alarm that stopped the run, a failed command or stage). Each is an alert
// (role="alert") naming the cause; pipeline errors can be dismissed, engine errors stay while the engine cannot go on.
// A lost device offers "Resume from autosave": the worker gets a new device and loads the checkpoints back (the same
// ones the page autosaves), and a status then says which; if that fails, reloading the page restores the autosave.
// A crashed, hung or failing engine (kind 'internal') offers "Restart engine": a fresh worker, with the autosave
// restored into it.
import { type LabStore, useLabStore } from '../store';
import { STAGE_NAMES } from '../store/run';

const ENGINE_TITLES = {
  'no-adapter': 'WebGPU is not available',
  'device-lost': 'The GPU device was lost',
  model: 'The model could not be loaded',
  internal: 'The GPU engine stopped',
} as const;

export function ErrorPanel({ store = useLabStore }: { store?: LabStore }) {
  const engine = store((s) => s.engine);
  const error = store((s) => s.pipelineError);
  const dismiss = store((s) => s.dismissPipelineError);
  const recovery = store((s) => s.recovery);
  const dismissRecovery = store((s) => s.dismissRecovery);
  return (
    <>
      {engine.state === 'error' && (
        <section role="alert" className="error" aria-label="Engine error">
          <h2>{ENGINE_TITLES[engine.kind]}</h2>
          <p>{engine.message}</p>
          {engine.kind === 'no-adapter' && <NoWebGpuHelp />}
          {engine.kind === 'device-lost' && <DeviceLostHelp store={store} />}
          {engine.kind === 'internal' && <RestartHelp store={store} />}
        </section>
      )}
      {recovery?.state === 'recovered' && (
        <section role="status" aria-label="GPU device recovered">
          <p>{recovery.message}</p>
          <button type="button" onClick={dismissRecovery}>
            Dismiss
          </button>
        </section>
      )}
      {error && (
        <section role="alert" className="error" aria-label="Pipeline error">
          <h2>{pipelineTitle(error)}</h2>
          <p>{error.message}</p>
          {error.kind === 'config' && error.problems.length > 0 && (
            <ul>
              {error.problems.map((p, i) => (
                <li key={i}>
                  <code>{p.field}</code>
                  {p.line ? ` line ${p.line}` : ''}: {p.message}
                </li>
              ))}
            </ul>
          )}
          {error.kind === 'alarm' && <p>The policy kept its last good weights: they are the PPO checkpoint, so Evaluate and the downloads use them. To train on, change the settings (a lower learning rate, a larger KL coefficient) and run again.</p>}
          <button type="button" onClick={dismiss}>
            Dismiss
          </button>
        </section>
      )}
    </>
  );
}

function pipelineTitle(error: NonNullable<ReturnType<LabStore['getState']>['pipelineError']>): string {
  switch (error.kind) {
    case 'config':
      return 'The configuration was refused';
    case 'alarm':
      return `Alarm: ${error.metric} stopped the run (${STAGE_NAMES[error.stage]}, step ${error.step})`;
    case 'pipeline':
      return 'The pipeline reported an error';
  }
}

/** Why a device goes, and the way back: a new device with the checkpoints loaded back, or failing that a reload. */
function DeviceLostHelp({ store }: { store: LabStore }) {
  const recovery = store((s) => s.recovery);
  const recoverDevice = store((s) => s.recoverDevice);
  return (
    <>
      <p>
        The browser took the GPU away (a driver reset, the tab in the background too long, or memory ran out). Resume on a new
        device: the checkpoints of the stages that finished are loaded back, so later stages run without running them again; a
        stage the loss cut short must run again.
      </p>
      <button type="button" onClick={recoverDevice} disabled={recovery?.state === 'recovering'}>
        Resume from autosave
      </button>
      {recovery?.state === 'recovering' && <p role="status">{recovery.message}</p>}
      {recovery?.state === 'failed' && <p>{recovery.message}</p>}
      {recovery === undefined && <p className="muted">Reload the page if resuming does not work: your autosaved session is restored then.</p>}
    </>
  );
}

/** The way back from a crashed or hung worker: a fresh one, with the autosaved session restored into it. */
function RestartHelp({ store }: { store: LabStore }) {
  const restartEngine = store((s) => s.restartEngine);
  return (
    <>
      <p>
        Restart the engine: a new worker starts and your autosaved session (the configuration, checkpoints and labels) is
        restored into it, so later stages run without running the finished ones again; a stage the failure cut short must run
        again. If it happens again, the message above says where.
      </p>
      <button type="button" onClick={restartEngine}>
        Restart engine
      </button>
    </>
  );
}

/** Which browsers have WebGPU and how to turn it on where it is off by default. */
function NoWebGpuHelp() {
  return (
    <div className="help">
      <p>The lab trains on your GPU through WebGPU. It works in:</p>
      <ul>
        <li>Chrome or Edge 113+ on Windows, macOS and ChromeOS; Chrome 121+ on Android.</li>
        <li>
          Chrome on Linux: enable <code>chrome://flags/#enable-unsafe-webgpu</code> (and, if needed, <code>#enable-vulkan</code>),
          then restart the browser.
        </li>
        <li>Safari 26+ on macOS, iOS and iPadOS.</li>
        <li>Firefox 141+ on Windows (other systems: <code>dom.webgpu.enabled</code> in about:config, Nightly).</li>
      </ul>
      <p>The page must come over https or from localhost. A software adapter works too, only slowly.</p>
    </div>
  );
}
