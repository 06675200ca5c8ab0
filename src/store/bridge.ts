// Worker events → the page's stores, in one place. Pipeline events feed the run store (src/store/run.ts: its on*
// functions and setRunState); the accepted configuration, checkpoints, logs and pipeline errors go to the lab store's
// pipeline slice (the run state also to its lesson slice, which starts a lesson's next run); the engine's own events
// (ready, model, sample, file, engine errors) to its engine slice; every event to the feedback store and to the ONNX
// check's (src/store/onnx-check.ts). Plain functions of plain stores, so Node tests drive it with synthetic events.
// A new configuration resets the run store; when it is the next run of a sweep (a lesson with several runs) the run
// store keeps the run before it, so the charts overlay the sweep's runs.
//
// createLabSession is the page's whole connection to the worker: commands out and events in, both recorded for
// saved data (src/store/persist.ts), and the saved session restored at start-up — the configuration and checkpoints
// back into the worker, the metrics and samples back into the run store, the labels back into the worker (whose
// labels-stats refill the feedback counts), a sweep's earlier runs and the current run's label back into the run
// store (the charts overlay them again). The sweep is saved whenever the run store's keptRuns or runLabel change.
// Without IndexedDB it records into memory and says so. When a fresh worker replaces one that crashed or hung
// (Restart engine), `restart` restores the saved session into it the same way.
// Saved data's own troubles are the page's notes, never a broken page: records skipped as damaged are counted, a
// restore that throws leaves the lab usable and says so, a full storage stops saving (training goes on), a connection
// another version or the browser took away asks for a reload. Once a stage has finished, the browser is asked to keep
// the saved data (navigator.storage.persist()). `handOver` lets another tab have the lab (src/store/tab-lock.ts).
import type { Command, EngineEvent, PipelineCheckpointName, PipelineState } from '../worker/protocol';
import type { FeedbackStore } from './feedback';
import type { OnnxCheckStore } from './onnx-check';
import { type LabState, type LabStore, pipelineError, type SavedDataSummary } from './index';
import {
  createMemoryStorage,
  createPersistenceRecorder,
  DB_NAME,
  isQuotaExceeded,
  type LabStorage,
  openLabStorage,
  type PersistenceRecorder,
  type SavedLab,
  type SavedSweep,
  savedEvents,
  type StorageEvents,
} from './persist';
import { type KeptRun, MetricSeries, RUN_STAGES, type RunData, type RunStore, type SweepRun } from './run';
import { skippedNotice } from './saved-records';

export interface BridgeTargets {
  lab: LabStore;
  run: RunStore;
  /** Sees every event (it picks the feedback ones, and a new configuration drops its items). */
  feedback?: FeedbackStore;
  /** Sees every event (it picks the answers to its check, and the errors that end it). */
  onnx?: OnnxCheckStore;
  /** Events this bridge does not map (human feedback, persistence: label-items, labels-stats, restored,
   * checkpoint-data), for the views that own them. */
  others?: (event: EngineEvent) => void;
}

/** Errors that answer a feedback, saved-data or ONNX-check command: their own views show them, not the pipeline's alert. */
export const OWN_VIEW_ERROR = /^(label-request|labels|clear-labels|restore|checkpoint-data|policy-onnx|policy-greedy):|^start: the reward model needs/;

/** The sweep run a configuration's echo starts: a lesson of several runs is waiting for its step's configuration. */
function sweepRun({ lessonRun, pending, configured }: LabState): SweepRun | undefined {
  if (lessonRun?.state !== 'running' || lessonRun.started || lessonRun.steps.length < 2 || pending?.purpose !== 'run') return undefined;
  // The configuration still held is the run's that ends here (the new one's echo is being routed).
  return { label: lessonRun.steps[lessonRun.index].label, first: lessonRun.index === 0, keptConfig: configured?.config };
}

/** Routes one worker event to the stores. */
export function routeEvent(event: EngineEvent, { lab, run, feedback, onnx, others }: BridgeTargets): void {
  const r = run.getState();
  const l = lab.getState();
  feedback?.getState().applyEvent(event);
  onnx?.getState().applyEvent(event);
  switch (event.type) {
    case 'pipeline-config':
      // A new configuration: the worker dropped the earlier run's results, so the page does too (a sweep's next run
      // keeps them for its charts).
      r.reset(sweepRun(l));
      // The stages the run will run (a lesson step's, or the form's methods added to the recipe): the stepper's and charts'.
      if (l.pending?.purpose === 'run' && l.pending.stages) r.setPlan(l.pending.stages);
      l.onPipelineConfig(event.config, event.task, event.kept);
      return;
    case 'pipeline-state': {
      // A failed run's cause came just before as an error event (an alarm or a stage's error).
      const error = event.state === 'failed' ? l.pipelineError?.message : undefined;
      r.setRunState(event.state, event.stage, error, event.state === 'failed' && l.pipelineError?.kind === 'alarm');
      l.onRunState(event.state);
      return;
    }
    case 'stage':
      r.onStage(event.stage, event.state, event.seconds);
      return;
    case 'metrics':
      r.onMetrics(event.records);
      return;
    case 'progress':
      r.onProgress({ stage: event.stage, done: event.done, total: event.total, etaSeconds: event.etaSeconds });
      return;
    case 'episodes':
      r.onEpisodes(event.stage, event.iteration, event.episodes);
      return;
    case 'samples':
      r.onSamples(event.samples);
      return;
    case 'summary':
      r.onSummary(event.summary);
      return;
    case 'checkpoint':
      l.onCheckpoint(event.name, event.size);
      return;
    case 'log':
      l.onLog(event.line);
      return;
    case 'error': {
      const pipeline = pipelineError(event);
      if (pipeline?.kind === 'pipeline' && OWN_VIEW_ERROR.test(pipeline.message)) others?.(event);
      else if (pipeline) l.onPipelineError(pipeline);
      else {
        l.applyEngineEvent(event);
        // A lost device or a crashed engine cannot go on: a run it had going is over (a model error leaves it be).
        const going = r.state === 'running' || r.state === 'paused' || r.state === 'stopping';
        if (going && (event.kind === 'device-lost' || event.kind === 'internal')) r.setRunState('failed', undefined, event.message);
      }
      return;
    }
    case 'ready':
    case 'model':
    case 'sample':
    case 'file':
    case 'recovered':
      l.applyEngineEvent(event);
      return;
    default:
      others?.(event);
  }
}

// ---- the page's session: commands, events, saved data ------------------------------------------------------------

export interface LabSessionOptions {
  lab: LabStore;
  run: RunStore;
  feedback?: FeedbackStore;
  onnx?: OnnxCheckStore;
  /** Reaches the worker. */
  worker: (command: Command) => void;
  /** Opens the saved-data storage (default: IndexedDB, openLabStorage, telling `events`); if it fails the session
   * keeps memory. */
  openStorage?: (events: StorageEvents) => Promise<LabStorage>;
  /** Asked to keep the saved data (default navigator.storage; absent: not asked). */
  storageManager?: Pick<StorageManager, 'persist' | 'persisted'>;
  /** The URL named a configuration: the form keeps it (the saved one is still restored into the worker). */
  keepForm?: boolean;
}

export interface LabSession {
  /** Page → worker, recorded. The lab store's `send`. */
  send(command: Command): void;
  /** Worker → page: recorded, then routed to the stores. */
  onEvent(event: EngineEvent): void;
  /** Opens the storage, restores the saved session (if any), and records from then on. Never throws. */
  start(): Promise<void>;
  /**
   * A fresh worker now takes the commands in place of one that crashed or hung: the stores forget the old worker's
   * pipeline, what it never answered is forgotten, and the saved session is restored into the new worker as after a
   * reload (the form stays as it is). Never throws.
   */
  restart(): Promise<void>;
  /** Wipes the saved data (what the page shows stays). */
  clear(): Promise<void>;
  /** Resolves when every write so far has finished. */
  flushed(): Promise<void>;
  /** Another tab takes the lab over: stops a run that is going (as Stop does, at its next unit), waits for it to end
   * and for everything it made to be saved (checkpoint bytes too, HANDOVER_SAVE_MS at most), then disposes. */
  handOver(): Promise<void>;
  /** Closes the storage (the page is going). */
  dispose(): void;
}

/** How long a handover waits for the last saves (a worker that died never sends the checkpoint bytes it was asked for). */
const HANDOVER_SAVE_MS = 30_000;

export const STORAGE_FULL_NOTE =
  "Saving stopped: the browser's storage for this page is full. Training goes on, and the session saved before stays as it was. Free some space (Clear saved data, or other sites' data) and the next run you configure is saved again.";
const BLOCKED_NOTE =
  'RLHF Lab is open in another tab of an older version, which holds on to the saved data: close or reload that tab to open your saved session here.';
const CLOSED_NOTES: Record<'versionchange' | 'terminated', string> = {
  versionchange: 'A newer version of RLHF Lab opened in another tab and needs the saved data: this tab stopped saving. Reload it to go on.',
  terminated: 'The browser closed the saved data (its site data was cleared, or the disk failed): this tab stopped saving. Reload it to go on.',
};

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

const counts = (s: SavedLab): SavedDataSummary => ({
  metrics: s.metrics.length,
  samples: s.samples.length,
  labels: s.labels.length,
  checkpoints: s.checkpoints.length,
  sweepRuns: s.sweep?.runs.length ?? 0,
});

const ENDED: readonly PipelineState[] = ['done', 'stopped', 'failed'];

/** The run store's sweep as saved data. */
const sweepToSave = ({ runLabel, keptRuns }: RunData): SavedSweep => ({
  runLabel,
  runs: keptRuns.map(({ label, series, frontier, config }) => ({ label, series: series.toColumns(), frontier, config })),
});

/** A saved sweep's runs as the run store keeps them. */
const savedKeptRuns = (sweep: SavedSweep): KeptRun[] => sweep.runs.map(({ label, series, frontier, config }) => ({ label, series: MetricSeries.fromColumns(series), frontier, config }));

const hasSweep = ({ runLabel, keptRuns }: RunData) => runLabel !== undefined || keptRuns.length > 0;

/** A restore on its way to the worker: who sent it and the sizes of its checkpoints (for the download buttons). */
interface RestoreSent {
  origin: 'resume' | 'upload';
  sizes: Partial<Record<PipelineCheckpointName, number>>;
  saved?: SavedLab;
}

export function createLabSession({
  lab,
  run,
  feedback,
  onnx,
  worker,
  openStorage = (events) => openLabStorage(DB_NAME, events),
  storageManager = globalThis.navigator?.storage,
  keepForm = false,
}: LabSessionOptions): LabSession {
  let storage: LabStorage | undefined;
  let recorder: PersistenceRecorder | undefined;
  let disposed = false;
  // What passed before the storage opened, for the recorder once it is there (in the order it happened).
  const early: ({ command: Command } | { event: EngineEvent })[] = [];
  // The saved run waiting for its configuration's echo (which resets the run store) before it is shown again.
  let refill: SavedLab | undefined;
  const restores: RestoreSent[] = [];
  // Set while a saved sweep is put back into the run store: it is saved already.
  let restoringSweep = false;
  let unsubscribeSweep: (() => void) | undefined;

  const targets: BridgeTargets = { lab, run, feedback, onnx };
  const route = (event: EngineEvent) => routeEvent(event, targets);

  const toWorker = (origin: RestoreSent['origin'], saved?: SavedLab) => (command: Command) => {
    if (command.type === 'restore') {
      const sizes = Object.fromEntries((command.checkpoints ?? []).map((c) => [c.name, c.bytes.byteLength]));
      restores.push({ origin, sizes, saved });
    }
    worker(command);
  };
  const fromPage = toWorker('upload');

  /** The saved metrics and samples into the run store (not recorded again: they are saved already). */
  const showSaved = (saved: SavedLab) => {
    for (const event of savedEvents(saved)) route(event);
    const r = run.getState();
    const stages = RUN_STAGES.filter((s) => saved.metrics.some((m) => m.stage === s));
    for (const stage of stages) r.onStage(stage, 'done');
    r.flush();
    if (saved.sweep) {
      const kept = savedKeptRuns(saved.sweep);
      restoringSweep = true;
      r.restoreSweep(saved.sweep.runLabel, kept);
      restoringSweep = false;
    }
  };

  // The saved-data counts, re-read after writes (one read at a time; requests meanwhile make one more).
  let reading = false;
  let again = false;
  const refreshSummary = async () => {
    if (!storage || !recorder || disposed) return;
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        await recorder.flushed();
        if (disposed) return;
        lab.getState().setSaved({ summary: counts(await storage.load()) });
      } while (again);
    } catch (e) {
      lab.getState().setSaved({ note: `Could not read the saved data: ${message(e)}` });
    } finally {
      reading = false;
    }
  };

  // Set once the connection to the saved data is gone: its note asks for a reload, and failing writes add nothing.
  let connectionLost = false;
  const storageEvents: StorageEvents = {
    blocked: () => lab.getState().setSaved({ note: BLOCKED_NOTE }),
    closed: (why) => {
      connectionLost = true;
      lab.getState().setSaved({ note: CLOSED_NOTES[why], reloadNeeded: true });
    },
  };
  const saveFailed = (e: unknown) => {
    if (!connectionLost) lab.getState().setSaved({ note: isQuotaExceeded(e) ? STORAGE_FULL_NOTE : `Saving failed: ${message(e)}` });
  };
  /** A restore that threw (saved data the page cannot take): the lab goes on afresh and says so. */
  const restoreFailed = (e: unknown) => {
    refill = undefined;
    if (lab.getState().pending?.purpose === 'restore') lab.setState({ pending: undefined });
    const why = `Your saved run could not be restored (${message(e)}): the lab starts afresh, and the saved data stays until a new run replaces it or you clear it.`;
    lab.getState().setSaved({ restore: { state: 'failed', message: why } });
  };
  // The browser is asked to keep the saved data once, when a stage has finished with IndexedDB saving it; not when it
  // said at start that it keeps it already.
  let persistenceAsked = false;
  const askToPersist = async () => {
    if (persistenceAsked || !storageManager || lab.getState().saved.storage !== 'indexeddb') return;
    persistenceAsked = true;
    try {
      lab.getState().setSaved({ persistent: await storageManager.persist() });
    } catch {
      // No answer: the panel says nothing about it.
    }
  };
  const showKeptAlready = async () => {
    try {
      if (!(await storageManager?.persisted())) return;
      persistenceAsked = true;
      lab.getState().setSaved({ persistent: true });
    } catch {
      // No answer: asked after the first finished stage.
    }
  };

  const afterEvent = (event: EngineEvent) => {
    const l = lab.getState();
    switch (event.type) {
      case 'stage':
        if (event.state === 'done') void askToPersist();
        break;
      case 'pipeline-config':
        if (refill) {
          const saved = refill;
          refill = undefined;
          try {
            showSaved(saved);
          } catch (e) {
            restoreFailed(e);
            break;
          }
          if (saved.checkpoints.length === 0 && saved.labels.length === 0) {
            l.setSaved({ restore: { state: 'restored', message: `Restored your saved run: ${saved.metrics.length} metric records, ${saved.samples.length} samples (no checkpoints were saved).` } });
          }
        }
        void refreshSummary();
        break;
      case 'restored': {
        const sent = restores.shift();
        for (const name of event.checkpoints) {
          const size = sent?.sizes[name];
          if (size !== undefined) l.onCheckpoint(name, size);
        }
        const names = event.checkpoints.length > 0 ? event.checkpoints.join(', ') : 'none';
        if (sent?.origin === 'upload') {
          l.setSaved({ upload: { state: 'loaded', message: `Loaded the ${names} checkpoint as the pipeline's weights: later stages run from it.` } });
        } else {
          const s = sent?.saved;
          const what = s ? `${s.metrics.length} metric records, ${s.samples.length} samples, ` : '';
          l.setSaved({ restore: { state: 'restored', message: `Restored your saved run: ${what}${event.rankings} labels; checkpoints loaded: ${names}.` } });
        }
        break;
      }
      case 'error':
        if (event.kind === 'pipeline' && event.message.startsWith('restore:')) {
          const sent = restores.shift();
          if (sent?.origin === 'upload') l.setSaved({ upload: { state: 'failed', message: event.message } });
          else l.setSaved({ restore: { state: 'failed', message: `Your saved run could not be restored: ${event.message}` } });
        } else if (event.kind === 'config' && refill) {
          // The saved configuration was refused: its run (and sweep) is not shown, so the saved sweep is the page's.
          refill = undefined;
          recorder?.sweep(sweepToSave(run.getState()));
        }
        break;
      case 'pipeline-state':
        if (ENDED.includes(event.state)) void refreshSummary();
        break;
      case 'labels-stats':
      case 'checkpoint-data':
        void refreshSummary();
        break;
    }
  };

  /** Records from now on into `store` (what passed before first); its `resume` restores `saved`. */
  const record = (store: LabStorage, saved: SavedLab): PersistenceRecorder => {
    const rec = createPersistenceRecorder(store, toWorker('resume', saved), saveFailed);
    recorder = rec;
    for (const x of early.splice(0)) 'command' in x ? rec.command(x.command) : rec.event(x.event);
    return rec;
  };

  /** Puts `saved` back into the worker and the stores (`setForm`: the form too), unless the page has started
   * something of its own meanwhile. */
  const restoreSaved = (rec: PersistenceRecorder, saved: SavedLab, setForm: boolean) => {
    const l = lab.getState();
    const anything =
      saved.config !== undefined || saved.sweep !== undefined || saved.metrics.length + saved.samples.length + saved.labels.length + saved.checkpoints.length > 0;
    if (!anything || l.configured || l.pending) {
      // Not restored: the page's own sweep (none, most likely) replaces the saved one.
      if (saved.sweep || hasSweep(run.getState())) rec.sweep(sweepToSave(run.getState()));
      return;
    }
    try {
      if (saved.config) {
        l.expectRestore(saved, setForm);
        refill = saved;
      } else showSaved(saved);
      rec.resume(saved);
    } catch (e) {
      restoreFailed(e);
    }
  };

  const dispose = () => {
    disposed = true;
    unsubscribeSweep?.();
    storage?.close();
  };

  return {
    send(command) {
      if (recorder) recorder.command(command);
      else early.push({ command });
      fromPage(command);
    },
    onEvent(event) {
      if (recorder) recorder.event(event);
      else early.push({ event });
      route(event);
      afterEvent(event);
    },
    async start() {
      let saved: SavedLab;
      try {
        storage = await openStorage(storageEvents);
        saved = await storage.load();
        if (disposed) return storage.close();
        // (The note goes: it may have said that older tabs held the opening up.)
        lab.getState().setSaved({ storage: 'indexeddb', summary: counts(saved), skipped: skippedNotice(saved.skipped), note: undefined });
        void showKeptAlready();
      } catch (e) {
        if (disposed) return;
        storage = createMemoryStorage();
        saved = await storage.load();
        // VersionError: a newer version of the lab upgraded the database since this page loaded.
        const why = (e as { name?: unknown } | null)?.name === 'VersionError' ? 'a newer version of RLHF Lab saved data here; reload to use it' : message(e);
        lab.getState().setSaved({
          storage: 'memory',
          summary: counts(saved),
          note: `IndexedDB is unavailable here (${why}), so this session is kept in memory only: a reload starts afresh.`,
        });
      }
      const rec = record(storage, saved);
      unsubscribeSweep = run.subscribe((s, prev) => {
        if (!restoringSweep && (s.keptRuns !== prev.keptRuns || s.runLabel !== prev.runLabel)) recorder?.sweep(sweepToSave(s));
      });
      restoreSaved(rec, saved, !keepForm);
    },
    async restart() {
      lab.getState().onEngineRestart();
      // Restores and a configuration on their way to the old worker will never be answered.
      restores.length = 0;
      refill = undefined;
      const old = recorder;
      if (!storage || !old) return; // start() has not restored yet: it will, into the new worker
      // A recorder of its own for the new worker (the old one waits for answers that will never come); what passes
      // meanwhile waits in `early`.
      recorder = undefined;
      let saved: SavedLab = { config: undefined, metrics: [], samples: [], labels: [], checkpoints: [] };
      try {
        await old.flushed();
        saved = await storage.load();
      } catch (e) {
        lab.getState().setSaved({ note: `Could not read the saved data: ${message(e)}` });
      }
      if (disposed) return;
      restoreSaved(record(storage, saved), saved, false);
    },
    async clear() {
      if (!storage || !recorder) throw new Error('the saved data is not open yet');
      await recorder.flushed();
      await storage.clear();
      lab.getState().setSaved({ summary: { metrics: 0, samples: 0, labels: 0, checkpoints: 0, sweepRuns: 0 }, restore: undefined });
    },
    flushed: () => recorder?.flushed() ?? Promise.resolve(),
    async handOver() {
      const going = () => ['running', 'paused', 'stopping'].includes(run.getState().state);
      if (going()) {
        if (run.getState().state !== 'stopping') fromPage({ type: 'stop' });
        await new Promise<void>((resolve) => {
          const unsubscribe = run.subscribe(() => {
            if (going()) return;
            unsubscribe();
            resolve();
          });
        });
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([recorder?.settled(), new Promise((resolve) => (timer = setTimeout(resolve, HANDOVER_SAVE_MS)))]);
      clearTimeout(timer);
      dispose();
    },
    dispose,
  };
}
