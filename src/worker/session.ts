// What the engine keeps between commands, as one explicit object its modules share (./engine's command loop,
// ./configure, ./feedback, ./restore, ./export, ./base-model): the bundled files and base model, the accepted
// configuration and the Pipeline made from it, and what the page keeps of a run for export — the checkpoints (latest
// per name), the configuration's metric records and evaluation samples, the person's rankings. The run state (running,
// paused, …) is the command loop's own, the device the device module's (./device), items waiting for labels the
// feedback module's.
//
// Also the checkpoints' names, derived from the stage registry (src/rlhf/stages): which stage writes the base model
// and the reward model, which checkpoints hold a policy.
import type { GpuRuntime } from '../gpu';
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../model/tokenizer';
import type { PipelineConfig } from '../rlhf/config';
import type { MetricRecord } from '../rlhf/metrics';
import type { Pipeline, PipelineStage, SampleRecord } from '../rlhf/pipeline';
import type { Ranking } from '../rlhf/preferences';
import { CHECKPOINT_NAMES, STAGE_REGISTRY, type StageDescriptor } from '../rlhf/stages';
import type { Task } from '../rlhf/tasks';
import { CHECKPOINT_STAGE, type EngineEvent, type PipelineCheckpointName } from './protocol';

/** What differs between the page's worker and Node. */
export interface EngineHost {
  /** A GPU runtime (called at first use, and again by `recover` after the device was lost; the engine keeps it). */
  runtime(): Promise<GpuRuntime>;
  /** A bundled file by its path under public/ (e.g. BASE_MODEL_PATH); throws when it cannot be read. */
  asset(path: string): Promise<Uint8Array>;
}

export type Post = (event: EngineEvent, transfer?: Transferable[]) => void;

/** The base model, loaded on the device. */
export interface LoadedModel {
  model: GPT;
  tokenizer: Tokenizer;
  metadata: Record<string, string>;
}

/** An accepted configuration and its task (built-in, or imported from the custom files). */
export interface Configured {
  config: PipelineConfig;
  task: Task;
}

export interface Session {
  readonly post: Post;
  /** The bundled files, each read from the host once (a read that failed is tried again next time). */
  readonly asset: (path: string) => Promise<Uint8Array>;
  /** The base model once `init` loaded it (generate and the base model's export use it). */
  loaded: LoadedModel | undefined;
  /** The base model the person chose (`load-base`: a Hugging Face folder) as a lab checkpoint, and the folder's name;
   * undefined while the bundled one is the base. The pipeline and a new device start from it. */
  chosenBase: { checkpoint: Uint8Array; folder: string } | undefined;
  configured: Configured | undefined;
  /** The Pipeline made from the configuration at first use; dropped by a new configuration and by a new device. */
  pipeline: Pipeline | undefined;
  /** Checkpoints of this configuration (latest per name, and those kept from the previous one); a new Pipeline starts
   * from them as its weights. */
  readonly checkpoints: Map<PipelineCheckpointName, Uint8Array>;
  /** The rankings the reward-model checkpoint was trained on (for a new Pipeline that starts from it). */
  rmRankings: Pipeline['rankings'];
  /** The configuration's metric records (a stage run again replaces its own). */
  metrics: MetricRecord[];
  /** The configuration's evaluation samples (the latest per policy). */
  samples: SampleRecord[];
  /** The person's rankings (source 'human'), kept across `configure` while the task stays the same. */
  human: Ranking[];
}

export function createSession(post: Post, host: Pick<EngineHost, 'asset'>): Session {
  const assets = new Map<string, Promise<Uint8Array>>();
  const asset = (path: string) => {
    let p = assets.get(path);
    if (!p) {
      p = host.asset(path);
      assets.set(path, p);
      p.catch(() => assets.delete(path));
    }
    return p;
  };
  return { post, asset, loaded: undefined, chosenBase: undefined, configured: undefined, pipeline: undefined, checkpoints: new Map(), rmRankings: undefined, metrics: [], samples: [], human: [] };
}

// ---- checkpoint names, from the stage registry ------------------------------------------------------------------------

export const isCheckpointName = (name: string): name is PipelineCheckpointName => Object.hasOwn(CHECKPOINT_STAGE, name);

/** The refusal of a name that is no checkpoint's, listing the names there are. */
export const unknownCheckpoint = (name: unknown) => `unknown checkpoint "${String(name)}" (known: ${CHECKPOINT_NAMES.join(', ')})`;

/** The stage that makes `product` and the checkpoint it writes. */
function writerOf(product: StageDescriptor['produces']): { stage: PipelineStage; checkpoint: PipelineCheckpointName } {
  const s = STAGE_REGISTRY.find((d) => d.produces === product && 'writes' in d);
  if (!s || !('writes' in s)) throw new Error(`the stage registry has no stage that writes a ${product}`);
  return { stage: s.id, checkpoint: s.writes };
}

/** The stage that pretrains a base model (when no bundled one fits the preset) and its checkpoint. */
export const BASE_MODEL = writerOf('base model');
/** The stage that trains the reward model (on the preference rankings) and its checkpoint, the one with a score head. */
export const REWARD_MODEL = writerOf('reward model');

/** The checkpoints that hold reward models (the score head): the reward model's, the ensemble's, in run order. */
export const REWARD_CHECKPOINTS: readonly PipelineCheckpointName[] = STAGE_REGISTRY.flatMap((s) => (s.produces === 'reward model' && 'writes' in s ? [s.writes] : []));

/** The checkpoints that hold a policy, i.e. a model with the LM head (the base model too), in run order. */
export const POLICY_CHECKPOINTS: readonly PipelineCheckpointName[] = STAGE_REGISTRY.flatMap((s) => ((s.produces === 'base model' || s.produces === 'policy') && 'writes' in s ? [s.writes] : []));
