// The lab page. It starts the engine worker and routes every event it posts into the stores (src/store/bridge.ts);
// the layout, top to bottom: header (title, adapter badge), alerts, the config bar, the run bar (RunControls and
// StageStepper), the charts (with the reward-vs-√KL frontier), "Latest metrics", samples, the base model panel,
// export/import and the adapter report. All training runs in the worker, so the page stays responsive.
import { useEffect } from 'react';
import { useLabStore } from '../store';
import { routeEvent } from '../store/bridge';
import { useRunStore } from '../store/run';
import { startEngine } from '../worker/client';
import { AdapterPanel } from './AdapterPanel';
import { ChartGrid } from './charts';
import { ConfigPanel } from './ConfigPanel';
import { ErrorPanel } from './ErrorPanel';
import { ExportPanel } from './ExportPanel';
import { MetricsTable } from './MetricsTable';
import { ModelPanel } from './ModelPanel';
import { RunPanel } from './RunPanel';
import { SamplesView } from './SamplesView';

/**
 * LESSONS (placeholder for src/ui/lessons*): called with the `?lesson=…` id of the URL (undefined without one). The
 * lessons engineer replaces this hook; the form (task, preset, settings) is in useLabStore, the run in useRunStore.
 */
function useLesson(lesson: string | undefined): void {
  void lesson;
}

export function App() {
  const engine = useLabStore((s) => s.engine);
  const model = useLabStore((s) => s.model);
  const lesson = useLabStore((s) => s.form.lesson);
  useEffect(() => {
    const client = startEngine((event) =>
      routeEvent(event, {
        lab: useLabStore,
        run: useRunStore,
        // FEEDBACK / PERSISTENCE: their events (label-items, labels-stats, restored, checkpoint-data) arrive here.
        others: () => {},
      }),
    );
    useLabStore.setState({ send: client.send });
    client.send({ type: 'init' });
    return () => client.terminate();
  }, []);
  useLesson(lesson);

  const adapter = engine.state === 'ready' ? engine.adapter : engine.state === 'error' ? engine.adapter : undefined;
  return (
    <>
      <header className="page-header">
        <div>
          <h1>RLHF Lab</h1>
          <p className="tagline">
            Train a small GPT with the InstructGPT recipe — pretraining, SFT, a reward model and PPO — on your own GPU.
          </p>
        </div>
        <AdapterBadge />
      </header>
      <main>
        <ErrorPanel />
        {engine.state === 'starting' && <p role="status">Looking for a WebGPU adapter…</p>}
        {engine.state === 'ready' && !model && <p role="status">Loading the base model…</p>}
        {/* LESSONS: the lesson panel (src/ui/lessons*) goes here, above the configuration it drives. */}
        <ConfigPanel />
        <RunPanel />
        <ChartGrid />
        <section aria-label="Latest metrics" className="metrics-section">
          <MetricsTable />
        </section>
        <SamplesView />
        {/* FEEDBACK: human feedback (src/ui/FeedbackView.tsx) goes here, after the samples it ranks. */}
        {model && <ModelPanel model={model} />}
        <ExportPanel />
        {/* PERSISTENCE: saved runs (src/store/persist.ts) — wire its load/save here or in ExportPanel's neighbourhood. */}
        {adapter && <AdapterPanel adapter={adapter} />}
      </main>
    </>
  );
}

/** The header's one-line adapter state: which GPU the lab runs on, or that there is none. */
function AdapterBadge() {
  const engine = useLabStore((s) => s.engine);
  if (engine.state === 'starting') return <span className="badge">Finding a GPU…</span>;
  const adapter = engine.adapter;
  if (engine.state === 'error' && (engine.kind === 'no-adapter' || !adapter)) return <span className="badge badge-error">No WebGPU</span>;
  const name = adapter ? [adapter.vendor, adapter.architecture, adapter.device].filter(Boolean).join(' ') || 'WebGPU adapter' : 'WebGPU';
  return (
    <span className={`badge${adapter?.software ? ' badge-software' : ''}${engine.state === 'error' ? ' badge-error' : ''}`} title={adapter?.description}>
      {adapter?.software ? 'Software GPU' : 'GPU'}: {name}
    </span>
  );
}
