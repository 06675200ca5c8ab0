// The tokenizers' entry point: the Tokenizer interface every kind implements (tokenizer-base.ts) and
// `tokenizerFromJSON`, which validates and rebuilds any kind from the plain object its `toJSON()` wrote
// (checkpoint metadata).
import { BpeTokenizer } from './bpe-tokenizer';
import { CharTokenizer } from './char-tokenizer';
import { Gpt2Tokenizer } from './gpt2-tokenizer';
import { describe, type Tokenizer, TokenizerJSONError } from './tokenizer-base';

export { type Tokenizer, TokenizerJSONError } from './tokenizer-base';

/** Validate `json` (e.g. from checkpoint metadata) and rebuild the tokenizer it describes. */
export function tokenizerFromJSON(json: unknown): Tokenizer {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TokenizerJSONError(`expected an object, got ${describe(json)}`);
  }
  const kind = (json as { kind?: unknown }).kind;
  if (kind === 'char') return CharTokenizer.fromJSON(json);
  if (kind === 'bpe') return BpeTokenizer.fromJSON(json);
  if (kind === 'gpt2') return Gpt2Tokenizer.fromJSON(json);
  throw new TokenizerJSONError(`"kind" must be "char", "bpe" or "gpt2", got ${describe(kind)}`);
}
