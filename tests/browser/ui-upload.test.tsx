// "Upload checkpoint" in headless Chromium, with stores fed by synthetic worker events: a file larger than any
// checkpoint of the lab is refused before it is read, and a file that cannot be read says why; neither reaches the
// worker. A readable file goes to the worker, and the page says it is loading it, not that it is loaded: "Loaded"
// waits for the worker's `restored` (src/store/bridge.ts), which comes only after its checks.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { makeConfig, parameterCount } from '../../src/model/config';
import { makePipelineConfig } from '../../src/rlhf/config';
import { MAX_CHECKPOINT_FILE_BYTES } from '../../src/ui/checkpoint-file';
import { SavedDataPanel } from '../../src/ui/SavedDataPanel';
import type { TaskInfo } from '../../src/worker/protocol';
import { labStores, softwareAdapter } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';

const TASK: TaskInfo = { id: 'sentiment', title: 'Positive product reviews', description: '…', trainPrompts: 600, heldoutPrompts: 160, demonstrations: 512, preferences: 0, hasGold: true };

/** A file that counts its reads; `size` and `read` stand in for a huge file and for a read that fails. */
class TestFile extends File {
  reads = 0;
  constructor(
    bytes: Uint8Array<ArrayBuffer>,
    name: string,
    private readonly claimedSize?: number,
    private readonly readError?: Error,
  ) {
    super([bytes], name);
  }
  override get size(): number {
    return this.claimedSize ?? super.size;
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    this.reads++;
    return this.readError ? Promise.reject(this.readError) : super.arrayBuffer();
  }
}

function uploadPanel() {
  const stores = labStores({ wrap: (apply) => act(apply) });
  stores.emit({ type: 'ready', adapter: softwareAdapter() }, { type: 'pipeline-config', config: makePipelineConfig('tiny', {}), task: TASK, kept: [] });
  const { div } = mount(<SavedDataPanel onClear={async () => {}} lab={stores.lab} run={stores.run} />);
  const input = div.querySelector<HTMLInputElement>('input[type="file"]')!;
  const status = () => div.querySelector('[data-testid="upload-status"]');
  const choose = async (file: File) => {
    const chosen = new DataTransfer();
    chosen.items.add(file);
    input.files = chosen.files;
    expect(input.files[0]).toBe(file); // the same object, so its overrides apply
    expect(input.value).toBe(`C:\\fakepath\\${file.name}`); // not empty: the wait below is for onFile to clear it
    await act(async () => {
      input.dispatchEvent(new Event('change', { bubbles: true }));
      await expect.poll(() => input.value).toBe(''); // cleared once the file was read (or refused) and handed on
    });
  };
  return { ...stores, input, status, choose };
}

describe('Upload checkpoint', () => {
  test('a file larger than any checkpoint is refused unread; a read that fails says why; neither reaches the worker', async () => {
    const { input, status, choose, sent } = uploadPanel();
    expect(input.disabled).toBe(false);
    // The limit leaves room for the largest checkpoint the lab makes: the small preset, 65,536 BPE ids, a score head.
    expect(4 * parameterCount(makeConfig('small', { vocabSize: 65_536 }), 'score')).toBeLessThan(MAX_CHECKPOINT_FILE_BYTES - 2 ** 20);

    const huge = new TestFile(new Uint8Array(8), 'huge.safetensors', 70 * 2 ** 20);
    await choose(huge);
    expect(status()?.textContent).toBe(
      'The checkpoint was not loaded; nothing changed. huge.safetensors is 70.0 MB, more than any checkpoint of the lab (at most 64.0 MB), so it was not read.',
    );
    expect([huge.reads, status()!.getAttribute('role')]).toEqual([0, 'alert']);

    const gone = new TestFile(new Uint8Array(8), 'gone.safetensors', undefined, new DOMException('A requested file or directory could not be found.', 'NotFoundError'));
    await choose(gone);
    expect(status()?.textContent).toBe(
      'The checkpoint was not loaded; nothing changed. gone.safetensors could not be read (A requested file or directory could not be found.); was it moved or deleted after it was chosen?',
    );
    expect(gone.reads).toBe(1);
    expect(sent.filter((c) => c.type === 'restore')).toEqual([]);
  });

  test('a readable file (up to the limit) goes to the worker; the page says it is loading it, not that it is loaded', async () => {
    const { status, choose, sent } = uploadPanel();
    await choose(new TestFile(Uint8Array.of(1, 2, 3), 'sft.safetensors', MAX_CHECKPOINT_FILE_BYTES));
    expect(status()?.textContent).toBe('Loading the sft checkpoint…');
    expect(sent.filter((c) => c.type === 'restore')).toEqual([{ type: 'restore', checkpoints: [{ name: 'sft', bytes: Uint8Array.of(1, 2, 3) }] }]);
  });
});
