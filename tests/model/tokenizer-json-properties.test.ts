// Property tests of the tokenizer JSON reader (tokenizerFromJSON, which a checkpoint's metadata goes through): any
// value — a string, any JSON, a valid tokenizer's JSON with one part replaced by anything — gives a tokenizer or a
// TokenizerJSONError, never another exception; and a tokenizer it gives is whole: its JSON reads back the same, and it
// encodes any text to ids inside its vocabulary that decode without error. Seeded.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { trainBpe } from '../../src/model/bpe-tokenizer';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { type Tokenizer, tokenizerFromJSON, TokenizerJSONError } from '../../src/model/tokenizer';

/** The reader's outcome: the tokenizer, or its TokenizerJSONError (anything else thrown fails the property). */
function read(json: unknown): Tokenizer | TokenizerJSONError {
  try {
    return tokenizerFromJSON(json);
  } catch (e) {
    if (e instanceof TokenizerJSONError) return e;
    throw e;
  }
}

function expectWhole(t: Tokenizer, text: string): void {
  const json = JSON.stringify(t.toJSON()); // as a checkpoint stores it (a -0 read is written 0)
  expect(JSON.stringify(tokenizerFromJSON(JSON.parse(json)).toJSON())).toBe(json);
  const ids = t.encode(text);
  expect(Array.from(ids).every((id) => Number.isInteger(id) && id >= 0 && id < t.vocabSize)).toBe(true);
  expect(typeof t.decode(ids)).toBe('string');
}

type Path = (string | number)[];

/** Every path into a JSON value (the value itself first). */
function paths(v: unknown, at: Path = []): Path[] {
  if (typeof v !== 'object' || v === null) return [at];
  return [at, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, Array.isArray(v) ? Number(k) : k]))];
}

/** `v` with the part at `path` replaced by `x` (copies, `v` unchanged). */
function replaced(v: unknown, path: Path, x: unknown): unknown {
  if (path.length === 0) return x;
  const [head, ...rest] = path;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[head] = replaced(copy[head], rest, x);
  return copy;
}

const VALID = {
  char: CharTokenizer.fromText('hello world 🙂').toJSON(),
  bpe: trainBpe('the cat sat on the mat; the cat sat on the hat', 270).toJSON(),
};
const anyText = fc.string({ unit: 'binary', maxLength: 16 });

describe('tokenizerFromJSON', () => {
  test('any string or JSON value gives a tokenizer or a TokenizerJSONError', () => {
    const parsed = fc.string().map((s) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        return s;
      }
    });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), parsed, fc.jsonValue()), anyText, (json, text) => {
        const t = read(json);
        if (!(t instanceof TokenizerJSONError)) expectWhole(t, text);
      }),
      { seed: 1, numRuns: 2000 },
    );
  });

  for (const [kind, valid] of Object.entries(VALID)) {
    test(`a valid ${kind} tokenizer's JSON with any part replaced by any JSON value: a whole tokenizer or a TokenizerJSONError`, () => {
      let refused = 0;
      fc.assert(
        fc.property(fc.constantFrom(...paths(valid)), fc.oneof(fc.jsonValue(), fc.integer({ min: -1, max: 300 })), anyText, (path, x, text) => {
          const t = read(replaced(valid, path, x));
          if (t instanceof TokenizerJSONError) refused++;
          else expectWhole(t, text);
        }),
        { seed: 1, numRuns: 1000 },
      );
      expect(refused).toBeGreaterThan(500); // most replacements break it, and are refused
    });
  }
});
