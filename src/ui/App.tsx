// The lab page. It starts the engine worker and a session (src/store/bridge.ts createLabSession) that routes every
// event it posts into the stores, records commands and events as saved data (IndexedDB), and restores the saved run
// after a reload; Restart engine replaces a crashed or hung worker with a fresh one and restores it the same way.
// The layout, top to bottom: header (title, adapter badge), alerts, lessons and the config bar (folded to one line
// while a run goes), the run row (RunControls and StageStepper beside the pipeline diagram), the charts (the running
// stage's first, with the reward-vs-√KL frontier), the stage explanation, "Latest metrics", samples, your feedback,
// the base model panel, the check in ONNX Runtime Web, export/import, the saved session and the adapter report. When a run starts, the run row
// scrolls to the top of the window, so the controls, the stepper and the live charts fill the first screen. All
// training runs in the worker, so the page stays responsive.
import { type RefObject, useContext, useEffect, useRef, useState } from 'react';
import type { PipelineStage } from '../rlhf/pipeline';
import { useFeedbackStore, useLabStore, useOnnxCheckStore } from '../store';
import { createLabSession, type LabSession } from '../store/bridge';
import { isGoing, useRunStore } from '../store/run';
import { type EngineClient, startEngine } from '../worker/client';
import { AdapterPanel } from './AdapterPanel';
import { ChartGrid } from './charts';
import { ConfigPanel } from './ConfigPanel';
import { ErrorPanel } from './ErrorPanel';
import { ExplainPanel } from './ExplainPanel';
import { rememberStageTimes } from './expected-time';
import { ExportPanel } from './ExportPanel';
import { HumanFeedbackPanel } from './HumanFeedbackPanel';
import { LessonsPanel } from './LessonsPanel';
import { MetricsTable } from './MetricsTable';
import { PolicyTable } from './PolicyTable';
import { ModelPanel } from './ModelPanel';
import { OnnxPanel } from './OnnxPanel';
import { PipelineDiagram } from './PipelineDiagram';
import { RunPanel } from './RunPanel';
import { SamplesView } from './SamplesView';
import { SavedDataPanel } from './SavedDataPanel';
import { SetupPanels } from './SetupPanels';
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
      onnx: useOnnxCheckStore,
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
    // What each stage takes here, for the next run's expected time (./expected-time.ts).
    const forgetStageTimes = rememberStageTimes(useRunStore, useLabStore);
    // Another tab asking for the lab: this one stops, saves and lets go (src/store/tab-lock.ts).
    tab?.getState().setHandover(session.handOver);
    return () => {
      forgetStageTimes();
      tab?.getState().setHandover(undefined);
      client?.terminate();
      session.dispose();
    };
  }, []);

  const busy = useRunStore((s) => isGoing(s.state));
  const runRow = useRef<HTMLDivElement>(null);
  const explanation = useRef<HTMLElement>(null);
  useRevealOnRunStart(runRow, busy);
  // A box of the diagram opens its stage's explanation, below the charts.
  const openExplanation = (stage: PipelineStage) => {
    useLabStore.getState().explainStage(stage);
    explanation.current?.scrollIntoView({ behavior: scrollBehavior(), block: 'start' });
  };

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
        <SetupPanels folded={busy}>
          <LessonsPanel />
          <ConfigPanel />
        </SetupPanels>
        <div className="run-row" ref={runRow}>
          <RunPanel />
          <PipelineDiagram onOpenStage={openExplanation} />
        </div>
        <ChartGrid />
        <ExplainPanel ref={explanation} />
        <section aria-label="Latest metrics" className="metrics-section">
          <PolicyTable />
          <MetricsTable />
        </section>
        <SamplesView />
        <HumanFeedbackPanel />
        {/* Down here, not above the run row: a run can start before the model arrives, and a line vanishing above the
            row would shift it out of view. */}
        {engine.state === 'ready' && !model && <p role="status">Loading the base model…</p>}
        {model && <ModelPanel model={model} />}
        {model && <OnnxPanel />}
        <ExportPanel />
        {session && <SavedDataPanel onClear={session.clear} />}
        {adapter && <AdapterPanel adapter={adapter} />}
      </main>
    </>
  );
}

/** Smooth scrolling, unless the reader asked for less motion. */
const scrollBehavior = (): ScrollBehavior => (window.matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth');

/**
 * When a run starts, scrolls `runRow` to the top of the window, once: the controls, the stepper and the running
 * stage's charts (drawn right under it) fill the screen. Not when the reader has scrolled past the row (a run started
 * from further down, e.g. the reward model trained on their labels), nor for a lesson's later runs: the scroll is
 * theirs then. At once, not smoothly: content above the row can still change height as the run starts (the settings
 * folding, a status line going), and during a smooth scroll the browser's scroll anchoring does not make up for it,
 * so the scroll would end with the row's top cut off.
 */
function useRevealOnRunStart(runRow: RefObject<HTMLElement | null>, busy: boolean) {
  useEffect(() => {
    const row = runRow.current;
    const lesson = useLabStore.getState().lessonRun;
    if (!busy || !row || (lesson?.state === 'running' && lesson.index > 0)) return;
    if (row.getBoundingClientRect().bottom < 0) return;
    row.scrollIntoView({ behavior: 'instant', block: 'start' });
  }, [runRow, busy]);
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
