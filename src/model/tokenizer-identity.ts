// Which tokenizer is which, in words. Token ids mean text only through their tokenizer, so weights trained with one
// vocabulary (char vs BPE, other merges) are nonsense read through another, even when the architecture matches.
// Checkpoints record their whole tokenizer (checkpoint.ts, rlhf_lab.tokenizer), which is what is compared; the
// identity only names a tokenizer in messages: its kind and size ("bpe-1024") and a fingerprint, a hash of its
// canonical JSON (`toJSON()`, so key order in a file does not matter) that tells two of the same size apart.
import type { Tokenizer } from './tokenizer-base';

/** `'bpe-1024' #3f9a0c12`: kind-size and the fingerprint. */
export function tokenizerIdentity(t: Tokenizer): string {
  return `'${t.kind}-${t.vocabSize}' #${fnv1a32(JSON.stringify(t.toJSON()))}`;
}

/** How `a` differs from `b` ("char ≠ bpe", "id 300 is "th" ≠ "he""), or undefined when they are the same tokenizer. */
export function tokenizerDifference(a: Tokenizer, b: Tokenizer): string | undefined {
  if (a.kind !== b.kind) return `${a.kind} ≠ ${b.kind}`;
  if (a.vocabSize !== b.vocabSize) return `${a.vocabSize} ≠ ${b.vocabSize} ids`;
  if (JSON.stringify(a.toJSON()) === JSON.stringify(b.toJSON())) return undefined;
  for (let id = 0; id < a.vocabSize; id++) {
    const [x, y] = [a.tokenize([id])[0], b.tokenize([id])[0]];
    if (x !== y) return `id ${id} is ${JSON.stringify(x)} ≠ ${JSON.stringify(y)}`;
  }
  return 'the same tokens, merged in another order'; // BPE: equal byte strings, other pairs or ranks
}

/** 32-bit FNV-1a of the UTF-16 code units, as 8 hex digits: short, stable, and enough to tell vocabularies apart. */
function fnv1a32(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}
