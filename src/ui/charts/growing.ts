// A line chart's series as it draws them, on every update: EMA-smoothed, and padded with gaps to the longest one
// (the current run of a sweep beside its longer kept runs). The run store's series are views of buffers whose points
// are only appended (src/store/run.ts: a full buffer is replaced by a larger one, a stage run again starts a new one;
// a kept run's never change), so what was made for the last update still holds: only the points appended since are
// smoothed and written, into the same arrays, and a series that did not grow gives the very same array (which lets a
// kept run's path be reused: ./kept.ts). Made anew on every update, the padded arrays allocated an object per point
// (a number in an array with nulls is boxed) and kept the garbage collector busy for about a third of an update
// (profiled with 4 kept runs of 10,000 points).
import { emaSmooth, type EmaState } from './smoothing';

/** Per source buffer: the series so far, smoothed (`view`: its first `done` values). */
const smoothed = new WeakMap<ArrayBufferLike, { alpha: number; out: Float64Array; view: Float64Array; state: EmaState }>();

/**
 * emaSmooth(y, alpha) for a view `y` from the start of a buffer whose values are only appended: a view of a buffer
 * of its own, continued for the next, longer view of the same buffer (a new buffer for a new alpha, so that nothing
 * made from the old one is reused).
 */
export function smoothGrowing(y: Float64Array, alpha: number): Float64Array {
  let s = smoothed.get(y.buffer);
  if (!s || s.alpha !== alpha || y.byteOffset !== 0 || y.length < s.view.length || y.length > s.out.length) {
    const out = new Float64Array(Math.max(y.length, y.buffer.byteLength / Float64Array.BYTES_PER_ELEMENT));
    s = { alpha, out, view: out.subarray(0, 0), state: { m: 0, weight: 0 } };
    smoothed.set(y.buffer, s);
  }
  if (y.length > s.view.length) {
    emaSmooth(y, alpha, s.out, s.view.length, s.state);
    s.view = s.out.subarray(0, y.length);
  }
  return s.view;
}

/** Per source buffer: the series so far, padded (its first `done` values written). */
const padded = new WeakMap<ArrayBufferLike, { out: (number | null)[]; done: number }>();

/**
 * `y` at `length`, the missing end as gaps (null), for a view `y` from the start of a buffer whose values are only
 * appended: the same array as for the last, shorter view of the buffer, with the new points written in.
 */
export function padGrowing(y: Float64Array, length: number): Float64Array | (number | null)[] {
  if (y.length === length) return y;
  let p = padded.get(y.buffer);
  if (!p || p.out.length !== length || y.byteOffset !== 0 || y.length < p.done) {
    p = { out: new Array<number | null>(length).fill(null), done: 0 };
    padded.set(y.buffer, p);
  }
  for (let i = p.done; i < y.length; i++) p.out[i] = y[i];
  p.done = y.length;
  return p.out;
}
