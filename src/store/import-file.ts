// Reading a file the person picked to import, before any of it reaches the worker: refused unread when it is larger
// than MAX_IMPORT_BYTES, refused with a clear message when the browser cannot read it, and decoded strictly as UTF-8
// (a byte that is not UTF-8 is refused with its line, never turned into U+FFFD and imported as text).
import { MAX_IMPORT_BYTES, MAX_IMPORT_TEXT } from '../rlhf/tasks/custom-files';
import type { ConfigProblem } from '../worker/protocol';

/** A file's text, or why it is not imported (`problems`: the line of a byte that is not UTF-8). */
export type ImportFileRead = { text: string } | { message: string; problems: ConfigProblem[] };

export async function readImportFile(file: Blob): Promise<ImportFileRead> {
  if (file.size > MAX_IMPORT_BYTES) {
    return { message: `The file is ${(file.size / (1024 * 1024)).toFixed(1)} MiB; an import may be at most ${MAX_IMPORT_TEXT}.`, problems: [] };
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await file.arrayBuffer());
  } catch (e) {
    return { message: `The file could not be read (${e instanceof Error ? e.message : String(e)}): choose it again.`, problems: [] };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    const at = firstNonUtf8Byte(bytes);
    const message = `the bytes from offset ${at} (0x${bytes[at].toString(16).padStart(2, '0')}) are not UTF-8: save the file as UTF-8`;
    return { message: 'The file is not UTF-8 text.', problems: [{ field: 'custom', line: lineOf(bytes, at), message }] };
  }
}

/**
 * The offset of the first byte that starts no well-formed UTF-8 sequence (Unicode Table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or -1 when every byte is well-formed. A truncated sequence is bad at its
 * first byte.
 */
export function firstNonUtf8Byte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // The continuation bytes a lead byte needs, and the range its first continuation byte must be in.
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // a surrogate
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < lo || c > hi) return i;
      lo = 0x80;
      hi = 0xbf;
    }
    i += need + 1;
  }
  return -1;
}

/** The 1-based line of the byte at `offset` (a UTF-8 continuation byte is never a newline). */
function lineOf(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}
