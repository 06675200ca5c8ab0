// What the page downloads or saves of a session: `export` writes one file (a model as safetensors, ONNX or a zipped
// Hugging Face folder — the loaded base model, or a checkpoint the pipeline wrote — the run as a zipped TRL folder,
// the metric records as JSONL or CSV, the evaluation samples, the
// preference rankings; the same files `npm run pipeline` writes, src/cli/pipeline.ts), and `checkpoint-data` hands
// over a checkpoint's bytes for saving. The session's own copies stay: what is posted is a copy, transferred.
import { zipSync } from 'fflate';
import { hfFolder, type RunFacts } from '../hf/folder';
import { type PipelineRun, trlFolder } from '../hf/trl';
import { loadCheckpoint, saveCheckpoint, TRAINING_METADATA_KEY } from '../model/checkpoint';
import { exportGptOnnx } from '../onnx/gpt-export';
import { metricsToCsv } from '../rlhf/metrics';
import { PreferenceDataset } from '../rlhf/preferences';
import { loadedModel } from './base-model';
import { PipelineCommandError } from './errors';
import { CHECKPOINT_STAGE, type ExportFormat, type PipelineCheckpointName } from './protocol';
import { isCheckpointName, POLICY_CHECKPOINTS, REWARD_MODEL, type Session, unknownCheckpoint } from './session';

const jsonl = (items: readonly unknown[]) => items.map((x) => `${JSON.stringify(x)}\n`).join('');

const text = (s: string) => new TextEncoder().encode(s) as Uint8Array<ArrayBuffer>;

/** Posts a file, handing its bytes over (so they must not be used again here). */
function file(session: Session, name: string, mime: string, bytes: Uint8Array<ArrayBuffer>): void {
  session.post({ type: 'file', name, mime, bytes }, [bytes.buffer]);
}

/** The kept checkpoint `name`, or the refusal `who` answers with: no such name, or not written yet. */
function keptCheckpoint(session: Session, who: string, name: PipelineCheckpointName): Uint8Array {
  if (!isCheckpointName(name)) throw new PipelineCommandError(`${who}: ${unknownCheckpoint(name)}`);
  const bytes = session.checkpoints.get(name);
  if (!bytes) throw new PipelineCommandError(`${who}: there is no ${name} checkpoint yet — run the ${CHECKPOINT_STAGE[name]} stage first`);
  return bytes;
}

/** `export`: the file of `format` (for a model, of checkpoint `model`, or of the loaded base model without one). */
export async function exportFile(session: Session, format: ExportFormat, model: PipelineCheckpointName | undefined): Promise<void> {
  switch (format) {
    case 'safetensors':
    case 'onnx': {
      const bytes = model === undefined ? await loadedModelCheckpoint(session) : keptCheckpoint(session, 'export', model);
      const name = model ?? 'model';
      if (format === 'safetensors') return file(session, `rlhf-lab-${name}.safetensors`, 'application/octet-stream', new Uint8Array(bytes)); // a copy: the kept one stays
      const checkpoint = loadCheckpoint(bytes);
      if (checkpoint.head !== undefined) throw new PipelineCommandError(`export: ONNX is for the policies (${POLICY_CHECKPOINTS.join(', ')}); the ${model} has a ${checkpoint.head} head instead of the LM head`);
      return file(session, `rlhf-lab-${name}.onnx`, 'application/octet-stream', new Uint8Array(exportGptOnnx(checkpoint.config, checkpoint.weights)));
    }
    case 'hf-zip': {
      const bytes = model === undefined ? await loadedModelCheckpoint(session) : keptCheckpoint(session, 'export', model);
      const name = model ?? 'base';
      return file(session, `rlhf-lab-${name}-hf.zip`, 'application/zip', zipSync(hfFolder(loadCheckpoint(bytes), name, model === undefined ? undefined : sessionFacts(session))));
    }
    case 'trl-zip':
      return file(session, 'rlhf-lab-trl.zip', 'application/zip', zipSync(await trlFolder(await sessionRun(session))));
    case 'metrics-jsonl':
      return file(session, 'rlhf-lab-metrics.jsonl', 'application/jsonl', text(jsonl(session.metrics)));
    case 'metrics-csv':
      return file(session, 'rlhf-lab-metrics.csv', 'text/csv', text(metricsToCsv(session.metrics)));
    case 'samples-jsonl':
      return file(session, 'rlhf-lab-samples.jsonl', 'application/jsonl', text(jsonl(session.samples)));
    case 'preferences-jsonl': {
      // A reward model kept across configure keeps its rankings (session.rmRankings) before a new pipeline is made.
      const rankings = session.pipeline?.rankings ?? session.rmRankings;
      if (!rankings) throw new PipelineCommandError(`export: there are no preference rankings yet — run the ${REWARD_MODEL.stage} stage first`);
      return file(session, 'rlhf-lab-preferences.jsonl', 'application/jsonl', text(new PreferenceDataset([...rankings.train, ...rankings.heldout]).toJsonl()));
    }
    default:
      throw new PipelineCommandError(`export: unknown format "${String(format)}"`);
  }
}

/** The loaded base model as a checkpoint (GPT-2 names, its tokenizer and how it was pretrained). */
async function loadedModelCheckpoint(session: Session): Promise<Uint8Array<ArrayBuffer>> {
  const { model, tokenizer, metadata } = loadedModel(session);
  const trained = metadata[TRAINING_METADATA_KEY];
  const training: Record<string, string> = trained === undefined ? {} : { [TRAINING_METADATA_KEY]: trained };
  return new Uint8Array(saveCheckpoint(await model.params.getWeights(), model.config, tokenizer.toJSON(), training));
}

/** What the model cards say of the session's run (undefined before one is configured). */
function sessionFacts(session: Session): RunFacts | undefined {
  if (!session.configured) return undefined;
  const summary = session.pipeline?.summary;
  return {
    config: session.configured.config,
    stages: Object.keys(summary?.stage_seconds ?? {}),
    origin: "the page's settings (the hyperparameters below)",
    summary: summary && (structuredClone(summary) as unknown as Record<string, unknown>),
  };
}

/** The session's run as the TRL export reads it: its configuration, stages, data and checkpoints. */
async function sessionRun(session: Session): Promise<PipelineRun> {
  const facts = sessionFacts(session);
  if (!facts || !session.configured) throw new PipelineCommandError('export: there is no run yet — configure and run the pipeline first');
  const checkpoints = Object.fromEntries(session.checkpoints);
  // The page's pipeline starts from the loaded base model unless it pretrained its own.
  checkpoints.base ??= await loadedModelCheckpoint(session);
  const { task } = session.configured;
  return { ...facts, prompts: task.prompts, demonstrations: task.demonstrations, rankings: session.pipeline?.rankings ?? session.rmRankings, checkpoints };
}

/** `checkpoint-data`: a copy of the kept checkpoint's bytes, transferred (the kept one stays). */
export function checkpointData(session: Session, name: PipelineCheckpointName): void {
  const copy = new Uint8Array(keptCheckpoint(session, 'checkpoint-data', name));
  session.post({ type: 'checkpoint-data', name, bytes: copy }, [copy.buffer]);
}
