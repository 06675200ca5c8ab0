// The page's state: one zustand store built from slices. The engine slice mirrors what the worker reports (and
// resumes after a lost device: `recover`, which has the worker load its checkpoints back onto a new device); the
// sampling slice holds the base model's latest continuation; the config slice is the config bar's form (task, preset,
// hyperparameters: src/store/config-form.ts); the pipeline slice is what the page knows of the worker's pipeline
// (the accepted configuration, checkpoints that can be downloaded, the latest pipeline error, an import's problems).
// The run itself (metrics, stages, samples) lives in src/store/run.ts; src/store/bridge.ts routes every worker
// event to the right store. The lesson slice runs a lesson's steps (src/ui/lessons.ts lessonSteps) one after another:
// each sets the form to the step's configuration and runs it, the next starting when the previous run is done. A
// step after the first skips the stages whose checkpoints the worker kept from the step before (a KL sweep's later
// runs reuse the first run's SFT model and reward model), and a step a metric alarm stopped counts as finished: the
// alarm is that run's outcome, shown by the lesson rather than as the page's error. The
// saved slice is what the page says about saved data (src/store/persist.ts, wired by bridge.ts createLabSession). The
// explain slice is the stage "About the stage" explains when the reader picked one (there, or in the pipeline diagram).
// Human feedback has its own store (src/store/feedback.ts): useFeedbackStore, which reaches the worker through `send`;
// so has the check in ONNX Runtime Web (src/store/onnx-check.ts): useOnnxCheckStore.
//
// Starting a run is two commands: `configure` (validated by the worker), then `start` once the worker has echoed the
// accepted configuration — never before, so a refused configuration cannot start the previous one.
import { create } from 'zustand';
import type { AdapterReport } from '../gpu/runtime';
import type { PresetName } from '../model/config';
import type { PipelineStage } from '../rlhf/pipeline';
import { inRunOrder, type StageId } from '../rlhf/stages';
import { recordKind } from '../rlhf/tasks/custom-files';
import {
  CHECKPOINT_STAGE,
  type Command,
  type ConfigProblem,
  type ConfigureRequest,
  type CustomTaskTexts,
  type EngineErrorKind,
  type EngineEvent,
  type ErrorEvent,
  type ExportFormat,
  type ModelInfo,
  type PipelineCheckpointName,
  type PipelineConfig,
  type PipelineState,
  type TaskInfo,
} from '../worker/protocol';
import { checkForm, type ConfigForm, DEFAULT_FORM, formStages, METHOD_CHOICES } from './config-form';
import { createFeedbackStore } from './feedback';
import { createOnnxCheckStore } from './onnx-check';
import { readImportFile } from './import-file';
import type { SavedLab } from './persist';
import { STAGE_NAMES } from './run';

type ErrorKind = EngineErrorKind;

export type EngineStatus =
  | { state: 'starting' }
  | { state: 'ready'; adapter: AdapterReport }
  | { state: 'error'; kind: ErrorKind; message: string; adapter?: AdapterReport };

export interface Sample {
  prompt: string;
  text: string;
  tokensPerSecond: number;
}

/** Resuming after a lost device: going, done (what came back) or failed (then reloading the page is what is left). */
export interface Recovery {
  state: 'recovering' | 'recovered' | 'failed';
  message: string;
}

export interface EngineSlice {
  engine: EngineStatus;
  model: ModelInfo | undefined;
  recovery: Recovery | undefined;
  /** After a lost device: asks the worker for a new one with the pipeline's checkpoints loaded back (`recover`). */
  recoverDevice(): void;
  dismissRecovery(): void;
  /** After an 'internal' error (a crashed, hung or failing worker): ends the worker and starts a fresh one, into which
   * the saved session is restored. Set by the page once the worker starts (src/ui/App.tsx). */
  restartEngine: () => void;
  /** A fresh worker replaced the engine (fed by the session's restart): starting again, and the old worker's
   * configuration, checkpoints and errors are gone with it. A lesson going cannot go on. */
  onEngineRestart(): void;
  /** The engine's own events (ready, model, sample, file, recovered, engine errors). Pipeline events go through the
   * bridge. */
  applyEngineEvent(event: EngineEvent): void;
}

export interface SamplingSlice {
  sample: Sample | undefined;
  generating: boolean;
  /** Sends a command to the worker; set once the worker starts. */
  send: (command: Command) => void;
  generate(prompt: string, temperature: number, seed: number): void;
}

/** A dataset imported from a JSONL file (task 'custom'), once the worker accepted it. */
export interface ImportedDataset {
  name: string;
  /** Which of the custom task's files it became (detected from its first valid line). */
  file: keyof CustomTaskTexts;
  texts: CustomTaskTexts;
}

export interface ConfigSlice {
  form: ConfigForm;
  /** The accepted custom dataset ('custom' is a task choice only once there is one). */
  dataset: ImportedDataset | undefined;
  setTask(task: string): void;
  /** Adds an alignment method (METHOD_CHOICES) to the form's run, or takes it out. */
  setMethod(method: StageId, on: boolean): void;
  /** A new preset starts from its own values (the fields set for the old one are dropped). */
  setPreset(preset: PresetName): void;
  /** Raw input of one field; undefined goes back to the preset's value. */
  setField(path: string, raw: string | undefined): void;
  /** Replaces the whole form (from the URL). */
  setForm(form: ConfigForm): void;
}

/** A pipeline error the page shows (role="alert"): a refused configuration, an alarm, a failed command or stage. */
export type PipelineErrorInfo = { type: 'error'; kind: 'pipeline'; message: string } | Extract<ErrorEvent, { kind: 'config' }> | Extract<ErrorEvent, { kind: 'alarm' }>;

/** The pipeline's error an error event is, or undefined for the engine's own (no-adapter, device-lost, model, internal). */
export function pipelineError(event: ErrorEvent): PipelineErrorInfo | undefined {
  if (event.kind === 'config' || event.kind === 'alarm') return event;
  if (event.kind === 'pipeline') return { type: 'error', kind: 'pipeline', message: event.message };
  return undefined;
}

/** A configure on its way to the worker, and what to do once it is accepted. */
export type PendingConfigure =
  /** `reuseKept` (a lesson's later step): the stages whose checkpoints the worker kept are not run again. */
  | { purpose: 'run'; key: string; stages: PipelineStage[] | undefined; reuseKept: boolean }
  | { purpose: 'import'; key: string; dataset: ImportedDataset }
  /** The saved configuration sent again after a reload (persist.ts resume): accepted, it is the form's, not run. */
  | { purpose: 'restore'; key: string };

/** An import refused, by the worker or before (too large, unreadable, not UTF-8): its problems (line-numbered) and
 * the file's name. */
export interface ImportRefusal {
  name: string;
  /** The file the worker read it as; undefined when it was refused before reaching the worker. */
  file?: keyof CustomTaskTexts;
  message: string;
  problems: ConfigProblem[];
}

export interface PipelineSlice {
  /** The configuration the worker accepted last, its task, the form key it came from, and the checkpoints the worker
   * kept from the configuration before (their stages need not run again). */
  configured: { key: string; config: PipelineConfig; task: TaskInfo; kept: PipelineCheckpointName[] } | undefined;
  pending: PendingConfigure | undefined;
  /** Checkpoints the worker holds for export, with their sizes in bytes. */
  checkpoints: Partial<Record<PipelineCheckpointName, number>>;
  pipelineError: PipelineErrorInfo | undefined;
  importRefusal: ImportRefusal | undefined;
  /** The worker's log lines (the latest LOG_LINES). */
  log: string[];

  /** Configures from the form, then runs `stages` (all by default) once the worker accepts. */
  runPipeline(stages?: PipelineStage[]): void;
  /** Runs one stage again alone: with the pipeline as it is if the form still matches it, else configured afresh
   * (then on the checkpoints the worker kept: e.g. PPO again after a change of β, on the same SFT and reward model). */
  runStage(stage: PipelineStage): void;
  /** Configures the custom task from a JSONL file (preferences, rankings or SFT, detected by its first valid line). */
  importDataset(name: string, text: string): void;
  /** Reads a picked file (src/store/import-file.ts: size limit, strict UTF-8) and imports it, or says why not. */
  importFile(file: File): Promise<void>;
  exportFile(format: ExportFormat, model?: PipelineCheckpointName): void;
  dismissPipelineError(): void;

  // Fed by the bridge.
  onPipelineConfig(config: PipelineConfig, task: TaskInfo, kept: PipelineCheckpointName[]): void;
  onPipelineError(error: PipelineErrorInfo): void;
  onCheckpoint(name: PipelineCheckpointName, size: number): void;
  onLog(line: string): void;
}

/** One step of a lesson: a configuration (task, preset, overrides) and the stages to run with it. */
export interface LessonStepPlan {
  label: string;
  task: string;
  preset: string;
  overrides: ConfigureRequest['overrides'];
  stages: PipelineStage[];
}

/** A metric alarm that stopped a run (src/rlhf/metrics.ts checkAlarms); the policy kept its last good weights. */
export type AlarmInfo = Extract<ErrorEvent, { kind: 'alarm' }>;

/** What became of a lesson's step so far. */
export interface LessonStepResult {
  /** Stages not run again: the worker kept their checkpoints from the step before (same settings upstream). */
  reused: PipelineStage[];
  /** The alarm that ended the step's run: the step counts as finished, with this as its outcome. */
  alarm?: AlarmInfo;
}

/** A lesson going on (or ended): its steps, the one running, and how it stands. */
export interface LessonProgress {
  id: string;
  title: string;
  steps: LessonStepPlan[];
  /** The step running (or where the lesson ended). */
  index: number;
  state: 'running' | 'done' | 'stopped' | 'failed';
  /** The current step's run has started in the worker (so its end moves the lesson on). */
  started: boolean;
  /** One per step configured so far (the current one last). */
  results: LessonStepResult[];
}

export interface LessonSlice {
  lessonRun: LessonProgress | undefined;
  /** Runs a lesson's steps one after another (each configures afresh, then runs its stages). */
  startLesson(id: string, title: string, steps: LessonStepPlan[]): void;
  /** Fed by the bridge: the worker's run state (a step's end starts the next). */
  onRunState(state: PipelineState): void;
}

/** What the page says about saved data: where it goes, what is saved, what came back after a reload. */
/** How much is saved, by kind; `sweepRuns`: the finished runs of a sweep kept for the charts. */
export interface SavedDataSummary {
  metrics: number;
  samples: number;
  labels: number;
  checkpoints: number;
  sweepRuns: number;
}

export interface SavedStatus {
  /** 'loading' until the storage opened; 'memory' when IndexedDB is unavailable (nothing survives a reload). */
  storage: 'loading' | 'indexeddb' | 'memory';
  /** Why IndexedDB is not used, or why a save failed. */
  note: string | undefined;
  /** Counts of what is saved (refreshed as it saves). */
  summary: SavedDataSummary | undefined;
  /** The restore after a reload: going, done (what came back) or failed (the worker's message). */
  restore: { state: 'restoring' | 'restored' | 'failed'; message: string } | undefined;
  /** An uploaded checkpoint on its way to the worker, or its answer. */
  upload: { state: 'sending' | 'loaded' | 'failed'; message: string } | undefined;
  /** Records the restore skipped (damaged, or of a newer version), e.g. "3 metric records were damaged and skipped." */
  skipped?: string;
  /** The browser's answer to navigator.storage.persist(), asked once there is work worth keeping. */
  persistent?: boolean;
  /** This tab's connection to the saved data is gone (another version needs it, or the browser closed it): saving
   * stopped, and the note asks for a reload. */
  reloadNeeded?: boolean;
}

export interface SavedSlice {
  saved: SavedStatus;
  setSaved(changes: Partial<SavedStatus>): void;
  /** Puts the saved configuration back into the form (when the URL did not name one) and expects its echo. */
  expectRestore(saved: SavedLab, setForm: boolean): void;
  /** Sends an uploaded safetensors checkpoint to the worker as pipeline weights (`restore`). */
  uploadCheckpoint(name: PipelineCheckpointName, bytes: Uint8Array): void;
}

/** Which stage "About the stage" explains: one the reader picked (a pipeline-diagram box, a tab), else the running one. */
export interface ExplainSlice {
  explained: PipelineStage | undefined;
  /** Explains `stage`; undefined goes back to following the running stage. */
  explainStage(stage: PipelineStage | undefined): void;
}

export type LabState = EngineSlice & SamplingSlice & ConfigSlice & PipelineSlice & LessonSlice & SavedSlice & ExplainSlice;


export const LOG_LINES = 200;

export interface LabStoreOptions {
  /** Hands a file from the worker to the user (default: a browser download). */
  download?: (name: string, mime: string, bytes: Uint8Array<ArrayBuffer>) => void;
}

/** What identifies a configuration: the same key means the worker's pipeline is the form's. Overrides are compared
 * as strings in path order, so a configuration read back from saved data matches the form it came from. */
export function requestKey(request: ConfigureRequest, datasetName: string | undefined): string {
  const overrides = Object.entries(request.overrides)
    .map(([k, v]) => [k, String(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([request.task, request.preset, overrides, request.task === 'custom' ? datasetName : undefined]);
}

/** The form of a configure request (values as the inputs hold them); `stages` a run's, whose added methods it shows. */
export function requestForm(request: ConfigureRequest, lesson?: string, stages: readonly string[] = []): ConfigForm {
  const values = Object.fromEntries(Object.entries(request.overrides).map(([k, v]) => [k, String(v)]));
  const methods = METHOD_CHOICES.filter((m) => stages.includes(m.id)).map((m) => m.id);
  return { task: request.task, preset: request.preset as PresetName, values, lesson, methods };
}

/** Run states in which a run is over (the worker takes new commands). */
const ENDED: readonly PipelineState[] = ['done', 'stopped', 'failed'];

/**
 * The custom task's file a JSONL text is, from its first line that parses as a JSON object of a known kind
 * (src/rlhf/tasks/custom-files.ts recordKind): preferences {"prompt","chosen","rejected"} (or HH {"chosen",
 * "rejected"}), rankings {"prompt","completions"}, SFT {"prompt","completion"}, prompts {"prompt"}; pretraining text
 * {"text"} fits SFT and prompts files alike, so it decides only when nothing else does (then 'sft'). With none,
 * 'preferences', so the worker reports every line's problem. The worker refuses a line of any other kind.
 */
export function detectDatasetFile(text: string): keyof CustomTaskTexts {
  let hasText = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line.startsWith('{')) continue; // not an object: spares the page JSON.parse's exception for every junk line
    let o: object;
    try {
      o = JSON.parse(line);
    } catch {
      continue;
    }
    const kind = recordKind(o);
    if (kind === 'text') hasText = true;
    else if (kind !== undefined) return kind;
  }
  return hasText ? 'sft' : 'preferences';
}

export function createLabStore(options: LabStoreOptions = {}) {
  const download = options.download ?? saveFile;
  let importCount = 0;

  return create<LabState>()((set, get) => {
    /** The configure request of the current form (with the imported dataset for 'custom'). */
    const formRequest = (): { request: ConfigureRequest; key: string } | undefined => {
      const { form, dataset } = get();
      const check = checkForm(form);
      if (!check.config) return undefined;
      const request: ConfigureRequest = { task: form.task, preset: form.preset, overrides: check.overrides };
      if (form.task === 'custom') {
        if (!dataset) return undefined;
        request.custom = dataset.texts;
      }
      return { request, key: requestKey(request, dataset?.name) };
    };

    const configure = (pending: PendingConfigure, request: ConfigureRequest) => {
      set({ pending, pipelineError: undefined, importRefusal: undefined });
      get().send({ type: 'configure', ...request });
    };

    /** Configures from the form, then runs `stages` (see PendingConfigure for `reuseKept`). */
    const runForm = (stages: PipelineStage[] | undefined, reuseKept: boolean) => {
      if (get().pending) return;
      const made = formRequest();
      if (!made) {
        set({ pipelineError: { type: 'error', kind: 'config', message: 'Fix the settings marked in the configuration first.', problems: [] } });
        return;
      }
      configure({ purpose: 'run', key: made.key, stages, reuseKept }, made.request);
    };

    /** A lesson's step: the form becomes its configuration (so the page shows what runs), then it runs. */
    const runLessonStep = (index: number) => {
      const lesson = get().lessonRun!;
      const step = lesson.steps[index];
      set({ form: requestForm(step, lesson.id, step.stages), lessonRun: { ...lesson, index, started: false, results: [...lesson.results.slice(0, index), { reused: [] }] } });
      // The first step runs all its stages (the lesson shows them); later ones reuse what the worker kept.
      runForm(step.stages, index > 0);
      // The form did not make a configuration (runForm said why): the lesson cannot go on.
      if (!get().pending) set({ lessonRun: { ...get().lessonRun!, state: 'failed' } });
    };

    /** The current step is finished (`alarm`: a metric alarm ended it): the next one runs, or the lesson is done. */
    const finishLessonStep = (alarm?: AlarmInfo) => {
      const lesson = get().lessonRun!;
      const results = alarm ? lesson.results.map((r, i) => (i === lesson.index ? { ...r, alarm } : r)) : lesson.results;
      if (lesson.index + 1 >= lesson.steps.length) set({ lessonRun: { ...lesson, results, state: 'done' } });
      else {
        set({ lessonRun: { ...lesson, results } });
        runLessonStep(lesson.index + 1);
      }
    };

    return {
      engine: { state: 'starting' },
      model: undefined,
      recovery: undefined,
      recoverDevice: () => {
        if (get().recovery?.state === 'recovering') return;
        set({ recovery: { state: 'recovering', message: 'Getting a new GPU device and loading the checkpoints back…' } });
        get().send({ type: 'recover' });
      },
      dismissRecovery: () => set({ recovery: undefined }),
      restartEngine: () => {
        throw new Error('The engine worker has not started');
      },
      onEngineRestart: () => {
        const lesson = get().lessonRun;
        set({
          engine: { state: 'starting' },
          model: undefined,
          recovery: undefined,
          generating: false,
          configured: undefined,
          pending: undefined,
          checkpoints: {},
          pipelineError: undefined,
          lessonRun: lesson?.state === 'running' ? { ...lesson, state: 'failed' } : lesson,
        });
      },
      sample: undefined,
      generating: false,
      send: () => {
        throw new Error('The engine worker has not started');
      },
      generate: (prompt, temperature, seed) => {
        set({ generating: true });
        get().send({ type: 'generate', prompt, maxNewTokens: 200, temperature, seed });
      },
      applyEngineEvent: (event) => {
        switch (event.type) {
          case 'ready':
            set({ engine: { state: 'ready', adapter: event.adapter } });
            break;
          case 'model':
            set({ model: event.info });
            break;
          case 'file':
            download(event.name, event.mime, event.bytes);
            break;
          case 'sample':
            set({
              generating: false,
              sample: { prompt: event.prompt, text: event.text, tokensPerSecond: event.tokens / (event.ms / 1000) },
            });
            break;
          case 'recovered':
            set({ engine: { state: 'ready', adapter: event.adapter }, recovery: { state: 'recovered', message: recoveredMessage(event.checkpoints) } });
            break;
          case 'error': {
            // Pipeline errors (config, alarm, pipeline) belong to the pipeline's view, not to the engine's status.
            if (event.kind === 'config' || event.kind === 'alarm' || event.kind === 'pipeline') break;
            const { engine, recovery } = get();
            const adapter = engine.state === 'starting' ? undefined : engine.adapter; // kept through a second error
            // `recover` failing answers with a "recover:" device-lost error; others leave a recovery going (a command
            // refused meanwhile) and end the note of an earlier one (a new loss).
            const failed = event.kind === 'device-lost' && event.message.startsWith('recover:');
            set({
              generating: false,
              pending: undefined,
              engine: { state: 'error', kind: event.kind, message: event.message, adapter },
              recovery: failed ? { state: 'failed', message: RECOVERY_FAILED } : recovery?.state === 'recovering' ? recovery : undefined,
            });
            break;
          }
        }
      },

      // ---- config ----
      form: DEFAULT_FORM,
      dataset: undefined,
      setTask: (task) => set({ form: { ...get().form, task } }),
      setMethod: (method, on) => {
        const methods = get().form.methods.filter((m) => m !== method);
        set({ form: { ...get().form, methods: inRunOrder(on ? [...methods, method] : methods) } });
      },
      setPreset: (preset) => set({ form: { ...get().form, preset, values: {} } }),
      setField: (path, raw) => {
        const values = { ...get().form.values };
        if (raw === undefined) delete values[path];
        else values[path] = raw;
        set({ form: { ...get().form, values } });
      },
      setForm: (form) => set({ form }),

      // ---- pipeline ----
      configured: undefined,
      pending: undefined,
      checkpoints: {},
      pipelineError: undefined,
      importRefusal: undefined,
      log: [],

      runPipeline: (stages) => runForm(stages ?? formStages(get().form), false),

      runStage: (stage) => {
        if (get().pending) return;
        const made = formRequest();
        if (made && get().configured?.key === made.key) {
          set({ pipelineError: undefined });
          get().send({ type: 'start', stages: [stage] });
        } else get().runPipeline([stage]);
      },

      importDataset: (name, text) => {
        if (get().pending) return;
        const file = detectDatasetFile(text);
        const dataset: ImportedDataset = { name, file, texts: { [file]: text } };
        const { form } = get();
        const overrides = checkForm({ ...form, task: 'custom' }).overrides;
        const request: ConfigureRequest = { task: 'custom', preset: form.preset, overrides, custom: dataset.texts };
        configure({ purpose: 'import', key: requestKey(request, `${name}#${++importCount}`), dataset: { ...dataset, name: `${name}#${importCount}` } }, request);
      },

      importFile: async (file) => {
        const read = await readImportFile(file);
        if ('text' in read) get().importDataset(file.name, read.text);
        else set({ importRefusal: { name: file.name, message: read.message, problems: read.problems } });
      },

      exportFile: (format, model) => get().send(model === undefined ? { type: 'export', format } : { type: 'export', format, model }),

      dismissPipelineError: () => set({ pipelineError: undefined }),

      onPipelineConfig: (config, task, kept) => {
        const pending = get().pending;
        // A configuration accepted: the worker dropped the earlier one's results and the checkpoints it did not keep.
        const held = get().checkpoints;
        const checkpoints = Object.fromEntries(kept.flatMap((name) => (held[name] === undefined ? [] : [[name, held[name]]])));
        const common = { pending: undefined, checkpoints, pipelineError: undefined };
        const configured = (key: string) => ({ key, config, task, kept });
        if (pending?.purpose === 'import') {
          set({ ...common, configured: configured(pending.key), dataset: pending.dataset, form: { ...get().form, task: 'custom' } });
        } else if (pending?.purpose === 'run') {
          set({ ...common, configured: configured(pending.key) });
          const reused = pending.reuseKept ? kept.map((name) => CHECKPOINT_STAGE[name]) : [];
          const stages = pending.stages?.filter((s) => !reused.includes(s));
          const lesson = get().lessonRun;
          if (lesson?.state === 'running' && pending.reuseKept) {
            const results = lesson.results.map((r, i) => (i === lesson.index ? { ...r, reused: (pending.stages ?? []).filter((s) => reused.includes(s)) } : r));
            set({ lessonRun: { ...lesson, results } });
            if (stages?.length === 0) return finishLessonStep(); // everything it would run is kept
          }
          get().send(stages ? { type: 'start', stages } : { type: 'start' });
        } else if (pending?.purpose === 'restore') {
          set({ ...common, configured: configured(pending.key) });
        } else set({ ...common, configured: configured('') }); // not ours (a lesson, a restore): never matches the form
      },

      onPipelineError: (error) => {
        const pending = get().pending;
        if (error.kind === 'config' && pending?.purpose === 'import') {
          // The import was refused: the page keeps its configuration and says which lines are wrong.
          set({ pending: undefined, importRefusal: { name: displayName(pending.dataset.name), file: pending.dataset.file, message: error.message, problems: error.problems } });
          return;
        }
        // A refused configure ends what was pending: nothing will start. (Other errors, e.g. of an export, leave it.)
        const refused = error.kind === 'config' || error.message.startsWith('configure:');
        set({ pipelineError: error, pending: refused ? undefined : pending });
        const lesson = get().lessonRun;
        if (refused && lesson?.state === 'running' && !lesson.started) set({ lessonRun: { ...lesson, state: 'failed' } });
        if (refused && pending?.purpose === 'restore') get().setSaved({ restore: { state: 'failed', message: `The saved configuration was refused: ${error.message}` } });
      },

      onCheckpoint: (name, size) => set({ checkpoints: { ...get().checkpoints, [name]: size } }),

      onLog: (line) => set({ log: [...get().log.slice(-(LOG_LINES - 1)), line] }),

      // ---- lessons ----
      lessonRun: undefined,

      startLesson: (id, title, steps) => {
        if (get().pending || steps.length === 0) return;
        set({ lessonRun: { id, title, steps, index: 0, state: 'running', started: false, results: [] } });
        runLessonStep(0);
      },

      onRunState: (state) => {
        const lesson = get().lessonRun;
        if (!lesson || lesson.state !== 'running') return;
        if (state === 'running') {
          if (!lesson.started) set({ lessonRun: { ...lesson, started: true } });
          return;
        }
        // Only the end of the step's own run moves the lesson (an echo of an older state does not).
        if (!lesson.started || !ENDED.includes(state)) return;
        // A metric alarm ends the run as failed, its error just before: for a lesson that is the run's outcome (the
        // policy kept its last good weights), not the page's error. The step's stages after the stopped one still run,
        // on the kept policy (β = 0's evaluation in the KL sweep), then the lesson goes on.
        const error = get().pipelineError;
        if (state === 'failed' && error?.kind === 'alarm') {
          set({ pipelineError: undefined });
          const stages = lesson.steps[lesson.index].stages;
          const after = stages.includes(error.stage) ? stages.slice(stages.indexOf(error.stage) + 1) : [];
          if (after.length === 0) return finishLessonStep(error);
          const results = lesson.results.map((r, i) => (i === lesson.index ? { ...r, alarm: error } : r));
          set({ lessonRun: { ...lesson, results, started: false } });
          get().send({ type: 'start', stages: after });
        } else if (state === 'stopped' || state === 'failed') set({ lessonRun: { ...lesson, state } });
        else finishLessonStep();
      },

      // ---- saved data ----
      saved: { storage: 'loading', note: undefined, summary: undefined, restore: undefined, upload: undefined },

      setSaved: (changes) => set({ saved: { ...get().saved, ...changes } }),

      expectRestore: (saved, setForm) => {
        const config = saved.config;
        if (!config) return;
        const { lesson, ...request } = config;
        let dataset: ImportedDataset | undefined;
        if (request.task === 'custom') {
          if (!request.custom) return;
          const file = (Object.keys(request.custom) as (keyof CustomTaskTexts)[])[0] ?? 'preferences';
          dataset = { name: `saved dataset#${++importCount}`, file, texts: request.custom };
        }
        // The lesson named by the URL (?lesson=) stays when the saved run was not a lesson's.
        const form = setForm ? requestForm(request, lesson ?? get().form.lesson) : get().form;
        set({
          form,
          ...(dataset ? { dataset } : {}),
          pending: { purpose: 'restore', key: requestKey(request, dataset?.name) },
          saved: { ...get().saved, restore: { state: 'restoring', message: 'Restoring your saved run…' } },
        });
      },

      uploadCheckpoint: (name, bytes) => {
        set({ saved: { ...get().saved, upload: { state: 'sending', message: `Loading the ${name} checkpoint…` } } });
        get().send({ type: 'restore', checkpoints: [{ name, bytes }] });
      },

      // ---- explanation ----
      explained: undefined,
      explainStage: (stage) => set({ explained: stage }),
    };
  });
}

const RECOVERY_FAILED = 'Resuming did not work. Reload the page to start a new engine: your autosaved session (the configuration, checkpoints and labels) is restored then.';

/** What a successful `recover` brought back. */
function recoveredMessage(checkpoints: readonly PipelineCheckpointName[]): string {
  const stages = checkpoints.map((name) => STAGE_NAMES[CHECKPOINT_STAGE[name]]);
  const what = stages.length > 0 ? `the checkpoints of ${stages.join(', ')} are loaded back, so later stages run from them` : 'there were no checkpoints to load back';
  return `Resumed on a new GPU device: ${what} (a stage the loss cut short must run again).`;
}

/** An imported dataset's file name (the key carries a counter so the same file imported twice is a new dataset). */
export const displayName = (name: string) => name.replace(/#\d+$/, '');

export type LabStore = ReturnType<typeof createLabStore>;

/** The page's store. */
export const useLabStore: LabStore = createLabStore();

/** The page's human feedback, reaching the worker through the lab store's `send` (so it is recorded too). */
export const useFeedbackStore = createFeedbackStore((command) => useLabStore.getState().send(command));

/** The page's check of the current policy in ONNX Runtime Web, reaching the worker the same way. */
export const useOnnxCheckStore = createOnnxCheckStore((command) => useLabStore.getState().send(command));

/** Hands a file from the worker to the browser's download. */
function saveFile(name: string, mime: string, bytes: Uint8Array<ArrayBuffer>): void {
  const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
