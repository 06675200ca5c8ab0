// The lab page. It starts the engine worker and a session (src/store/bridge.ts createLabSession) that routes every
// event it posts into the stores, records commands and events as saved data (IndexedDB), and restores the saved run
// after a reload; Restart engine replaces a crashed or hung worker with a fresh one and restores it the same way.
// The layout, top to bottom: header (title, adapter badge), alerts, lessons, the config bar, the run
// bar (RunControls and StageStepper) beside the running stage's explanation, the charts (with the reward-vs-√KL
// frontier), "Latest metrics", samples, your feedback, the base model panel, export/import, the saved session and
// the adapter report. All training runs in the worker, so the page stays responsive.
import { useContext, useEffect, useState } from 'react';
import { useFeedbackStore, useLabStore } from '../store';
import { createLabSession, type LabSession } from '../store/bridge';
import { useRunStore } from '../store/run';
import { type EngineClient, startEngine } from '../worker/client';
import { AdapterPanel } from './AdapterPanel';
import { ChartGrid } from './charts';
import { ConfigPanel } from './ConfigPanel';
import { ErrorPanel } from './ErrorPanel';
import { ExplainPanel } from './ExplainPanel';
import { ExportPanel } from './ExportPanel';
import { HumanFeedbackPanel } from './HumanFeedbackPanel';
import { LessonsPanel } from './LessonsPanel';
import { MetricsTable } from './MetricsTable';
import { ModelPanel } from './ModelPanel';
import { RunPanel } from './RunPanel';
import { SamplesView } from './SamplesView';
import { SavedDataPanel } from './SavedDataPanel';
import { LabTabContext } from './TabGate';

/** Whether the URL the page opened with names a configuration (a shared link): the form keeps it after a restore.
 * Read before the config bar rewrites the URL. */
const URL_NAMES_CONFIG = ((q) => q.has('task') || q.has('preset'))(new URLSearchParams(typeof window === 'undefined' ? '' : window.location.search));

export function App() {
  const engine = useLabStore((s) => s.engine);
  const model = useLabStore((s) => s.model);
  const [session, setSession] = useState<LabSession>();
  const tab = useContext(LabTabContext);
  useEffect(() => {
    let client: EngineClient | undefined;
    const session = createLabSession({
      lab: useLabStore,
      run: useRunStore,
      feedback: useFeedbackStore,
      worker: (command) => client?.send(command),
      keepForm: URL_NAMES_CONFIG,
    });
    const connect = () => {
      client = startEngine(session.onEvent);
      session.send({ type: 'init' });
    };
    connect();
    useLabStore.setState({
      send: session.send,
      restartEngine: () => {
        client?.terminate();
        // restart() resets the stores at once, before the new worker can answer; the saved session goes after init.
        void session.restart();
        connect();
      },
    });
    void session.start();
    setSession(session);
    // Another tab asking for the lab: this one stops, saves and lets go (src/store/tab-lock.ts).
    tab?.getState().setHandover(session.handOver);
    return () => {
      tab?.getState().setHandover(undefined);
      client?.terminate();
      session.dispose();
    };
  }, []);

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
        <LessonsPanel />
        <ConfigPanel />
        <div className="run-row">
          <RunPanel />
          <ExplainPanel />
        </div>
        <ChartGrid />
        <section aria-label="Latest metrics" className="metrics-section">
          <MetricsTable />
        </section>
        <SamplesView />
        <HumanFeedbackPanel />
        {model && <ModelPanel model={model} />}
        <ExportPanel />
        {session && <SavedDataPanel onClear={session.clear} />}
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
