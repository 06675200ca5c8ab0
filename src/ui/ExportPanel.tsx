// Downloads of the run (metrics as CSV/JSONL, evaluation samples, the preference rankings, "Continue in TRL": data,
// models and a TRL script in one zip) and of the models: a table with a row per model the form's run makes (the base
// model and the checkpoints the pipeline writes; others once the worker holds them) and a column per format
// (safetensors, zipped Hugging Face folders, ONNX for the policies), each button enabled once the worker has it;
// and the import of a TRL-format JSONL dataset as the custom task. The page refuses a file too large or not UTF-8
// before sending it (src/store/import-file.ts); the worker validates the rest: a malformed file is refused with its
// line-numbered problems (the first few, then how many more) and nothing changes.
import { type ChangeEvent, useId } from 'react';
import { DEFAULT_STAGES, REWARD_MODEL_STAGES, TRAINED_POLICY_STAGES } from '../rlhf/stages';
import { FILE_TEXT, MAX_IMPORT_TEXT } from '../rlhf/tasks/custom-files';
import type { ExportFormat, PipelineCheckpointName } from '../worker/protocol';
import { displayName, type LabStore, useLabStore } from '../store';
import { formStages } from '../store/config-form';
import { type RunStore, useRunStore } from '../store/run';
import { Fold } from './Fold';

export interface ExportPanelProps {
  lab?: LabStore;
  run?: RunStore;
}

const BUSY = ['running', 'paused', 'stopping'];

type ModelFormat = 'safetensors' | 'hf-zip' | 'onnx';
const MODEL_FORMATS: readonly ModelFormat[] = ['safetensors', 'hf-zip', 'onnx'];
const FORMAT_NAMES: Readonly<Record<ModelFormat, string>> = { safetensors: 'safetensors', 'hf-zip': 'Hugging Face', onnx: 'ONNX' };

/** A model the run makes: the stage that writes it, its checkpoint, the formats it downloads in, and when it exists. */
interface ModelRow {
  label: string;
  stage: string;
  model: PipelineCheckpointName;
  formats: readonly ModelFormat[];
  why: string;
}

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
  const form = lab((s) => s.form);
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
  // One row per model of the form's run (and any other the worker holds), one column per format.
  const inRun: readonly string[] = formStages(form) ?? DEFAULT_STAGES;
  const rows = ([
    { label: 'base model', stage: 'pretrain', model: 'base', formats: ['safetensors', 'hf-zip'], why: 'when the preset pretrains its own base (nano, small)' },
    { label: 'SFT', stage: 'sft', model: 'sft', formats: ['safetensors', 'hf-zip'], why: 'after the SFT stage' },
    // Every reward model (the reward model's, the ensemble's with all its members in one file, or a folder each).
    ...REWARD_MODEL_STAGES.map((s): ModelRow => ({ label: s.name.toLowerCase(), stage: s.id, model: s.writes!, formats: ['safetensors', 'hf-zip'], why: `after the ${s.name.toLowerCase()} stage` })),
    // Every trained policy (PPO, DPO, …): its weights, as a Hugging Face folder, and its forward pass as ONNX.
    ...TRAINED_POLICY_STAGES.map((s): ModelRow => ({ label: `${s.name} policy`, stage: s.id, model: s.writes!, formats: ['safetensors', 'hf-zip', 'onnx'], why: `after the ${s.name} stage` })),
  ] satisfies ModelRow[]).filter((r) => inRun.includes(r.stage) || checkpoints[r.model] !== undefined);
  /** A model's download in one format; the base model's Hugging Face folder is the lab's base, pretrained here or not. */
  const cell = (r: ModelRow, format: ModelFormat) => {
    if (!r.formats.includes(format)) return <td key={format} />;
    const always = r.model === 'base' && format === 'hf-zip';
    const bytes = checkpoints[r.model];
    const enabled = ready && (always || bytes !== undefined);
    return (
      <td key={format}>
        <button
          type="button"
          aria-label={`Download ${r.label} (${FORMAT_NAMES[format]})`}
          disabled={!enabled}
          title={always || bytes !== undefined ? undefined : `Available ${r.why}`}
          onClick={() => exportFile(format, always ? undefined : r.model)}
        >
          {FORMAT_NAMES[format]}
        </button>
        {bytes !== undefined && format === 'safetensors' && <span className="button-note">{size(bytes)}</span>}
      </td>
    );
  };

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
        <div role="group" aria-label="Models" className="export-group models">
          <h3>Models</h3>
          <table className="export-models">
            <thead>
              <tr>
                <th scope="col">Model</th>
                {MODEL_FORMATS.map((f) => (
                  <th key={f} scope="col">
                    {FORMAT_NAMES[f]}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.model}>
                  <th scope="row">{r.label[0].toUpperCase() + r.label.slice(1)}</th>
                  {MODEL_FORMATS.map((f) => cell(r, f))}
                </tr>
              ))}
            </tbody>
          </table>
          <Fold className="muted">
            safetensors: the lab&apos;s checkpoint (it opens in the lab again). Hugging Face: a zipped folder for transformers (config,
            weights, tokenizer, model card). ONNX: the policy&apos;s forward pass, for ONNX Runtime. Other methods&apos; models appear here
            when a run includes them.
          </Fold>
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
