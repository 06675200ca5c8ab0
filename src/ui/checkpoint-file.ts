// An uploaded checkpoint file read in the page, before the worker checks what is in it (src/worker/restore.ts): a file
// too large to be one of the lab's checkpoints is refused unread, and a read that fails (the file was moved, deleted
// or is not readable) says so instead of leaving the upload without an answer.

/**
 * Larger files are refused before they are read, since reading one whole could exhaust the tab's memory. The largest
 * checkpoint the lab makes, the small preset with a score head at the largest vocabulary `npm run pretrain` builds
 * (65,536 BPE ids), is about 39 MB.
 */
export const MAX_CHECKPOINT_FILE_BYTES = 64 * 2 ** 20;

const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** The file's bytes, or why they were not read. */
export async function readCheckpointFile(file: File): Promise<{ bytes: Uint8Array } | { problem: string }> {
  if (file.size > MAX_CHECKPOINT_FILE_BYTES) {
    return { problem: `${file.name} is ${megabytes(file.size)}, more than any checkpoint of the lab (at most ${megabytes(MAX_CHECKPOINT_FILE_BYTES)}), so it was not read.` };
  }
  try {
    return { bytes: new Uint8Array(await file.arrayBuffer()) };
  } catch (e) {
    return { problem: `${file.name} could not be read (${e instanceof Error ? e.message : String(e)}); was it moved or deleted after it was chosen?` };
  }
}
