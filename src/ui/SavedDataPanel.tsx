// "Saved session": what the lab keeps in this browser (src/store/persist.ts through bridge.ts createLabSession) and
// "Clear saved data" (src/ui/SavedData.tsx); what came back after a reload, or why it could not; a quiet note when
// IndexedDB is unavailable (the page then keeps the session in memory only); and "Upload checkpoint", which loads a
// safetensors file as one of the pipeline's weights (`restore`) — the worker checks it, and a file that does not fit
// (corrupt, made for another preset or tokenizer, or too large or unreadable here) changes nothing and says why.
// Below the counts: records the restore skipped as damaged, whether the browser agreed to keep the saved data
// (navigator.storage.persist()), and a Reload button when this tab lost its connection to the saved data.
import { type ChangeEvent, useId, useState } from 'react';
import { REWARD_MODEL_STAGES, TRAINED_POLICY_STAGES } from '../rlhf/stages';
import { type LabStore, useLabStore } from '../store';
import { type RunStore, useRunStore } from '../store/run';
import type { PipelineCheckpointName } from '../worker/protocol';
import { readCheckpointFile } from './checkpoint-file';
import { SavedData } from './SavedData';

const BUSY = ['running', 'paused', 'stopping'];

/** Each checkpoint with what it is: SFT's, the reward models (the ensemble's too), every trained policy's (PPO, DPO, …), the base. */
const CHECKPOINTS: readonly [PipelineCheckpointName, string][] = [
  ['sft', 'SFT policy'],
  ...REWARD_MODEL_STAGES.map((s): [PipelineCheckpointName, string] => [s.writes!, s.name]),
  ...TRAINED_POLICY_STAGES.map((s): [PipelineCheckpointName, string] => [s.writes!, `${s.name} policy`]),
  ['base', 'Pretrained base'],
];

export interface SavedDataPanelProps {
  /** Wipes the saved data. */
  onClear(): Promise<void>;
  lab?: LabStore;
  run?: RunStore;
}

export function SavedDataPanel({ onClear, lab = useLabStore, run = useRunStore }: SavedDataPanelProps) {
  const saved = lab((s) => s.saved);
  const ready = lab((s) => s.engine.state === 'ready');
  const configured = lab((s) => s.configured !== undefined);
  const pending = lab((s) => s.pending !== undefined);
  const state = run((s) => s.state);
  const [which, setWhich] = useState<PipelineCheckpointName>('sft');
  const id = useId();

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    const file = input.files?.[0];
    if (!file) return;
    const read = await readCheckpointFile(file);
    input.value = ''; // the same file can be chosen again
    if ('problem' in read) lab.getState().setSaved({ upload: { state: 'failed', message: read.problem } });
    else lab.getState().uploadCheckpoint(which, read.bytes);
  };

  const { restore, upload } = saved;
  const canUpload = ready && configured && !pending && !BUSY.includes(state) && upload?.state !== 'sending';
  return (
    <section className="saved-panel" aria-label="Saved session">
      <h2>Saved session</h2>
      {saved.storage === 'loading' && <p className="muted">Opening the saved data…</p>}
      {saved.note && (
        <p role={saved.reloadNeeded ? 'alert' : undefined} className={saved.reloadNeeded ? 'error-text' : 'muted'} data-testid="saved-note">
          {saved.note}
          {saved.reloadNeeded && (
            <>
              {' '}
              <button type="button" onClick={() => location.reload()}>
                Reload
              </button>
            </>
          )}
        </p>
      )}
      {restore && (
        <p role={restore.state === 'failed' ? 'alert' : 'status'} className={restore.state === 'failed' ? 'error-text' : 'muted'} data-testid="restore-status">
          {restore.message}
        </p>
      )}
      {saved.skipped && (
        <p role="status" className="muted" data-testid="saved-skipped">
          {saved.skipped}
        </p>
      )}
      {saved.persistent !== undefined && (
        <p className="muted" data-testid="saved-persistence">
          {saved.persistent
            ? 'This browser keeps the saved data until you clear it (persistent storage granted).'
            : 'This browser may clear the saved data when it runs short of space: it did not grant persistent storage.'}
        </p>
      )}
      {saved.storage !== 'loading' && <SavedData summary={saved.summary} onClear={onClear} />}
      <div className="upload-checkpoint">
        <label htmlFor={`${id}-which`}>Load as</label>
        <select id={`${id}-which`} value={which} onChange={(e) => setWhich(e.target.value as PipelineCheckpointName)}>
          {CHECKPOINTS.map(([name, text]) => (
            <option key={name} value={name}>
              {text}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-file`}>Upload checkpoint</label>
        <input id={`${id}-file`} type="file" accept=".safetensors,application/octet-stream" disabled={!canUpload} aria-describedby={`${id}-help`} onChange={onFile} />
      </div>
      <p id={`${id}-help`} className="muted">
        A safetensors checkpoint of this preset (e.g. one downloaded above) becomes the pipeline's {which} weights, so later stages run from it.
        {configured ? '' : ' Configure a run first.'}
      </p>
      {upload && (
        <p role={upload.state === 'failed' ? 'alert' : 'status'} className={upload.state === 'failed' ? 'error-text' : 'muted'} data-testid="upload-status">
          {upload.state === 'failed' ? `The checkpoint was not loaded; nothing changed. ${upload.message}` : upload.message}
        </p>
      )}
    </section>
  );
}
