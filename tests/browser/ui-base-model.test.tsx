// "Use a Hugging Face model as the base" in headless Chromium: the files picked (one by one, or a folder) go to the
// worker as one `load-base` command holding only the files it reads — from the folder's top level, with their bytes —
// and the folder's name; the page says they were sent, not that the base model changed (the worker's `model` event
// says that, after its checks).
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { BaseModelPicker } from '../../src/ui/BaseModelPicker';
import type { Command } from '../../src/worker/protocol';
import { mount } from '../helpers/mount';

/** A file picked from a folder: its path inside the picked folder, as the browser reports it. */
class FolderFile extends File {
  constructor(
    text: string,
    private readonly path: string,
  ) {
    super([text], path.split('/').pop()!);
  }
  override get webkitRelativePath(): string {
    return this.path;
  }
}

function picker() {
  const sent: Command[] = [];
  const { div } = mount(<BaseModelPicker send={(c) => sent.push(c)} />);
  const pick = async (testId: string, files: File[]) => {
    const input = div.querySelector<HTMLInputElement>(`[data-testid="${testId}"]`)!;
    const chosen = new DataTransfer();
    for (const f of files) chosen.items.add(f);
    input.files = chosen.files;
    await act(async () => {
      input.dispatchEvent(new Event('change', { bubbles: true }));
      await expect.poll(() => sent.length).toBeGreaterThan(0);
    });
  };
  return { div, sent, pick };
}

const names = (c: Command) => (c.type === 'load-base' ? c.files.map((f) => `${f.name}=${new TextDecoder().decode(f.bytes)}`).sort() : []);

describe('BaseModelPicker', () => {
  test('a folder: its top-level model files and its name go to the worker in one load-base', async () => {
    const { div, sent, pick } = picker();
    expect(div.querySelector('[data-testid="base-folder"]')!.hasAttribute('webkitdirectory')).toBe(true);
    await pick('base-folder', [
      new FolderFile('{"model_type":"gpt2"}', 'my-gpt2/config.json'),
      new FolderFile('weights', 'my-gpt2/model.safetensors'),
      new FolderFile('vocab', 'my-gpt2/vocab.json'),
      new FolderFile('merges', 'my-gpt2/merges.txt'),
      new FolderFile('other', 'my-gpt2/onnx/model.safetensors'),
      new FolderFile('# card', 'my-gpt2/README.md'),
    ]);
    expect(sent.map((c) => c.type === 'load-base' && c.folder)).toEqual(['my-gpt2']);
    expect(names(sent[0])).toEqual(['config.json={"model_type":"gpt2"}', 'merges.txt=merges', 'model.safetensors=weights', 'vocab.json=vocab']);
    expect(div.querySelector('[data-testid="base-status"]')!.textContent).toBe('Sent "my-gpt2" to the engine: the base model changes once it is checked.');
  });

  test('files picked one by one: the model files among them', async () => {
    const { sent, pick } = picker();
    await pick('base-files', [new File(['c'], 'config.json'), new File(['w'], 'model.safetensors'), new File(['t'], 'tokenizer.json'), new File(['x'], 'notes.txt')]);
    expect(sent).toHaveLength(1);
    expect(names(sent[0])).toEqual(['config.json=c', 'model.safetensors=w', 'tokenizer.json=t']);
  });
});
