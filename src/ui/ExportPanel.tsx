// Downloads of the run (metrics as CSV/JSONL, evaluation samples, the preference rankings, "Continue in TRL": data,
// models and a TRL script in one zip) and of the models (the base model and the checkpoints the pipeline wrote, as
// safetensors, zipped Hugging Face folders, the policies also as ONNX), each enabled once the worker has it;
// and the import of a TRL-format JSONL dataset as the custom task. The page refuses a file too large or not UTF-8
// before sending it (src/store/import-file.ts); the worker validates the rest: a malformed file is refused with its
// line-numbered problems (the first few, then how many more) and nothing changes.
import { type ChangeEvent, useId } from 'react';
import { REWARD_MODEL_STAGES, TRAINED_POLICY_STAGES } from '../rlhf/stages';
import { FILE_TEXT, MAX_IMPORT_TEXT } from '../rlhf/tasks/custom-files';
import type { ExportFormat, PipelineCheckpointName } from '../worker/protocol';
import { displayName, type LabStore, useLabStore } from '../store';
import { type RunStore, useRunStore } from '../store/run';
import { Fold } from './Fold';

export interface ExportPanelProps {
  lab?: LabStore;
  run?: RunStore;
}

const BUSY = ['running', 'paused', 'stopping'];

function size(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}

export function ExportPanel({ lab = useLabStore, run = useRunStore }: ExportPanelProps) {
  const records = run((s) => s.recordCount);
  const samples = run((s) => s.samples.length);
  const rmDone = run((s) => s.stages.rm.state === 'done');
  const state = run((s) => s.state);
  const checkpoints = lab((s) => s.checkpoints);
  const ready = lab((s) => s.engine.state === 'ready');
  const pending = lab((s) => s.pending !== undefined);
  const refusal = lab((s) => s.importRefusal);
  const configured = lab((s) => s.configured);
  const dataset = lab((s) => s.dataset);
  const { exportFile, importFile } = lab.getState();
  const id = useId();

  const files: { name: string; format: ExportFormat; enabled: boolean; why: string }[] = [
    { name: 'Download metrics (CSV)', format: 'metrics-csv', enabled: records > 0, why: 'after a run has logged metrics' },
    { name: 'Download metrics (JSONL)', format: 'metrics-jsonl', enabled: records > 0, why: 'after a run has logged metrics' },
    { name: 'Download samples (JSONL)', format: 'samples-jsonl', enabled: samples > 0, why: 'after best-of-N or the evaluation' },
    { name: 'Download preferences (JSONL)', format: 'preferences-jsonl', enabled: rmDone, why: 'after the reward model stage' },
    // The run's data, its base and SFT models and train_trl.py, which reruns its stages with TRL at scale.
    { name: 'Continue in TRL', format: 'trl-zip', enabled: checkpoints.sft !== undefined, why: 'after the SFT stage' },
  ];
  const models: { name: string; format: 'safetensors' | 'onnx' | 'hf-zip'; model: PipelineCheckpointName; why: string }[] = [
    { name: 'Download SFT checkpoint', format: 'safetensors', model: 'sft', why: 'after the SFT stage' },
    { name: 'Download SFT (Hugging Face)', format: 'hf-zip', model: 'sft', why: 'after the SFT stage' },
    // Every reward model (the reward model's, the ensemble's with all its members in one file, or a folder each).
    ...REWARD_MODEL_STAGES.flatMap((s) => [
      { name: `Download ${s.name.toLowerCase()}`, format: 'safetensors' as const, model: s.writes!, why: `after the ${s.name.toLowerCase()} stage` },
      { name: `Download ${s.name.toLowerCase()} (Hugging Face)`, format: 'hf-zip' as const, model: s.writes!, why: `after the ${s.name.toLowerCase()} stage` },
    ]),
    // Every trained policy (PPO, DPO, …): its weights, as a Hugging Face folder, and its forward pass as ONNX.
    ...TRAINED_POLICY_STAGES.flatMap((s) => [
      { name: `Download ${s.name} policy`, format: 'safetensors' as const, model: s.writes!, why: `after the ${s.name} stage` },
      { name: `Download ${s.name} policy (Hugging Face)`, format: 'hf-zip' as const, model: s.writes!, why: `after the ${s.name} stage` },
      { name: `Download ${s.name} policy (ONNX)`, format: 'onnx' as const, model: s.writes!, why: `after the ${s.name} stage` },
    ]),
    { name: 'Download pretrained base', format: 'safetensors', model: 'base', why: 'when the preset pretrains its own base (nano, small)' },
  ];

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    const file = input.files?.[0];
    if (!file) return;
    input.value = ''; // the same file can be chosen again after fixing it
    await importFile(file);
  };

  const busy = BUSY.includes(state);
  return (
    <section className="export-panel" aria-label="Export and import">
      <h2>Export and import</h2>
      <div className="export-groups">
        <div role="group" aria-label="Run data" className="export-group">
          <h3>Run data</h3>
          {files.map((f) => (
            <button key={f.name} type="button" disabled={!ready || !f.enabled} title={f.enabled ? undefined : `Available ${f.why}`} onClick={() => exportFile(f.format)}>
              {f.name}
            </button>
          ))}
        </div>
        <div role="group" aria-label="Checkpoints" className="export-group">
          <h3>Models (safetensors, Hugging Face, ONNX)</h3>
          <button type="button" disabled={!ready} onClick={() => exportFile('hf-zip')}>
            Download base model (Hugging Face)
          </button>
          {models.map((m) => {
            const bytes = checkpoints[m.model];
            return (
              <span key={m.name} className="export-item">
                <button type="button" disabled={!ready || bytes === undefined} title={bytes === undefined ? `Available ${m.why}` : undefined} onClick={() => exportFile(m.format, m.model)}>
                  {m.name}
                </button>
                {/* beside the button, so its accessible name stays the same */}
                {bytes !== undefined && m.format === 'safetensors' && <span className="button-note">{size(bytes)}</span>}
              </span>
            );
          })}
        </div>
        <div className="export-group import">
          <h3>Your own data</h3>
          <label htmlFor={`${id}-import`}>Import dataset (JSONL)</label>
          <input
            id={`${id}-import`}
            type="file"
            accept=".jsonl,.json,.txt,application/jsonl,application/x-ndjson"
            disabled={!ready || busy || pending}
            aria-describedby={`${id}-import-help`}
            onChange={onFile}
          />
          <Fold className="muted" textId={`${id}-import-help`}>
            Hugging Face TRL formats, one JSON object per line: preferences <code>{'{"prompt","chosen","rejected"}'}</code>, rankings{' '}
            <code>{'{"prompt","completions"}'}</code> (best first), or SFT <code>{'{"prompt","completion"}'}</code>. It becomes the
            custom task; a file with problems changes nothing. At most {MAX_IMPORT_TEXT}, UTF-8, one kind of record per file.
          </Fold>
          {dataset && configured?.task.id === 'custom' && (
            <p role="status">
              Imported {displayName(dataset.name)} as {FILE_TEXT[dataset.file]}: {configured.task.trainPrompts + configured.task.heldoutPrompts} prompts,{' '}
              {configured.task.preferences} rankings, {configured.task.demonstrations} demonstrations.
            </p>
          )}
          {refusal && (
            <div role="alert" className="error import-problems">
              <p>
                <strong>{refusal.name}</strong> was not imported{refusal.file && ` (read as ${FILE_TEXT[refusal.file]})`}; nothing changed.
              </p>
              <ul>
                {refusal.problems.length === 0 && <li>{refusal.message}</li>}
                {refusal.problems.map((p, i) => (
                  <li key={i}>{p.line ? `Line ${p.line}: ${p.message}` : `${p.field}: ${p.message}`}</li>
                ))}
              </ul>
            </div>
          )}
        </div>
      </div>
    </section>
  );
}
