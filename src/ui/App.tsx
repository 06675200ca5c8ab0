// The lab page. It starts the engine worker, reports the WebGPU adapter (or why there is none), shows the
// bundled base model and lets you sample from it.
import { useEffect } from 'react';
import { useLabStore } from '../store';
import { startEngine } from '../worker/client';
import { AdapterPanel } from './AdapterPanel';
import { ModelPanel } from './ModelPanel';

const ERROR_TITLES = {
  'no-adapter': 'WebGPU is not available',
  'device-lost': 'The GPU device was lost',
  model: 'The model could not be loaded',
  internal: 'The GPU engine stopped',
} as const;

export function App() {
  const engine = useLabStore((s) => s.engine);
  const model = useLabStore((s) => s.model);
  useEffect(() => {
    const client = startEngine(useLabStore.getState().applyEngineEvent);
    useLabStore.setState({ send: client.send });
    client.send({ type: 'init' });
    return () => client.terminate();
  }, []);

  const adapter = engine.state === 'ready' ? engine.adapter : engine.state === 'error' ? engine.adapter : undefined;
  return (
    <main>
      <h1>RLHF Lab</h1>
      <p className="tagline">
        Train a small GPT with the InstructGPT recipe — pretraining, SFT, a reward model and PPO — on your own GPU.
      </p>
      {engine.state === 'starting' && <p role="status">Looking for a WebGPU adapter…</p>}
      {engine.state === 'error' && (
        <section role="alert" className="error">
          <h2>{ERROR_TITLES[engine.kind]}</h2>
          <p>{engine.message}</p>
        </section>
      )}
      {model && <ModelPanel model={model} />}
      {engine.state === 'ready' && !model && <p role="status">Loading the base model…</p>}
      {adapter && <AdapterPanel adapter={adapter} />}
    </main>
  );
}
