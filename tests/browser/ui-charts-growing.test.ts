// The line charts' smoothing and padding carried on from one update to the next (src/ui/charts/growing.ts), against
// emaSmooth and a plain padding of the whole series: on views that grow over one buffer as the run store's do, with
// NaN values; the same array back while a series has not grown; made anew for a new alpha, a new length, or a view
// that is not a longer one of the same buffer.
import { describe, expect, test } from 'vitest';
import { padGrowing, smoothGrowing } from '../../src/ui/charts/growing';
import { emaSmooth } from '../../src/ui/charts/smoothing';

/** A buffer of 64 values as the run store grows one (views of its first n values), some of them NaN. */
function growingBuffer(): Float64Array {
  const buffer = new Float64Array(64);
  for (let i = 0; i < buffer.length; i++) buffer[i] = i % 11 === 5 ? NaN : Math.sin(i / 3) + i / 10;
  return buffer;
}

const plainPad = (y: Float64Array, length: number) => [...Array.from(y), ...new Array<null>(length - y.length).fill(null)];

describe('smoothGrowing', () => {
  test('equals emaSmooth of every longer view; the same array while the view has not grown', () => {
    const buffer = growingBuffer();
    let last: Float64Array | undefined;
    for (const n of [0, 1, 7, 7, 20, 33, 64]) {
      const view = buffer.subarray(0, n);
      const s = smoothGrowing(view, 0.6);
      expect(Array.from(s)).toEqual(Array.from(emaSmooth(view, 0.6)));
      if (last && last.length === n) expect(s).toBe(last);
      last = s;
    }
  });

  test('a new alpha smooths anew, into a new array; so does a view that does not start the buffer', () => {
    const buffer = growingBuffer();
    const first = smoothGrowing(buffer.subarray(0, 30), 0.6);
    const other = smoothGrowing(buffer.subarray(0, 30), 0.9);
    expect(other).not.toBe(first);
    expect(Array.from(other)).toEqual(Array.from(emaSmooth(buffer.subarray(0, 30), 0.9)));
    // A shorter view of the same buffer (the run store's series only grow, but nothing here relies on it).
    const shorter = buffer.subarray(0, 12);
    expect(Array.from(smoothGrowing(shorter, 0.9))).toEqual(Array.from(emaSmooth(shorter, 0.9)));
    const shifted = buffer.subarray(5, 40);
    expect(Array.from(smoothGrowing(shifted, 0.9))).toEqual(Array.from(emaSmooth(shifted, 0.9)));
  });
});

describe('padGrowing', () => {
  test('the view padded with nulls; the same array, the new points written in, as the view grows', () => {
    const buffer = growingBuffer();
    const first = padGrowing(buffer.subarray(0, 10), 64);
    expect(first).toEqual(plainPad(buffer.subarray(0, 10), 64));
    const grown = padGrowing(buffer.subarray(0, 25), 64);
    expect(grown).toBe(first);
    expect(grown).toEqual(plainPad(buffer.subarray(0, 25), 64));
    const full = buffer.subarray(0, 64);
    expect(padGrowing(full, 64)).toBe(full); // nothing to pad
  });

  test('a new length, or a shorter view of the same buffer, is padded anew', () => {
    const buffer = growingBuffer();
    const at40 = padGrowing(buffer.subarray(0, 20), 40);
    const at50 = padGrowing(buffer.subarray(0, 20), 50);
    expect(at50).not.toBe(at40);
    expect(at50).toEqual(plainPad(buffer.subarray(0, 20), 50));
    expect(padGrowing(buffer.subarray(0, 8), 50)).toEqual(plainPad(buffer.subarray(0, 8), 50));
  });
});
