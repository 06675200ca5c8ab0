// The import in the export panel, in headless Chromium, a file chosen through the file input and the worker's
// validation behind the store (acceptConfiguration): the size limit is stated next to the picker; a file of 300,000
// bad lines shows 20 problems and how many more, not 300,000 list items; a file refused before it reaches the worker
// (not UTF-8) says why with its line.
import { act } from 'react';
import { describe, expect, test, vi } from 'vitest';
import { SHOWN_PROBLEMS } from '../../src/model/data';
import { MAX_IMPORT_TEXT } from '../../src/rlhf/tasks/custom-files';
import { ExportPanel } from '../../src/ui/ExportPanel';
import { labWithConfigureWorker } from '../helpers/configure-worker';
import { mount } from '../helpers/mount';

function panel() {
  const stores = labWithConfigureWorker({ wrap: (apply) => act(apply) });
  const { div } = mount(<ExportPanel lab={stores.lab} run={stores.run} />);
  const input = div.querySelector('input[type="file"]') as HTMLInputElement;
  /** Chooses `file` in the input as a person would; resolves once the alert shows. */
  const choose = async (file: File) => {
    const picked = new DataTransfer();
    picked.items.add(file);
    input.files = picked.files;
    // The file is read asynchronously: the act lasts until the refusal is in the store.
    await act(async () => {
      input.dispatchEvent(new Event('change', { bubbles: true }));
      await vi.waitFor(() => expect(stores.lab.getState().importRefusal).toBeDefined());
    });
    return div.querySelector('[role="alert"]')!;
  };
  return { div, input, choose };
}

describe('import', () => {
  test('the size limit is stated next to the file picker', () => {
    const { input } = panel();
    expect(document.getElementById(input.getAttribute('aria-describedby')!)!.textContent).toContain(`At most ${MAX_IMPORT_TEXT}, UTF-8, one kind of record per file.`);
  });

  test('300,000 bad lines: 20 problems and how many more are listed', async () => {
    const { choose } = panel();
    const bad = Array.from({ length: 300_000 }, (_, i) => `[${i}]`).join('\n');
    const alert = await choose(new File([bad], 'bad.jsonl'));
    const items = [...alert.querySelectorAll('li')].map((li) => li.textContent);
    expect(items).toHaveLength(SHOWN_PROBLEMS + 1);
    expect(items[0]).toBe('Line 1: expected an object with "prompt" and "chosen"/"rejected" or "completions", got an array');
    expect(items.at(-1)).toBe('custom.preferences: … and 299980 more');
  });

  test('a file that is not UTF-8 is refused before the worker, naming its line', async () => {
    const { choose } = panel();
    const alert = await choose(new File(['{"prompt":"a"}\n{"prompt":"', new Uint8Array([0xff]), '"}'], 'latin1.jsonl'));
    expect(alert.textContent).toBe('latin1.jsonl was not imported; nothing changed.Line 2: the bytes from offset 26 (0xff) are not UTF-8: save the file as UTF-8');
  });
});
