// "Use a Hugging Face model as the base": a GPT-2-family model folder (or its files) picked in the page goes to the
// worker as a `load-base` command, which checks it and answers with the new base model, or with an error naming the
// file and the field while the previous base model stays (src/worker/base-model.ts). Only the files the worker reads
// are read (src/model/hf-model.ts HF_MODEL_FILES), from the folder itself, not its subfolders.
import { type ChangeEvent, useState } from 'react';
import { HF_MODEL_FILES } from '../model/hf-model';
import type { Command, HfFile } from '../worker/protocol';

/** The picked files the worker reads (top level of a picked folder), and the folder's name. */
export async function hfFolderFiles(picked: readonly File[]): Promise<{ folder: string; files: HfFile[] }> {
  const path = (f: File) => (f.webkitRelativePath || f.name).split('/');
  const wanted = picked.filter((f) => path(f).length <= 2 && (HF_MODEL_FILES as readonly string[]).includes(f.name));
  const files = await Promise.all(wanted.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
  const top = picked.map(path).find((p) => p.length === 2);
  return { folder: top ? top[0] : picked.map((f) => f.name).join(', '), files };
}

export function BaseModelPicker({ send }: { send: (command: Command) => void }) {
  const [status, setStatus] = useState<string>();

  const onPick = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    const picked = [...(input.files ?? [])];
    if (picked.length === 0) return;
    setStatus('Reading the files…');
    try {
      const { folder, files } = await hfFolderFiles(picked);
      send({ type: 'load-base', folder, files });
      setStatus(`Sent "${folder}" to the engine: the base model changes once it is checked.`);
    } catch (error) {
      setStatus(`The files could not be read (${error instanceof Error ? error.message : String(error)}): choose them again.`);
    } finally {
      input.value = '';
    }
  };

  return (
    <fieldset className="base-model-picker">
      <legend>Use a Hugging Face model as the base</legend>
      <p className="muted">
        A GPT-2-family folder: config.json, model.safetensors (F32, F16 or BF16) and tokenizer.json or vocab.json + merges.txt. SFT and the rest
        of the pipeline start from it; nothing is pretrained.
      </p>
      <label>
        Folder <input type="file" data-testid="base-folder" {...{ webkitdirectory: '' }} onChange={onPick} />
      </label>{' '}
      <label>
        Files <input type="file" data-testid="base-files" multiple onChange={onPick} />
      </label>
      {status && <p data-testid="base-status">{status}</p>}
    </fieldset>
  );
}
