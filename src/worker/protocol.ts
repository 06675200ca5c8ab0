// The typed boundary between the page and the engine worker: the UI sends Commands and receives Events.
// Only plain, structured-cloneable data crosses it; the GPUDevice, the models and the pipeline stay in the worker
// (src/worker/engine.ts). The pipeline is src/rlhf/pipeline.ts, the same code `npm run pipeline` runs in Node.
import type { AdapterReport } from '../gpu/runtime';
import type { TimeSplit } from '../gpu/time-split';
import type { GPTConfig } from '../model/config';
import type { HfFile } from '../model/hf-model';
import type { Tokenizer } from '../model/tokenizer';
import type { PipelineConfig } from '../rlhf/config';
import type { MetricRecord } from '../rlhf/metrics';
import type { HumanLabelMode, PipelineStage, PipelineSummary, SampleRecord } from '../rlhf/pipeline';
import type { Episode } from '../rlhf/episode';
import type { Ranking } from '../rlhf/preferences';

export type { Episode, HfFile, HumanLabelMode, MetricRecord, PipelineConfig, PipelineStage, PipelineSummary, Ranking, SampleRecord, TimeSplit };

/** Where the bundled base model is served from (public/models/). */
export const BASE_MODEL_PATH = 'models/base-tiny.safetensors';
/** The pretraining corpus (public/corpus/), for presets the bundled base model does not fit (nano, small). */
export const CORPUS_PATH = 'corpus/tiny-stories.txt';

// ---- commands ------------------------------------------------------------------------------------------------------

export interface GenerateRequest {
  prompt: string;
  maxNewTokens: number;
  /** 0 is greedy. */
  temperature: number;
  seed: number;
}

/** The checkpoints the pipeline's stages write (src/rlhf/stages: CHECKPOINT_NAMES); 'base' only when it pretrained one. */
export type PipelineCheckpointName = string;

/**
 * The evaluation samples a run holds (the worker's samples-jsonl export, the page's samples view): `samples` with
 * `batch` in place of the samples of its policies — a stage run again replaces its own samples.
 */
export function withLatestSamples(samples: readonly SampleRecord[], batch: readonly SampleRecord[]): SampleRecord[] {
  const policies = new Set(batch.map((s) => s.policy));
  return [...samples.filter((s) => !policies.has(s.policy)), ...batch];
}

/** The stage that writes each checkpoint, in run order (the stage registry's). */
export { CHECKPOINT_STAGE } from '../rlhf/stages';

/**
 * What `export` writes:
 *   safetensors, onnx   a model: the loaded base model (no `model`), or the pipeline's latest checkpoint of that
 *                       name (ONNX only for the policies: base, sft, ppo — the reward model has no LM head)
 *   metrics-jsonl       the configuration's metric records, one {"stage","step",<metric>: value} object per line (a
 *                       stage run again replaces its earlier records: what the page's charts show)
 *   metrics-csv         the same as CSV: columns stage, step, then every metric name that occurs (metrics.ts table order)
 *   samples-jsonl       held-out evaluation samples {"prompt","response","policy","proxy","gold"}, the latest per policy
 *   preferences-jsonl   the rankings the reward model was trained and evaluated on (PreferenceDataset's format)
 *   hf-zip              a model as a zipped Hugging Face folder (src/hf/folder.ts): the loaded base model (no `model`) or
 *                       a checkpoint; a reward model as GPT2ForSequenceClassification, an ensemble one folder per member
 *   trl-zip             "Continue in TRL" (src/hf/trl.ts): the run's data, base and SFT folders and train_trl.py, zipped
 */
export type ExportFormat = 'safetensors' | 'onnx' | 'hf-zip' | 'trl-zip' | 'metrics-jsonl' | 'metrics-csv' | 'samples-jsonl' | 'preferences-jsonl';

/** The custom task's JSONL files, as text (src/rlhf/tasks/custom.ts describes the formats). */
export interface CustomTaskTexts {
  sft?: string;
  preferences?: string;
  prompts?: string;
}

export interface ConfigureRequest {
  /** 'sentiment' | 'instructions' | 'custom' (src/rlhf/tasks TASK_IDS). */
  task: string;
  /** 'nano' | 'tiny' | 'small' (src/rlhf/config.ts PIPELINE_PRESETS). */
  preset: string;
  /** Settings by dotted path, e.g. { 'ppo.klCoef': 0.02, seed: 3 } (makePipelineConfig parses strings like the field). */
  overrides: Record<string, string | number | boolean>;
  /** Only for task 'custom': the files to import. */
  custom?: CustomTaskTexts;
}

/** Something to label: `completions` of one prompt sampled from the current policy (never their gold scores). */
/** Completions per `label-request` item: at least a pair, at most InstructGPT's K = 9. */
export const MIN_LABEL_K = 2;
export const MAX_LABEL_K = 9;

export interface LabelItem {
  id: string;
  prompt: string;
  completions: string[];
}

/** A person's judgement of a LabelItem: `order` lists indices into its completions, best → worst (all of them). */
export interface Label {
  id: string;
  order: number[];
}

/** A checkpoint file to load back as the pipeline's weights (e.g. one saved in IndexedDB by src/store/persist.ts). */
export interface CheckpointBytes {
  name: PipelineCheckpointName;
  bytes: Uint8Array;
}

export type Command =
  | { type: 'init' }
  | ({ type: 'generate' } & GenerateRequest)
  | { type: 'export'; format: ExportFormat; model?: PipelineCheckpointName }
  /** Validates and keeps a pipeline configuration (replacing the previous one and its results); refused while running.
   * The previous configuration's checkpoints that the new one would make the same stay (src/rlhf/config.ts
   * stagesStillValid: e.g. only ppo.* changed keeps base, sft and reward-model), so later stages can run alone on
   * them; the rest are dropped. Nothing is kept across a custom task (its files may differ under the same settings). */
  | ({ type: 'configure' } & ConfigureRequest)
  /** Runs the configured pipeline's stages (all by default, in the order given). Again after a run: the same
   * pipeline, so one stage can be re-run with the earlier stages' outputs. Refused while a run is going. */
  | {
      type: 'start';
      stages?: PipelineStage[];
      /** Human labels (from `labels`) for the rm stage: 'replace' (or true) trains the reward model on them alone,
       * 'merge' adds them to the simulated/imported rankings; absent or false ignores them. */
      humanLabels?: HumanLabelMode | boolean;
    }
  /** Pause at the next unit boundary (an optimizer step, a PPO iteration, a stage start). */
  | { type: 'pause' }
  | { type: 'resume' }
  /** While paused: run one more unit, then pause again. */
  | { type: 'step' }
  /** Stop at the next unit boundary; the state goes 'stopping' → 'stopped'. */
  | { type: 'stop' }
  /** Human feedback: sample `k` (default 2, at most 9) distinct completions for each of `count` (1…64) prompts from
   * the current policy (PPO's EMA weights if there are any, else SFT, else base) at temperature 1, from the task's
   * training prompts (default) or held-out ones; answered by `label-items`. Needs a configuration (and, for a
   * preset without a bundled base model, a run of the pretrain stage). Refused while a run is going. `discard`: ids
   * of earlier items the page dropped unlabelled (skipped, or of another K); the worker forgets them, so their
   * prompts can be drawn again (unknown ids are ignored; a refused request forgets nothing). */
  | { type: 'label-request'; count: number; k?: number; split?: 'train' | 'heldout'; discard?: string[] }
  /** Adds judgements of earlier `label-items` as source 'human' rankings (all or nothing: an unknown id or a bad order
   * refuses the whole batch); answered by `labels-stats`. Skipped items get no label (the next label-request's
   * `discard` names them). */
  | { type: 'labels'; labels: Label[] }
  /** Forgets every human ranking (answered by `labels-stats` with count 0). */
  | { type: 'clear-labels' }
  /** Loads saved state back into the configured pipeline: checkpoints become its weights (base, sft, reward-model,
   * ppo — so later stages can run without re-running earlier ones) and `rankings` (source 'human') join the human
   * labels. Answered by `restored`; refused while a run is going or when a checkpoint does not fit the preset. */
  | { type: 'restore'; checkpoints?: CheckpointBytes[]; rankings?: Ranking[] }
  /** After a 'device-lost' error: gets a new adapter and device from the host (waiting for a run the loss ended),
   * rebuilds the base model and the configured pipeline on it, and loads the checkpoints the engine kept (those the
   * stages wrote, or `restore` loaded — what the page autosaves) back as the pipeline's weights, so later stages run
   * without the earlier ones. The configuration, human labels, metrics and samples stay; the run state goes 'idle'.
   * Answered by `recovered` (at once when the device works); when the engine cannot be rebuilt on a new device, by a
   * 'device-lost' error starting "recover:" — the engine stays lost and `recover` can be sent again. */
  | { type: 'recover' }
  /** Makes a Hugging Face GPT-2 folder's model the base model (src/model/hf-model.ts): `files` are the folder's
   * config.json, model.safetensors (F32, F16 or BF16) and tokenizer.json or vocab.json + merges.txt, by their names in
   * the folder; `folder` names it. Answered by `model`; the checkpoints, metrics and samples made from the previous base
   * model are dropped, and a configured pipeline is posted again (`pipeline-config`, nothing kept): its next run starts
   * from this model, without pretraining. Refused with a 'model' error that names the file and the field (missing
   * file, malformed JSON, unsupported architecture, shapes that disagree with config.json, an unsupported dtype, a
   * tokenizer whose vocabulary is not the embedding's, a model too large for the device), and while a run or a label
   * request is going; a refusal changes nothing. */
  | { type: 'load-base'; folder: string; files: HfFile[] }
  /** The bytes of the pipeline's latest checkpoint `name`, for saving (answered by `checkpoint-data`; unlike `export`
   * it is not meant as a download). */
  | { type: 'checkpoint-data'; name: PipelineCheckpointName }
  /** For the page benchmark (src/bench/page.ts sends it; the page never does): from the next run on, split each stage's
   * time into generation, forward/backward, optimizer, readback and CPU (src/gpu/time-split.ts: it adds waits for
   * the GPU, never changes results) and report it in the stage's 'done' event. No answer. */
  | { type: 'time-split'; enabled: boolean }
  /** The page's check of the current policy in ONNX Runtime Web (src/worker/onnx-check.ts): the policy — the most
   * recent trained policy checkpoint, else SFT, else the base model the pipeline pretrained, else the loaded base
   * model — as ONNX, with the prompt's token ids; answered by `policy-onnx`. The worker keeps that policy for the
   * `policy-greedy` after it. Refused while a run is going. */
  | { type: 'policy-onnx'; prompt: string; maxNewTokens: number }
  /** After `policy-onnx`, on the policy it exported: the engine's own greedy continuation of the prompt, and its logits
   * where each id of `continuation` (ONNX Runtime's greedy continuation) was chosen; answered by `policy-greedy`. */
  | { type: 'policy-greedy'; continuation: number[] };

// ---- events --------------------------------------------------------------------------------------------------------

export interface ModelInfo {
  config: GPTConfig;
  parameters: number;
  tokenizer: Tokenizer['kind'];
  /** The checkpoint's metadata (how it was trained), as written by `npm run pretrain`. */
  metadata: Record<string, string>;
}

/** The configured task, for the UI (the gold reward itself never leaves the worker). */
export interface TaskInfo {
  id: string;
  title: string;
  description: string;
  trainPrompts: number;
  heldoutPrompts: number;
  demonstrations: number;
  /** Imported preference rankings (custom task); 0 means simulated labelers will rank samples. */
  preferences: number;
  /** Whether a hidden gold reward exists (built-in tasks): win rates and gold curves are only measured then. */
  hasGold: boolean;
}

export type PipelineState = 'idle' | 'running' | 'paused' | 'stopping' | 'done' | 'stopped' | 'failed';

/**
 * One problem of a `configure`: `field` is a dotted setting path ('ppo.klCoef'), 'task', or for the custom files
 * 'custom.sft' | 'custom.preferences' | 'custom.prompts' (with the 1-based `line`) or 'custom' for the task as a whole.
 * A refusal lists the first SHOWN_PROBLEMS (src/model/data.ts), clipped, then one saying how many more.
 */
export interface ConfigProblem {
  field: string;
  message: string;
  line?: number;
}

/**
 * Kinds of errors:
 *   no-adapter, device-lost   WebGPU is unavailable / the device was lost (the engine cannot work until `recover`)
 *   model                     the base model could not be loaded (the bundled one, or a folder of `load-base`),
 *                             or a model command came before it
 *   internal                  a bug or an unexpected failure
 *   config                    `configure` was refused (see `problems`); nothing changed
 *   alarm                     a metric alarm stopped the run (src/rlhf/metrics.ts checkAlarms): `metric` and the
 *                             message say what and the likely cause; the policy kept its last good weights
 *   pipeline                  anything else a command or a stage threw (start while running, export of a checkpoint
 *                             not made yet, a stage's error)
 */
export type EngineErrorKind = 'no-adapter' | 'device-lost' | 'model' | 'internal';
export type PipelineErrorKind = 'config' | 'alarm' | 'pipeline';

export type ErrorEvent =
  | { type: 'error'; kind: EngineErrorKind | 'pipeline'; message: string }
  | { type: 'error'; kind: 'config'; message: string; problems: ConfigProblem[] }
  | { type: 'error'; kind: 'alarm'; message: string; metric: string; stage: PipelineStage; step: number };

export type EngineEvent =
  | { type: 'ready'; adapter: AdapterReport }
  | { type: 'model'; info: ModelInfo }
  | { type: 'sample'; prompt: string; text: string; tokens: number; ms: number }
  | { type: 'file'; name: string; mime: string; bytes: Uint8Array<ArrayBuffer> }
  /** The accepted configuration (presets and overrides applied, validated) and its task. `kept`: the checkpoints of the
   * previous configuration that stay valid for this one (in run order; the next run starts from them as weights, so
   * their stages need not run again); every other checkpoint was dropped. */
  | { type: 'pipeline-config'; config: PipelineConfig; task: TaskInfo; kept: PipelineCheckpointName[] }
  /** The run's state; `stage` is the stage running (or where it ended). 'paused' is posted once the run actually
   * waits at a unit boundary, not when `pause` arrives. */
  | { type: 'pipeline-state'; state: PipelineState; stage?: PipelineStage }
  /** `time`: with `time-split` enabled, where a done stage's `seconds` went (they add up to it). */
  | { type: 'stage'; stage: PipelineStage; state: 'started' | 'done' | 'skipped'; seconds?: number; time?: TimeSplit }
  /** Metric records in the order they were logged, batched (at most ~10 messages a second). */
  | { type: 'metrics'; records: MetricRecord[] }
  /** The latest progress of the running stage (coalesced with the metric batches). */
  | { type: 'progress'; stage: PipelineStage; done: number; total: number; etaSeconds: number | undefined }
  /** The rollouts of the latest PPO iteration (prompt, response, score, per-token KL/advantage/log-prob). */
  | { type: 'episodes'; stage: PipelineStage; iteration: number; episodes: Episode[] }
  /** Held-out evaluation samples (best-of-N, SFT vs PPO). */
  | { type: 'samples'; samples: SampleRecord[] }
  /** A checkpoint the pipeline wrote is kept in the worker (latest per name) and can be exported. */
  | { type: 'checkpoint'; name: PipelineCheckpointName; size: number }
  /** Posted when a run ends (done, stopped or failed): the headline numbers so far. */
  | { type: 'summary'; summary: PipelineSummary }
  | { type: 'log'; line: string }
  /** The answer to `label-request`: the items to label, and which policy sampled them. */
  /** `policy`: the checkpoint that sampled them ('base', 'sft' or a trained policy's). */
  | { type: 'label-items'; items: LabelItem[]; policy: string }
  /** The human labels so far: `count` rankings (`pairs` comparisons) and the fraction of those pairs ordered as the
   * hidden gold reward orders them (pairs the gold scores tie are not counted; null without a gold reward or pairs). */
  | { type: 'labels-stats'; count: number; pairs: number; goldAgreement: number | null }
  /** The answer to `restore`: the checkpoints now loaded as weights, and the human rankings now held. */
  | { type: 'restored'; checkpoints: PipelineCheckpointName[]; rankings: number }
  /** The answer to `recover`: the new device's adapter, and the checkpoints the pipeline now holds as weights. */
  | { type: 'recovered'; adapter: AdapterReport; checkpoints: PipelineCheckpointName[] }
  /** The answer to `checkpoint-data`: a copy of the checkpoint's safetensors bytes (transferred). */
  | { type: 'checkpoint-data'; name: PipelineCheckpointName; bytes: Uint8Array<ArrayBuffer> }
  /** The answer to `policy-onnx`: the policy's checkpoint (`model`; absent: the loaded base model), its ONNX export
   * (transferred), the prompt's token ids (BOS first), and how to continue it greedily: at most `maxNewTokens` ids
   * (what the context leaves), stopping after `eos`. */
  | { type: 'policy-onnx'; model?: PipelineCheckpointName; onnx: Uint8Array<ArrayBuffer>; tokens: number[]; maxNewTokens: number; eos: number }
  /** The answer to `policy-greedy`: the engine's greedy continuation (`ids`, and as `text` without special tokens), the
   * text of the continuation it was given, and the engine's logits (its steps × vocabulary, transferred). */
  | { type: 'policy-greedy'; model?: PipelineCheckpointName; ids: number[]; text: string; continuationText: string; logits: Float32Array<ArrayBuffer> }
  | ErrorEvent;

/** How often the worker posts a Heartbeat, from its start until it ends. */
export const HEARTBEAT_INTERVAL_MS = 1000;

/** The worker's sign of life for the page's watchdog (src/worker/client.ts), which keeps it to itself: it is no event. */
export interface Heartbeat {
  type: 'heartbeat';
}

/** What the worker posts. */
export type WorkerMessage = EngineEvent | Heartbeat;
