// The engine behind the worker's protocol (./protocol): owns the GPU runtime, the bundled base model and the RLHF
// pipeline (src/rlhf/pipeline.ts), answers Commands with Events. It is plain TypeScript with no worker globals, so
// the same code runs in the page's Web Worker (./engine.worker.ts, a thin wrapper) and in Node tests; what differs
// between the two — where the GPU and the bundled files come from — is the EngineHost.
//
// The pipeline: `configure` validates a configuration (makePipelineConfig) and its task (createTask, or importTask
// for custom JSONL files) and keeps both; nothing changes when it is refused. Of the previous configuration's
// checkpoints it keeps those the new settings would make the same (src/rlhf/config.ts stagesStillValid), so a KL
// sweep's runs, which differ only in ppo.*, share one SFT model and reward model. `start` runs the configured
// pipeline's stages (a new Pipeline per configuration, starting from the kept checkpoints as its weights; a later
// `start` can re-run one stage with the earlier stages' outputs); it resolves when the run ends, and a run's failure
// is reported as events (an 'error', then state 'failed'), never thrown, so the engine is never left wedged.
// pause/resume/step/stop act at unit boundaries (an optimizer step, a PPO iteration, a stage start) through
// PipelineControl.
//
// What the page keeps of a run for export: the checkpoints (latest per name), the configuration's metric records (a
// stage run again replaces its own) and evaluation samples (the latest per policy), and the pipeline's preference
// rankings — the same files `npm run pipeline` writes (src/cli/pipeline.ts).
//
// Human feedback (InstructGPT's labelers, Ouyang et al. 2022 §3.4, played by the person at the page):
// `label-request` samples completions of a few training prompts from the current policy and keeps them by id;
// `labels` turns the person's orders of them into source 'human' rankings, and `labels-stats` reports how often
// their pairs agree with the hidden gold reward (computed here: the gold never leaves the worker). `start` with
// `humanLabels` hands the rankings to the reward-model stage (pipeline.humanLabels), alone ('replace', the UI's
// "Train reward model on my labels") or with the simulated ones ('merge'); PPO against that reward model then
// follows the person's preference. Human rankings are kept across `configure` while the task stays the same.
// `restore` loads saved checkpoints (src/store/persist.ts) back as the pipeline's weights, to resume after a reload.
//
// A lost device (driver reset, the tab in the background too long, memory ran out) is reported as a 'device-lost'
// error the moment it happens, and ends a run going (as failed, even one paused at a gate); commands that need the
// GPU are then refused with the same error. `recover` asks the host for a new device and rebuilds the base model and
// the pipeline on it, loading the checkpoints the engine keeps (CPU-side bytes, the same the page autosaves) back as
// the pipeline's weights: what a loss takes is only the progress of the stage that was running.
import { DeviceLostError, type GpuRuntime, NoAdapterError } from '../gpu';
import { loadCheckpoint, saveCheckpoint, TRAINING_METADATA_KEY } from '../model/checkpoint';
import { parameterCount, type PresetName } from '../model/config';
import { mixSeed, shuffledIndices } from '../model/data';
import { generateText } from '../model/generate';
import { GPT } from '../model/gpt';
import { type Tokenizer, tokenizerFromJSON } from '../model/tokenizer';
import { exportGptOnnx } from '../onnx/gpt-export';
import { DEFAULT_STAGES, TRAINED_POLICY_STAGES } from '../rlhf/stages';
import { makePipelineConfig, type PipelineConfig, PipelineConfigError, stagesStillValid } from '../rlhf/config';
import { type MetricRecord, metricsToCsv } from '../rlhf/metrics';
import {
  createPipeline,
  type HumanLabelMode,
  type Pipeline,
  PipelineAlarmError,
  PipelineControl,
  type PipelineEvents,
  type PipelineStage,
  PipelineStopped,
  type Progress,
  type SampleRecord,
  STAGES,
} from '../rlhf/pipeline';
import { PreferenceDataset, type Ranking, rankingProblem } from '../rlhf/preferences';
import { sampleResponses } from '../rlhf/reward-model';
import { createTask, importTask, type Task, TASK_IDS, type TaskId, TaskImportError } from '../rlhf/tasks';
import {
  BASE_MODEL_PATH,
  type Command,
  type ConfigProblem,
  type ConfigureRequest,
  CORPUS_PATH,
  type EngineEvent,
  type ErrorEvent,
  type ExportFormat,
  type GenerateRequest,
  type CheckpointBytes,
  CHECKPOINT_STAGE,
  type Label,
  type LabelItem,
  MAX_LABEL_K,
  MIN_LABEL_K,
  type PipelineCheckpointName,
  type PipelineState,
  type TaskInfo,
  withLatestSamples,
} from './protocol';

/** What differs between the page's worker and Node. */
export interface EngineHost {
  /** A GPU runtime (called at first use, and again by `recover` after the device was lost; the engine keeps it). */
  runtime(): Promise<GpuRuntime>;
  /** A bundled file by its path under public/ (e.g. BASE_MODEL_PATH); throws when it cannot be read. */
  asset(path: string): Promise<Uint8Array>;
}

export interface Engine {
  /**
   * Carries out one command, posting its events; failures are posted as 'error' events and the promise does not
   * reject. `start` resolves when its run has ended (done, stopped or failed); the other pipeline commands act on a
   * running `start` immediately, so do not wait for it before sending them.
   */
  handle(command: Command): Promise<void>;
}

export type Post = (event: EngineEvent, transfer?: Transferable[]) => void;

/** The bundled base model could not be read or is broken. */
class ModelLoadError extends Error {}

/** A pipeline command that cannot be carried out now (start while running, export of what does not exist yet). */
class PipelineCommandError extends Error {}

/** `recover` could not get a new device (reported as 'device-lost': the engine is still without one). */
class RecoverError extends Error {}

/** `configure` was refused; `problems` name the fields (or the custom files' lines). */
class ConfigureError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(`the pipeline configuration was refused: ${problems.map((p) => `${p.field}${p.line ? ` line ${p.line}` : ''}: ${p.message}`).join('; ')}`);
  }
}

/** The error event for `e`; `fallback` is the kind of anything not recognised. */
function errorEvent(e: unknown, fallback: 'internal' | 'pipeline'): ErrorEvent {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof ConfigureError) return { type: 'error', kind: 'config', message, problems: e.problems };
  if (e instanceof PipelineAlarmError) return { type: 'error', kind: 'alarm', message, metric: e.alarm.metric, stage: e.stage, step: e.step };
  const kind =
    e instanceof NoAdapterError
      ? 'no-adapter'
      : e instanceof DeviceLostError || e instanceof RecoverError
        ? 'device-lost'
        : e instanceof ModelLoadError
          ? 'model'
          : e instanceof PipelineCommandError
            ? 'pipeline'
            : fallback;
  return { type: 'error', kind, message };
}

/** Metric records and the latest progress, posted together at most every `intervalMs` (and on flush()). */
class Batcher {
  private records: MetricRecord[] = [];
  private latest: Progress | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private last = -Infinity;

  constructor(
    private readonly post: Post,
    private readonly intervalMs = 100,
  ) {}

  metric(record: MetricRecord): void {
    this.records.push(record);
    this.schedule();
  }

  progress(p: Progress): void {
    this.latest = p;
    this.schedule();
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.last = performance.now();
    if (this.records.length > 0) {
      const records = this.records;
      this.records = [];
      this.post({ type: 'metrics', records });
    }
    if (this.latest) {
      const { stage, done, total, etaSeconds } = this.latest;
      this.latest = undefined;
      this.post({ type: 'progress', stage, done, total, etaSeconds });
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, this.last + this.intervalMs - performance.now()));
  }
}

const jsonl = (items: readonly unknown[]) => items.map((x) => `${JSON.stringify(x)}\n`).join('');

function taskInfo(task: Task): TaskInfo {
  return {
    id: task.id,
    title: task.title,
    description: task.description,
    trainPrompts: task.prompts.train.length,
    heldoutPrompts: task.prompts.heldout.length,
    demonstrations: task.demonstrations.length,
    preferences: task.preferences?.length ?? 0,
    hasGold: task.gold !== undefined,
  };
}

/**
 * How a person's rankings agree with a gold reward: over every pair of every ranking (better, worse), the pairs whose
 * gold scores are ordered the same way (`agree`) among those whose gold scores differ (`counted`; ties say nothing).
 */
export function goldAgreementOf(rankings: readonly Ranking[], gold: ((prompt: string, response: string) => number) | undefined): { pairs: number; counted: number; agree: number; agreement: number | null } {
  let [pairs, counted, agree] = [0, 0, 0];
  for (const r of rankings) {
    const g = gold ? r.completions.map((c) => gold(r.prompt, c)) : [];
    for (let i = 0; i < r.completions.length; i++) {
      for (let j = i + 1; j < r.completions.length; j++) {
        pairs++;
        if (!gold || g[i] === g[j]) continue;
        counted++;
        if (g[i] > g[j]) agree++;
      }
    }
  }
  return { pairs, counted, agree, agreement: counted > 0 ? agree / counted : null };
}

/** The gold order (indices best → worst) of a ranking's completions, ties in completion order. */
function goldOrder(r: Ranking, gold: (prompt: string, response: string) => number): number[] {
  const g = r.completions.map((c) => gold(r.prompt, c));
  return g.map((_, i) => i).sort((a, b) => g[b] - g[a] || a - b);
}

/** Items a `label-request` may ask for at once. */
export const MAX_LABEL_ITEMS = 64;

const isCheckpointName = (name: string): name is PipelineCheckpointName => Object.hasOwn(CHECKPOINT_STAGE, name);

/** Makes a checkpoint's weights the pipeline's weights of that name. */
function useWeights(p: Pipeline, name: PipelineCheckpointName, weights: Record<string, Float32Array>): void {
  p.weights[name] = weights;
}

/** Commands that run on the GPU: after a loss they are refused with it until `recover` has a new device. */
const GPU_COMMANDS: ReadonlySet<Command['type']> = new Set(['init', 'generate', 'start', 'label-request']);

export function createEngine(post: Post, host: EngineHost): Engine {
  let runtime: Promise<GpuRuntime> | undefined;
  /** Set when the runtime's device was lost, until `recover` replaced it. */
  let lost: DeviceLostError | undefined;
  /** A `recover` replacing the device; a second one waits for it. */
  let recovering: Promise<void> | undefined;
  let loaded: { model: GPT; tokenizer: Tokenizer; metadata: Record<string, string> } | undefined;
  const assets = new Map<string, Promise<Uint8Array>>();

  // The pipeline: its configuration, the Pipeline made from it at the first start, the run going on.
  let configured: { config: PipelineConfig; task: Task } | undefined;
  let pipeline: Pipeline | undefined;
  let running = false;
  /** Resolves when the latest run has ended (done, stopped or failed). */
  let runEnded: Promise<void> = Promise.resolve();
  let stopping = false;
  let state: PipelineState = 'idle';
  let stage: PipelineStage | undefined;
  // Kept for export: checkpoints of this configuration (latest per name, and those kept from the previous one; a new
  // Pipeline starts from them); the configuration's metrics and samples (a stage run again replaces its own).
  const checkpoints = new Map<PipelineCheckpointName, Uint8Array>();
  /** The rankings the reward-model checkpoint was trained on (for a new Pipeline that starts from it). */
  let rmRankings: Pipeline['rankings'];
  let metrics: MetricRecord[] = [];
  let samples: SampleRecord[] = [];
  // Human feedback: items sent to label (by id) and the rankings made of them.
  const pending = new Map<string, LabelItem>();
  let human: Ranking[] = [];
  let labelRequests = 0;
  /** A label-request sampling on the GPU; a start waits for it. */
  let labelling: Promise<void> | undefined;

  const batch = new Batcher(post);
  /** Posts a pipeline event after the metrics batched before it, so events keep the order they happened in. */
  const send = (event: EngineEvent) => {
    batch.flush();
    post(event);
  };
  const setState = (next: PipelineState) => {
    state = next;
    send(stage === undefined ? { type: 'pipeline-state', state } : { type: 'pipeline-state', state, stage });
  };
  const control = new PipelineControl((waits) => {
    if (stopping) return;
    setState(waits ? 'paused' : 'running');
  });

  const events: PipelineEvents = {
    stage: (s, st, seconds) => {
      stage = s;
      // A stage run again replaces its earlier records (steps restart at 0), as on the page's charts; the other
      // stages' records of this configuration stay, so an export after re-running one stage holds the whole run.
      if (st === 'started') metrics = metrics.filter((r) => r.stage !== s);
      send(seconds === undefined ? { type: 'stage', stage: s, state: st } : { type: 'stage', stage: s, state: st, seconds });
    },
    metrics: (record) => {
      metrics.push(record);
      batch.metric(record);
    },
    progress: (p) => batch.progress(p),
    episodes: (iteration, episodes) => send({ type: 'episodes', iteration, episodes }),
    samples: (s) => {
      samples = withLatestSamples(samples, s); // the latest batch per policy, as the page shows them
      send({ type: 'samples', samples: s });
    },
    checkpoint: (name, bytes) => {
      if (!isCheckpointName(name)) return;
      checkpoints.set(name, bytes);
      if (name === 'reward-model') rmRankings = pipeline?.rankings;
      send({ type: 'checkpoint', name, size: bytes.byteLength });
    },
    log: (line) => send({ type: 'log', line }),
  };

  function gpu(): Promise<GpuRuntime> {
    if (!runtime) {
      runtime = host.runtime().then((rt) => {
        rt.device.lost.then((info) => onLost(new DeviceLostError(info.reason, info.message)));
        return rt;
      });
      runtime.catch(() => (runtime = undefined)); // a later init may find an adapter
    }
    return runtime;
  }

  /** Every loss is reported, 'destroyed' too: the engine never destroys its device, so that came from outside. */
  function onLost(error: DeviceLostError): void {
    lost = error;
    send(errorEvent(error, 'internal'));
    if (running) control.stop(); // a paused run would wait at its gate for good; stopped, it ends as failed
  }

  function asset(path: string): Promise<Uint8Array> {
    let p = assets.get(path);
    if (!p) {
      p = host.asset(path);
      assets.set(path, p);
      p.catch(() => assets.delete(path)); // not cached when it failed
    }
    return p;
  }

  async function loadBaseModel(rt: GpuRuntime): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await asset(BASE_MODEL_PATH);
    } catch (e) {
      throw new ModelLoadError(`Could not fetch the base model ${BASE_MODEL_PATH}: ${(e as Error).message}`);
    }
    try {
      const checkpoint = loadCheckpoint(bytes);
      const tokenizer = tokenizerFromJSON(checkpoint.tokenizerJson);
      const model = GPT.create(rt, checkpoint.config, { weights: checkpoint.weights }).eval();
      loaded?.model.dispose();
      loaded = { model, tokenizer, metadata: checkpoint.metadata };
      post({
        type: 'model',
        info: { config: checkpoint.config, parameters: parameterCount(checkpoint.config), tokenizer: tokenizer.kind, metadata: checkpoint.metadata },
      });
    } catch (e) {
      throw new ModelLoadError(`The base model ${BASE_MODEL_PATH} could not be loaded: ${(e as Error).message}`);
    }
  }

  async function sample(request: GenerateRequest): Promise<void> {
    if (!loaded) throw new ModelLoadError('No model is loaded yet.');
    const start = performance.now();
    const result = await generateText(loaded.model, loaded.tokenizer, [request.prompt], {
      maxNewTokens: Math.min(request.maxNewTokens, loaded.model.config.contextLength - loaded.tokenizer.encode(request.prompt).length - 1),
      temperature: request.temperature,
      seed: request.seed,
    });
    post({ type: 'sample', prompt: request.prompt, text: result.texts[0], tokens: result.ids[0].length, ms: performance.now() - start });
  }

  /** Posts a file, handing its bytes over (so they must not be used again here). */
  function file(name: string, mime: string, bytes: Uint8Array<ArrayBuffer>): void {
    post({ type: 'file', name, mime, bytes }, [bytes.buffer]);
  }

  const text = (s: string) => new TextEncoder().encode(s) as Uint8Array<ArrayBuffer>;

  async function exportFile(format: ExportFormat, model: PipelineCheckpointName | undefined): Promise<void> {
    switch (format) {
      case 'safetensors':
      case 'onnx': {
        if (model === undefined) return exportLoadedModel(format);
        if (!isCheckpointName(model)) throw new PipelineCommandError(`export: unknown checkpoint "${String(model)}" (known: ${Object.keys(CHECKPOINT_STAGE).join(', ')})`);
        const bytes = checkpoints.get(model);
        if (!bytes) throw new PipelineCommandError(`export: there is no ${model} checkpoint yet — run the ${CHECKPOINT_STAGE[model]} stage first`);
        if (format === 'safetensors') return file(`rlhf-lab-${model}.safetensors`, 'application/octet-stream', new Uint8Array(bytes)); // a copy: the kept one stays
        const checkpoint = loadCheckpoint(bytes);
        if (checkpoint.head !== undefined) throw new PipelineCommandError(`export: ONNX is for the policies (base, sft, ppo); the ${model} has a ${checkpoint.head} head instead of the LM head`);
        return file(`rlhf-lab-${model}.onnx`, 'application/octet-stream', new Uint8Array(exportGptOnnx(checkpoint.config, checkpoint.weights)));
      }
      case 'metrics-jsonl':
        return file('rlhf-lab-metrics.jsonl', 'application/jsonl', text(jsonl(metrics)));
      case 'metrics-csv':
        return file('rlhf-lab-metrics.csv', 'text/csv', text(metricsToCsv(metrics)));
      case 'samples-jsonl':
        return file('rlhf-lab-samples.jsonl', 'application/jsonl', text(jsonl(samples)));
      case 'preferences-jsonl': {
        const rankings = pipeline?.rankings;
        if (!rankings) throw new PipelineCommandError('export: there are no preference rankings yet — run the rm stage first');
        return file('rlhf-lab-preferences.jsonl', 'application/jsonl', text(new PreferenceDataset([...rankings.train, ...rankings.heldout]).toJsonl()));
      }
      default:
        throw new PipelineCommandError(`export: unknown format "${String(format)}"`);
    }
  }

  /** The loaded model as a file: a safetensors checkpoint (GPT-2 names) or its forward pass as ONNX. */
  async function exportLoadedModel(format: 'safetensors' | 'onnx'): Promise<void> {
    if (!loaded) throw new ModelLoadError('No model is loaded yet.');
    const { model, tokenizer, metadata } = loaded;
    const weights = await model.params.getWeights();
    const trained = metadata[TRAINING_METADATA_KEY];
    const training: Record<string, string> = trained === undefined ? {} : { [TRAINING_METADATA_KEY]: trained };
    const bytes = format === 'onnx' ? exportGptOnnx(model.config, weights) : saveCheckpoint(weights, model.config, tokenizer.toJSON(), training);
    file(format === 'onnx' ? 'rlhf-lab-model.onnx' : 'rlhf-lab-model.safetensors', 'application/octet-stream', new Uint8Array(bytes));
  }

  function configure(request: ConfigureRequest): void {
    if (running) throw new PipelineCommandError('configure: a run is going — stop it first');
    if (labelling) throw new PipelineCommandError('configure: completions to label are being sampled — wait for label-items');
    const problems: ConfigProblem[] = [];
    const isTask = (TASK_IDS as readonly string[]).includes(request.task);
    if (!isTask) problems.push({ field: 'task', message: `must be one of ${TASK_IDS.join(', ')}, got "${request.task}"` });
    if (request.task !== 'custom' && request.custom !== undefined) problems.push({ field: 'custom', message: `files are only imported for the custom task, not "${request.task}"` });
    let config: PipelineConfig | undefined;
    try {
      config = makePipelineConfig(request.preset as PresetName, { ...request.overrides, task: request.task });
    } catch (e) {
      if (!(e instanceof PipelineConfigError)) throw e;
      problems.push(...e.problems);
    }
    // The custom files are checked even when the settings are wrong, so every problem is reported at once.
    let task: Task | undefined;
    if (isTask && (config || request.task === 'custom')) {
      const options = { seed: config?.seed ?? 0, maxResponseTokens: config?.ppo.maxResponseTokens };
      try {
        task = request.task === 'custom' ? importTask(request.custom ?? {}, options) : createTask(request.task as TaskId, options);
      } catch (e) {
        if (!(e instanceof TaskImportError)) throw e;
        for (const p of e.problems) problems.push(p.file === 'task' ? { field: 'custom', message: p.message } : { field: `custom.${p.file}`, line: p.line, message: p.message });
      }
    }
    if (problems.length > 0 || !config || !task) throw new ConfigureError(problems);
    // Human rankings are about this task's prompts: kept while the task stays, dropped with it.
    if (configured && (configured.task.id !== task.id || task.id === 'custom')) human = [];
    // Checkpoints the new settings would make the same stay; an imported task may differ under the same settings.
    const valid = configured && task.id !== 'custom' ? stagesStillValid(configured.config, config) : [];
    for (const name of [...checkpoints.keys()]) if (!valid.includes(CHECKPOINT_STAGE[name])) checkpoints.delete(name);
    if (!checkpoints.has('reward-model')) rmRankings = undefined;
    pending.clear();
    configured = { config, task };
    pipeline = undefined;
    metrics = [];
    samples = [];
    stage = undefined;
    const kept = (Object.keys(CHECKPOINT_STAGE) as PipelineCheckpointName[]).filter((name) => checkpoints.has(name));
    send({ type: 'pipeline-config', config, task: taskInfo(task), kept });
    setState('idle');
  }

  /**
   * The configured pipeline, made at first use (it needs the GPU and the bundled files), starting from the checkpoints
   * the engine holds (kept across configure, restored, or written before a lost device) as its weights.
   */
  async function ensurePipeline(who: string): Promise<Pipeline> {
    if (!configured) throw new PipelineCommandError(`${who}: configure the pipeline first`);
    if (pipeline) return pipeline;
    const target = configured;
    const rt = await gpu();
    const [baseCheckpoint, corpus] = await Promise.all([asset(BASE_MODEL_PATH), asset(CORPUS_PATH)]);
    if (configured !== target) throw new PipelineCommandError(`${who}: the configuration changed meanwhile`);
    if (pipeline) return pipeline;
    const made = createPipeline(rt, target.config, { baseCheckpoint, corpus: new TextDecoder().decode(corpus), task: target.task }, events, control);
    for (const [name, bytes] of checkpoints) useWeights(made, name, loadCheckpoint(bytes).weights);
    if (checkpoints.has('reward-model')) made.rankings = rmRankings;
    pipeline = made;
    return made;
  }

  function humanMode(flag: HumanLabelMode | boolean | undefined): HumanLabelMode | undefined {
    if (flag === undefined || flag === false) return undefined;
    if (flag === true) return 'replace';
    if (flag !== 'replace' && flag !== 'merge') throw new PipelineCommandError(`start: humanLabels must be 'replace', 'merge', true or false, got ${JSON.stringify(flag)}`);
    return flag;
  }

  async function start(stages: readonly PipelineStage[] = DEFAULT_STAGES, humanLabels?: HumanLabelMode | boolean): Promise<void> {
    if (running) throw new PipelineCommandError(`start: a run is going (${state}) — stop it or wait for it to end`);
    if (!configured) throw new PipelineCommandError('start: configure the pipeline first');
    const unknown = stages.filter((s) => !(STAGES as readonly string[]).includes(s));
    if (unknown.length > 0) throw new PipelineCommandError(`start: unknown stage ${unknown.join(', ')} (stages: ${STAGES.join(', ')})`);
    if (stages.length === 0) throw new PipelineCommandError('start: no stages given');
    const mode = humanMode(humanLabels);
    if (mode === 'replace' && stages.includes('rm') && human.length < 2) {
      throw new PipelineCommandError(`start: the reward model needs at least 2 of your labels to train on them alone, you have ${human.length} — label more`);
    }
    running = true;
    runEnded = runStages(stages, mode);
    return runEnded;
  }

  /** The run `start` accepted: its state and stage events, then how it ended (never throws). */
  async function runStages(stages: readonly PipelineStage[], mode: HumanLabelMode | undefined): Promise<void> {
    if (labelling) await labelling.catch(() => {}); // its sampling finishes first (its failure was reported)
    stopping = false;
    control.reset();
    stage = undefined;
    setState('running');
    let final: PipelineState = 'done';
    try {
      await ensurePipeline('start');
      if (!pipeline) throw new PipelineCommandError('start: the configuration changed meanwhile');
      pipeline.humanLabels = mode ? { rankings: human.slice(), mode } : undefined;
      for (const s of stages) {
        await control.gate();
        stage = s;
        await pipeline.runStage(s);
      }
    } catch (e) {
      // A lost device was reported as it happened; what the loss broke (a stopped gate, a failed read) adds nothing.
      if (lost) final = 'failed';
      else if (e instanceof PipelineStopped) final = 'stopped';
      else {
        final = 'failed';
        send(errorEvent(e, 'pipeline'));
      }
    } finally {
      if (pipeline) send({ type: 'summary', summary: structuredClone(pipeline.summary) });
      running = false;
      stopping = false;
      setState(final);
    }
  }

  // ---- human feedback ----------------------------------------------------------------------------------------------

  async function labelRequest(count: number, k = 2, split: 'train' | 'heldout' = 'train', discard: readonly string[] = []): Promise<void> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_LABEL_ITEMS) throw new PipelineCommandError(`label-request: count must be an integer in [1, ${MAX_LABEL_ITEMS}], got ${count}`);
    if (!Number.isInteger(k) || k < MIN_LABEL_K || k > MAX_LABEL_K) throw new PipelineCommandError(`label-request: k must be an integer in [${MIN_LABEL_K}, ${MAX_LABEL_K}], got ${k}`);
    if (split !== 'train' && split !== 'heldout') throw new PipelineCommandError(`label-request: split must be 'train' or 'heldout', got ${JSON.stringify(split)}`);
    if (running) throw new PipelineCommandError('label-request: a run is going — wait for it to end (the GPU is busy)');
    if (labelling) throw new PipelineCommandError('label-request: the previous request is still sampling — wait for its label-items');
    if (!Array.isArray(discard) || !discard.every((id) => typeof id === 'string')) throw new PipelineCommandError('label-request: `discard` must be an array of item ids');
    for (const id of discard) pending.delete(id);
    const job = sampleItems(count, k, split);
    labelling = job;
    try {
      await job;
    } finally {
      labelling = undefined;
    }
  }

  async function sampleItems(count: number, k: number, split: 'train' | 'heldout'): Promise<void> {
    const p = await ensurePipeline('label-request');
    // The latest policy there is: a trained one (the last in run order), else SFT, else the base model.
    const policy = [...TRAINED_POLICY_STAGES.map((s) => s.writes!), 'sft', 'base'].find((name) => p.weights[name]);
    const weights = policy === undefined ? undefined : p.weights[policy];
    if (!policy) throw new PipelineCommandError('label-request: there is no policy to sample yet — run the pretrain stage first (this preset has no bundled base model)');
    // Prompts not labelled or waiting already, drawn afresh per request; half as many again, since a prompt whose
    // samples repeat (fewer than k distinct) is dropped.
    const seen = new Set([...human.map((r) => r.prompt), ...[...pending.values()].map((i) => i.prompt)]);
    const pool = p.task.prompts[split].filter((x) => !seen.has(x));
    const seed = mixSeed(p.config.seed, 0x1abe1 + labelRequests++);
    const prompts = shuffledIndices(pool.length, seed)
      .slice(0, Math.ceil(count * 1.5) + 1)
      .map((i) => pool[i]);
    if (prompts.length === 0) throw new PipelineCommandError(`label-request: every ${split} prompt is labelled or waiting already`);
    const model = GPT.create(p.rt, p.modelConfig, { weights });
    let texts: string[][];
    try {
      ({ texts } = await sampleResponses(model, p.tokenizer, prompts, k + 2, { maxResponseTokens: p.config.ppo.maxResponseTokens, temperature: 1, seed: mixSeed(seed, 1) }));
    } finally {
      model.dispose();
    }
    const items: LabelItem[] = [];
    for (let i = 0; i < prompts.length && items.length < count; i++) {
      const completions = [...new Set(texts[i])].slice(0, k);
      if (completions.length < k) continue;
      const item = { id: `${labelRequests}-${i}`, prompt: prompts[i], completions };
      pending.set(item.id, item);
      items.push(item);
    }
    if (items.length === 0) throw new PipelineCommandError(`label-request: the ${policy} policy gave fewer than ${k} distinct completions for every prompt tried — it is too repetitive to label`);
    post({ type: 'label-items', items: structuredClone(items), policy });
  }

  function postLabelStats(): void {
    const g = goldAgreementOf(human, configured?.task.gold);
    post({ type: 'labels-stats', count: human.length, pairs: g.pairs, goldAgreement: g.agreement });
  }

  /** A human ranking, with the gold order recorded for statistics when the task has a gold reward. */
  function humanRanking(prompt: string, completions: string[]): Ranking {
    const r: Ranking = { prompt, completions, source: 'human' };
    const gold = configured?.task.gold;
    if (gold) r.goldOrder = goldOrder(r, gold);
    return r;
  }

  function addLabels(labels: readonly Label[]): void {
    if (!Array.isArray(labels)) throw new PipelineCommandError('labels: `labels` must be an array of {id, order}');
    const problems: string[] = [];
    const made: Ranking[] = [];
    const ids = new Set<string>();
    for (const label of labels) {
      const item = pending.get(label?.id);
      if (!item) {
        problems.push(`${JSON.stringify(label?.id)}: no such item to label (unknown, or labelled already)`);
        continue;
      }
      if (ids.has(item.id)) {
        problems.push(`${item.id}: labelled twice in this batch`);
        continue;
      }
      ids.add(item.id);
      const K = item.completions.length;
      const o = label.order;
      if (!Array.isArray(o) || o.length !== K || !o.every((i) => Number.isInteger(i) && i >= 0 && i < K) || new Set(o).size !== K) {
        problems.push(`${item.id}: order must list each of the ${K} completions' indices 0…${K - 1} once, best → worst, got ${JSON.stringify(o)}`);
        continue;
      }
      made.push(humanRanking(item.prompt, o.map((i) => item.completions[i])));
    }
    if (problems.length > 0) throw new PipelineCommandError(`labels: nothing added — ${problems.join('; ')}`);
    for (const id of ids) pending.delete(id);
    human.push(...made);
    postLabelStats();
  }

  async function restore(saved: readonly CheckpointBytes[] = [], rankings: readonly Ranking[] = []): Promise<void> {
    if (running || labelling) throw new PipelineCommandError('restore: a run or a label request is going — wait for it to end');
    const problems: string[] = [];
    const restoredRankings: Ranking[] = [];
    for (const [i, r] of rankings.entries()) {
      const problem = rankingProblem(r) ?? (r.source === 'human' ? undefined : `source must be 'human', got ${JSON.stringify(r.source)}`);
      if (problem) problems.push(`ranking ${i}: ${problem}`);
      else restoredRankings.push(humanRanking(r.prompt, r.completions.slice()));
    }
    if (problems.length > 0) throw new PipelineCommandError(`restore: nothing restored — ${problems.join('; ')}`);
    const loadedWeights: { name: PipelineCheckpointName; weights: Record<string, Float32Array>; bytes: Uint8Array }[] = [];
    if (saved.length > 0) {
      const p = await ensurePipeline('restore');
      const want = p.modelConfig;
      for (const { name, bytes } of saved) {
        if (!isCheckpointName(name)) {
          problems.push(`unknown checkpoint "${String(name)}" (known: ${Object.keys(CHECKPOINT_STAGE).join(', ')})`);
          continue;
        }
        try {
          const c = loadCheckpoint(bytes);
          const wrong = (['vocabSize', 'contextLength', 'nLayer', 'nHead', 'dModel'] as const).filter((key) => c.config[key] !== want[key]);
          const head = name === 'reward-model' ? 'score' : undefined;
          if (wrong.length > 0) problems.push(`${name}: ${wrong.map((key) => `${key} ${c.config[key]} ≠ ${want[key]}`).join(', ')} — it was made for another preset`);
          else if (c.head !== head) problems.push(`${name}: has ${c.head ? `a ${c.head}` : 'no'} head, expected ${head ? `a ${head}` : 'none (the LM head)'}`);
          else loadedWeights.push({ name, weights: c.weights, bytes });
        } catch (e) {
          problems.push(`${name}: ${(e as Error).message}`);
        }
      }
      if (problems.length > 0) throw new PipelineCommandError(`restore: nothing restored — ${problems.join('; ')}`);
      for (const { name, weights, bytes } of loadedWeights) {
        useWeights(p, name, weights);
        checkpoints.set(name, new Uint8Array(bytes));
      }
    }
    const known = new Set(human.map((r) => JSON.stringify([r.prompt, r.completions])));
    for (const r of restoredRankings) {
      const key = JSON.stringify([r.prompt, r.completions]);
      if (!known.has(key)) human.push(r);
      known.add(key);
    }
    post({ type: 'restored', checkpoints: loadedWeights.map((l) => l.name), rankings: human.length });
    postLabelStats();
  }

  /** After a loss, a new device (see replaceDevice); the answer names the checkpoints the pipeline holds as weights. */
  async function recover(): Promise<void> {
    if (lost) {
      recovering ??= replaceDevice().finally(() => (recovering = undefined));
      await recovering;
    }
    const rt = await gpu();
    post({ type: 'recovered', adapter: rt.adapter, checkpoints: [...checkpoints.keys()] });
  }

  /**
   * A new device for the lost one: the base model and the pipeline rebuilt on it, the kept checkpoints loaded back.
   * The engine counts as lost until all of it worked, so a failure leaves `recover` to be tried again.
   */
  async function replaceDevice(): Promise<void> {
    await runEnded; // the loss stopped it; it ends (failed) before anything is rebuilt
    if (labelling) await labelling.catch(() => {});
    try {
      runtime = undefined;
      const rt = await gpu();
      pipeline = undefined;
      if (loaded) await loadBaseModel(rt);
      if (configured) await ensurePipeline('recover'); // the kept checkpoints become its weights
      if (rt.isLost) throw new Error('the new device was lost as well');
    } catch (e) {
      throw new RecoverError(`recover: the engine could not be rebuilt on a new GPU device — ${(e as Error).message}`);
    }
    lost = undefined;
    setState('idle');
  }

  /** pause/resume/step/stop: act on the run going on; with none, they answer with the current state. */
  function steer(command: 'pause' | 'resume' | 'step' | 'stop'): void {
    if (!running) {
      send(stage === undefined ? { type: 'pipeline-state', state } : { type: 'pipeline-state', state, stage });
      return;
    }
    if (command === 'stop') {
      if (stopping) return;
      stopping = true;
      setState('stopping');
    }
    control[command]();
  }

  async function handle(command: Command): Promise<void> {
    if (lost && GPU_COMMANDS.has(command.type)) throw lost;
    switch (command.type) {
      case 'init': {
        const rt = await gpu();
        post({ type: 'ready', adapter: rt.adapter });
        await loadBaseModel(rt);
        return;
      }
      case 'generate':
        return sample(command);
      case 'export':
        return exportFile(command.format, command.model);
      case 'configure':
        return configure(command);
      case 'start':
        return start(command.stages, command.humanLabels);
      case 'pause':
      case 'resume':
      case 'step':
      case 'stop':
        return steer(command.type);
      case 'label-request':
        return labelRequest(command.count, command.k, command.split, command.discard);
      case 'labels':
        return addLabels(command.labels);
      case 'clear-labels':
        human = [];
        pending.clear();
        return postLabelStats();
      case 'restore':
        return restore(command.checkpoints, command.rankings);
      case 'recover':
        return recover();
      case 'checkpoint-data': {
        const name = command.name;
        if (!isCheckpointName(name)) throw new PipelineCommandError(`checkpoint-data: unknown checkpoint "${String(name)}" (known: ${Object.keys(CHECKPOINT_STAGE).join(', ')})`);
        const bytes = checkpoints.get(name);
        if (!bytes) throw new PipelineCommandError(`checkpoint-data: there is no ${name} checkpoint yet — run the ${CHECKPOINT_STAGE[name]} stage first`);
        const copy = new Uint8Array(bytes); // the kept one stays
        return post({ type: 'checkpoint-data', name, bytes: copy }, [copy.buffer]);
      }
      default:
        throw new Error(`unknown command ${JSON.stringify((command as { type?: unknown }).type)}`);
    }
  }

  /** Unrecognised failures of the base-model commands are the engine's ('internal'); of the rest, the pipeline's. */
  const fallbackKind = (c: Command): 'internal' | 'pipeline' =>
    c.type === 'init' || c.type === 'generate' || (c.type === 'export' && c.model === undefined && (c.format === 'safetensors' || c.format === 'onnx')) ? 'internal' : 'pipeline';

  return {
    // A GPU command failing while the device is lost failed because of it (the dead device's own errors say little).
    handle: (command) => handle(command).catch((e: unknown) => post(errorEvent(lost && GPU_COMMANDS.has(command.type) ? lost : e, fallbackKind(command)))),
  };
}
