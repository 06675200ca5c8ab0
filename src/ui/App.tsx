// The lab page. For now it starts the engine worker and reports the WebGPU adapter it found, or why none.
import { useEffect } from 'react';
import { useLabStore } from '../store';
import { startEngine } from '../worker/client';
import { AdapterPanel } from './AdapterPanel';

export function App() {
  const engine = useLabStore((s) => s.engine);
  useEffect(() => {
    const client = startEngine(useLabStore.getState().applyEngineEvent);
    client.send({ type: 'init' });
    return () => client.terminate();
  }, []);

  return (
    <main>
      <h1>RLHF Lab</h1>
      <p className="tagline">
        Train a small GPT with the InstructGPT recipe — pretraining, SFT, a reward model and PPO — on your own GPU.
      </p>
      {engine.state === 'starting' && <p role="status">Looking for a WebGPU adapter…</p>}
      {engine.state === 'ready' && <AdapterPanel adapter={engine.adapter} />}
      {engine.state === 'error' && (
        <section role="alert" className="error">
          <h2>{engine.kind === 'no-adapter' ? 'WebGPU is not available' : 'The GPU engine stopped'}</h2>
          <p>{engine.message}</p>
        </section>
      )}
    </main>
  );
}
