// The engine behind the worker's protocol (./protocol): answers Commands with Events. It is plain TypeScript with no
// worker globals, so the same code runs in the page's Web Worker (./engine.worker.ts, a thin wrapper) and in Node
// tests; what differs between the two — where the GPU and the bundled files come from — is the EngineHost.
//
// This module is the command loop: it dispatches each Command to its handler, turns a handler's failure into an
// 'error' event, and owns the run state and the pipeline's event stream. What it keeps between commands is the
// Session (./session); the handlers are the modules beside it: ./configure, ./feedback (human labels), ./restore,
// ./export, ./base-model, ./onnx-check (the page's check in ONNX Runtime Web), and ./device (the GPU device: a loss
// refuses GPU commands until `recover`).
//
// The pipeline (src/rlhf/pipeline.ts): `configure` validates a configuration and keeps it (nothing changes when it is
// refused), with the previous configuration's checkpoints it would make the same. `start` runs the configured
// pipeline's stages (a new Pipeline per configuration, starting from the kept checkpoints as its weights; a later
// `start` can re-run one stage with the earlier stages' outputs); it resolves when the run ends, and a run's failure
// is reported as events (an 'error', then state 'failed'), never thrown, so the engine is never left wedged.
// pause/resume/step/stop act at unit boundaries (an optimizer step, a PPO iteration, a stage start) through
// PipelineControl. A lost device ends a run going (as failed, even one paused at a gate).
import { loadCheckpoint } from '../model/checkpoint';
import {
  createPipeline,
  type HumanLabelMode,
  type Pipeline,
  PipelineControl,
  type PipelineEvents,
  type PipelineStage,
  PipelineStopped,
  type Progress,
  STAGES,
} from '../rlhf/pipeline';
import { sampleBatchRows } from '../rlhf/batch-sizes';
import type { MetricRecord } from '../rlhf/metrics';
import { DEFAULT_STAGES } from '../rlhf/stages';
import { chooseBaseModel, generate, loadBaseModel } from './base-model';
import { acceptConfiguration, applyConfiguration, taskInfo } from './configure';
import { Device } from './device';
import { errorEvent, PipelineCommandError } from './errors';
import { checkpointData, exportFile } from './export';
import { Feedback } from './feedback';
import { OnnxCheck } from './onnx-check';
import { BASE_MODEL_PATH, type Command, type ConfigureRequest, CORPUS_PATH, type EngineEvent, type HfFile, type PipelineState, withLatestSamples } from './protocol';
import { restore } from './restore';
import { createSession, type EngineHost, isCheckpointName, type Post, REWARD_MODEL } from './session';

export type { EngineHost, Post } from './session';
export { goldAgreementOf } from './feedback';

export interface Engine {
  /**
   * Carries out one command, posting its events; failures are posted as 'error' events and the promise does not
   * reject. `start` resolves when its run has ended (done, stopped or failed); the other pipeline commands act on a
   * running `start` immediately, so do not wait for it before sending them.
   */
  handle(command: Command): Promise<void>;
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

/** The run going on, or how the latest one ended. */
interface RunState {
  running: boolean;
  /** Resolves when the latest run has ended (done, stopped or failed). */
  ended: Promise<void>;
  stopping: boolean;
  state: PipelineState;
  /** The stage running, or where the latest run ended. */
  stage: PipelineStage | undefined;
}

function humanMode(flag: HumanLabelMode | boolean | undefined): HumanLabelMode | undefined {
  if (flag === undefined || flag === false) return undefined;
  if (flag === true) return 'replace';
  if (flag !== 'replace' && flag !== 'merge') throw new PipelineCommandError(`start: humanLabels must be 'replace', 'merge', true or false, got ${JSON.stringify(flag)}`);
  return flag;
}

/** Unrecognised failures of the base-model commands are the engine's ('internal'); of the rest, the pipeline's. */
const fallbackKind = (c: Command): 'internal' | 'pipeline' =>
  c.type === 'init' || c.type === 'generate' || c.type === 'load-base' || (c.type === 'export' && c.model === undefined && (c.format === 'safetensors' || c.format === 'onnx' || c.format === 'hf-zip')) ? 'internal' : 'pipeline';

export function createEngine(post: Post, host: EngineHost): Engine {
  const session = createSession(post, host);
  const run: RunState = { running: false, ended: Promise.resolve(), stopping: false, state: 'idle', stage: undefined };
  /** Whether runs split their stages' time (the `time-split` command; the page benchmark's). */
  let timeSplit = false;

  const batch = new Batcher(post);
  /** Posts a pipeline event after the metrics batched before it, so events keep the order they happened in. */
  const send = (event: EngineEvent) => {
    batch.flush();
    post(event);
  };
  const postState = () => send(run.stage === undefined ? { type: 'pipeline-state', state: run.state } : { type: 'pipeline-state', state: run.state, stage: run.stage });
  const setState = (next: PipelineState) => {
    run.state = next;
    postState();
  };
  const control = new PipelineControl((waits) => {
    if (run.stopping) return;
    setState(waits ? 'paused' : 'running');
  });

  const events: PipelineEvents = {
    stage: (s, st, seconds, time) => {
      run.stage = s;
      // A stage run again replaces its earlier records (steps restart at 0), as on the page's charts; the other
      // stages' records of this configuration stay, so an export after re-running one stage holds the whole run.
      if (st === 'started') session.metrics = session.metrics.filter((r) => r.stage !== s);
      send(seconds === undefined ? { type: 'stage', stage: s, state: st } : { type: 'stage', stage: s, state: st, seconds, ...(time && { time }) });
    },
    metrics: (record) => {
      session.metrics.push(record);
      batch.metric(record);
    },
    progress: (p) => batch.progress(p),
    episodes: (stage, iteration, episodes) => send({ type: 'episodes', stage, iteration, episodes }),
    samples: (s) => {
      session.samples = withLatestSamples(session.samples, s); // the latest batch per policy, as the page shows them
      send({ type: 'samples', samples: s });
    },
    checkpoint: (name, bytes) => {
      if (!isCheckpointName(name)) return;
      session.checkpoints.delete(name); // set anew, so the map lists them in the order last written (onnx-check's)
      session.checkpoints.set(name, bytes);
      if (name === REWARD_MODEL.checkpoint) session.rmRankings = session.pipeline?.rankings;
      send({ type: 'checkpoint', name, size: bytes.byteLength });
    },
    log: (line) => send({ type: 'log', line }),
  };

  const feedback = new Feedback(session, ensurePipeline, () => run.running);
  const onnxCheck = new OnnxCheck(session, () => device.gpu(), () => run.running);
  const device = new Device(session, host, {
    lost: (error) => {
      send(errorEvent(error, 'internal'));
      if (run.running) control.stop(); // a paused run would wait at its gate for good; stopped, it ends as failed
    },
    settled: async () => {
      await run.ended;
      if (feedback.labelling) await feedback.labelling.catch(() => {}); // its failure was reported
    },
    rebuild: async (rt) => {
      session.pipeline = undefined;
      if (session.loaded) await loadBaseModel(session, rt);
      if (session.configured) await ensurePipeline('recover'); // the kept checkpoints become its weights
    },
    recovered: () => setState('idle'),
  });

  /**
   * The configured pipeline, made at first use (it needs the GPU and the bundled files), starting from the checkpoints
   * the session holds (kept across configure, restored, or written before a lost device) as its weights.
   */
  async function ensurePipeline(who: string): Promise<Pipeline> {
    if (!session.configured) throw new PipelineCommandError(`${who}: configure the pipeline first`);
    if (session.pipeline) return session.pipeline;
    const target = session.configured;
    const base = session.chosenBase;
    const rt = await device.gpu();
    const [baseCheckpoint, corpus] = await Promise.all([base?.checkpoint ?? session.asset(BASE_MODEL_PATH), session.asset(CORPUS_PATH)]);
    if (session.configured !== target || session.chosenBase !== base) throw new PipelineCommandError(`${who}: the configuration or the base model changed meanwhile`);
    if (session.pipeline) return session.pipeline;
    const made = createPipeline(rt, target.config, { baseCheckpoint, chosenBase: base !== undefined, corpus: new TextDecoder().decode(corpus), task: target.task }, events, control);
    for (const [name, bytes] of session.checkpoints) made.weights[name] = loadCheckpoint(bytes).weights;
    if (session.checkpoints.has(REWARD_MODEL.checkpoint)) made.rankings = session.rmRankings;
    session.pipeline = made;
    return made;
  }

  function configure(request: ConfigureRequest): void {
    if (run.running) throw new PipelineCommandError('configure: a run is going — stop it first');
    if (feedback.labelling) throw new PipelineCommandError('configure: completions to label are being sampled — wait for label-items');
    // Once `init` has the device and the base model, a configuration too large for the device is refused here.
    const rt = device.ready;
    const next = acceptConfiguration(
      request,
      rt && session.loaded ? { memory: rt.memory, sampleRows: sampleBatchRows(rt.adapter), base: session.loaded.model.config, chosenBase: session.chosenBase !== undefined } : undefined,
    );
    const kept = applyConfiguration(session, next);
    feedback.forgetItems();
    run.stage = undefined;
    send({ type: 'pipeline-config', config: next.config, task: taskInfo(next.task), kept });
    setState('idle');
  }

  /** `load-base`: a new base model; the configuration stays, its results made from the previous base model go. */
  async function loadBase(folder: string, files: readonly HfFile[]): Promise<void> {
    if (run.running || feedback.labelling) throw new PipelineCommandError('load-base: a run or a label request is going — wait for it to end');
    chooseBaseModel(session, await device.gpu(), folder, files);
    feedback.forgetItems();
    if (!session.configured) return;
    run.stage = undefined;
    send({ type: 'pipeline-config', config: session.configured.config, task: taskInfo(session.configured.task), kept: [] });
    setState('idle');
  }

  async function start(stages: readonly PipelineStage[] = DEFAULT_STAGES, humanLabels?: HumanLabelMode | boolean): Promise<void> {
    if (run.running) throw new PipelineCommandError(`start: a run is going (${run.state}) — stop it or wait for it to end`);
    if (!session.configured) throw new PipelineCommandError('start: configure the pipeline first');
    const unknown = stages.filter((s) => !(STAGES as readonly string[]).includes(s));
    if (unknown.length > 0) throw new PipelineCommandError(`start: unknown stage ${unknown.join(', ')} (stages: ${STAGES.join(', ')})`);
    if (stages.length === 0) throw new PipelineCommandError('start: no stages given');
    const mode = humanMode(humanLabels);
    if (mode === 'replace' && stages.includes(REWARD_MODEL.stage) && session.human.length < 2) {
      throw new PipelineCommandError(`start: the reward model needs at least 2 of your labels to train on them alone, you have ${session.human.length} — label more`);
    }
    run.running = true;
    run.ended = runStages(stages, mode);
    return run.ended;
  }

  /** The run `start` accepted: its state and stage events, then how it ended (never throws). */
  async function runStages(stages: readonly PipelineStage[], mode: HumanLabelMode | undefined): Promise<void> {
    if (feedback.labelling) await feedback.labelling.catch(() => {}); // its sampling finishes first (its failure was reported)
    run.stopping = false;
    control.reset();
    run.stage = undefined;
    setState('running');
    let final: PipelineState = 'done';
    try {
      const pipeline = await ensurePipeline('start');
      pipeline.checkRun(stages); // every stage of the run (its reward sources, its memory), before the first allocates anything
      pipeline.humanLabels = mode ? { rankings: session.human.slice(), mode } : undefined;
      pipeline.timeSplit = timeSplit;
      for (const s of stages) {
        await control.gate();
        run.stage = s;
        await pipeline.runStage(s);
      }
    } catch (e) {
      // A lost device was reported as it happened; what the loss broke (a stopped gate, a failed read) adds nothing.
      if (device.lost) final = 'failed';
      else if (e instanceof PipelineStopped) final = 'stopped';
      else {
        final = 'failed';
        send(errorEvent(e, 'pipeline'));
      }
    } finally {
      if (session.pipeline) send({ type: 'summary', summary: structuredClone(session.pipeline.summary) });
      run.running = false;
      run.stopping = false;
      setState(final);
    }
  }

  /** pause/resume/step/stop: act on the run going on; with none, they answer with the current state. */
  function steer(command: 'pause' | 'resume' | 'step' | 'stop'): void {
    if (!run.running) return postState();
    if (command === 'stop') {
      if (run.stopping) return;
      run.stopping = true;
      setState('stopping');
    }
    control[command]();
  }

  async function handle(command: Command): Promise<void> {
    const refusal = device.refusal(command.type);
    if (refusal) throw refusal;
    switch (command.type) {
      case 'init': {
        const rt = await device.gpu();
        post({ type: 'ready', adapter: rt.adapter });
        await loadBaseModel(session, rt);
        return;
      }
      case 'generate':
        return generate(session, command);
      case 'load-base':
        return loadBase(command.folder, command.files);
      case 'export':
        return exportFile(session, command.format, command.model);
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
        return feedback.request(command.count, command.k, command.split, command.discard);
      case 'labels':
        return feedback.label(command.labels);
      case 'clear-labels':
        return feedback.clear();
      case 'restore':
        if (run.running || feedback.labelling) throw new PipelineCommandError('restore: a run or a label request is going — wait for it to end');
        return restore(session, feedback, ensurePipeline, command.checkpoints, command.rankings);
      case 'recover':
        return device.recover();
      case 'checkpoint-data':
        return checkpointData(session, command.name);
      case 'time-split':
        timeSplit = command.enabled === true;
        return;
      case 'policy-onnx':
        return onnxCheck.exportPolicy(command.prompt, command.maxNewTokens);
      case 'policy-greedy':
        return onnxCheck.greedy(command.continuation);
      default:
        throw new Error(`unknown command ${JSON.stringify((command as { type?: unknown }).type)}`);
    }
  }

  return {
    // A GPU command failing while the device is lost failed because of it (the dead device's own errors say little).
    handle: (command) => handle(command).catch((e: unknown) => post(errorEvent(device.refusal(command.type) ?? e, fallbackKind(command)))),
  };
}
