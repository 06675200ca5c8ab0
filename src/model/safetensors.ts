// safetensors (https://github.com/huggingface/safetensors), read and written byte for byte as the reference
// implementation (the Rust crate behind the Python package) does:
//
//   [8 bytes]  N, the header length, unsigned 64-bit little-endian
//   [N bytes]  a UTF-8 JSON object: {"__metadata__": {string: string}?, name: {"dtype", "shape", "data_offsets"}, …}
//              right-padded with spaces so the data section starts 8-byte aligned
//   [rest]     the data section: each tensor's bytes, little-endian, row-major ('C' order); data_offsets [begin, end)
//              are relative to the start of this section
//
// Writing follows the reference serializer: tensors laid out by descending dtype (its enum order, so larger
// elements first and every tensor stays aligned), then by name (byte order); the JSON lists "__metadata__" first,
// then the tensors in layout order, without whitespace.
// Reading is strict, per the spec: the byte buffer must be entirely indexed by the tensors, without holes or
// overlaps (no polyglot files), nothing after the last tensor, no duplicate keys, header at most 100 MB, and every
// tensor's byte range must equal its element count × dtype size. Every error says which rule and which tensor.

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(`safetensors: ${message}`);
    this.name = 'SafetensorsError';
  }
}

/** Bytes per element of every dtype the format defines, in the reference's enum order (used for layout). */
export const DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;
export type Dtype = keyof typeof DTYPE_SIZES;
const DTYPE_RANK = new Map(Object.keys(DTYPE_SIZES).map((d, i) => [d, i]));

/** The reference implementation's header limit. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInput {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  /** The elements: a typed array (written little-endian) or raw little-endian bytes (a Uint8Array). */
  data: ArrayBufferView;
}

export interface DecodedTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Raw little-endian bytes: a view into the decoded buffer, not a copy (see tensorToFloat32 for a copy). */
  data: Uint8Array;
}

export interface Safetensors {
  /** In data-section order. */
  tensors: DecodedTensor[];
  /** The "__metadata__" map ({} if absent). */
  metadata: Record<string, string>;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();

const isDtype = (d: unknown): d is Dtype => typeof d === 'string' && DTYPE_RANK.has(d);
const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Byte order of UTF-8 encodings (= code point order), which is how the reference sorts names. */
function compareNames(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Element bytes of `data`, little-endian (byte-swapped copy on a big-endian host). */
function bytesOf(data: ArrayBufferView, elementSize: number): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN || data instanceof Uint8Array || elementSize === 1) return bytes;
  return swapped(bytes, elementSize);
}

function swapped(bytes: Uint8Array, elementSize: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes); // a copy (Buffer.slice would not be one)
  for (let i = 0; i < out.length; i += elementSize) out.subarray(i, i + elementSize).reverse();
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** A safetensors file holding `tensors` and the `metadata` strings (no "__metadata__" entry if empty). */
export function encodeSafetensors(tensors: readonly TensorInput[], metadata: Record<string, string> = {}): Uint8Array {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (typeof t.name !== 'string' || t.name === '') throw new SafetensorsError('every tensor needs a non-empty name');
    if (t.name === '__metadata__') throw new SafetensorsError('"__metadata__" is reserved and cannot name a tensor');
    if (seen.has(t.name)) throw new SafetensorsError(`duplicate tensor name "${t.name}"`);
    seen.add(t.name);
    if (!isDtype(t.dtype)) throw new SafetensorsError(`tensor "${t.name}": unknown dtype ${String(t.dtype)}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`tensor "${t.name}": shape ${shapeText(t.shape)} must be non-negative integers`);
    }
    const bytes = elementCount(t.shape) * DTYPE_SIZES[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw new SafetensorsError(
        `tensor "${t.name}": shape ${shapeText(t.shape)} of ${t.dtype} needs ${bytes} bytes, data has ${t.data.byteLength}`,
      );
    }
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new SafetensorsError(`metadata "${k}" must be a string, got ${typeof v}`);
  }

  // Layout: descending dtype (the reference's enum order), then name.
  const ordered = [...tensors].sort(
    (a, b) => DTYPE_RANK.get(b.dtype)! - DTYPE_RANK.get(a.dtype)! || compareNames(a.name, b.name),
  );
  const header: Record<string, unknown> = Object.create(null); // no __proto__ setter: a tensor may be named "__proto__"
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of ordered) {
    const end = offset + t.data.byteLength;
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, end] };
    offset = end;
  }
  const json = utf8.encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8; // padded with spaces: the data section starts 8-aligned
  if (headerLength > MAX_HEADER_BYTES) throw new SafetensorsError(`header of ${headerLength} bytes exceeds ${MAX_HEADER_BYTES}`);

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const t of ordered) {
    out.set(bytesOf(t.data, DTYPE_SIZES[t.dtype]), at);
    at += t.data.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Parse and validate a safetensors file. Tensor data are views into `bytes`. Throws SafetensorsError. */
export function decodeSafetensors(bytes: Uint8Array): Safetensors {
  if (bytes.length < 8) {
    throw new SafetensorsError(`file is ${bytes.length} bytes, too short for the 8-byte header length (truncated?)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  }
  const headerLength = Number(n);
  if (8 + headerLength > bytes.length) {
    throw new SafetensorsError(
      `header length ${headerLength} runs past the end of the ${bytes.length}-byte file (truncated?)`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) throw new SafetensorsError('header does not start with "{" (not a safetensors file?)');
  let header: Record<string, unknown>; // valid JSON starting with "{" is an object
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON: ${(e as Error).message}`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw new SafetensorsError(`header has the key "${duplicate}" twice`);

  const metadata: Record<string, string> = Object.create(null); // no __proto__ setter: any key is kept
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new SafetensorsError('"__metadata__" must be an object of strings');
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(`"__metadata__" value "${k}" must be a string, got ${brief(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(name, value));
  }

  // The data section: [begin, end) ranges must tile it exactly.
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  for (const e of entries) {
    if (e.end > dataLength) {
      throw new SafetensorsError(
        `tensor "${e.name}" needs data bytes [${e.begin}, ${e.end}) but the data section has only ${dataLength} bytes (truncated?)`,
      );
    }
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.begin < cursor) {
      const prev = entries[i - 1];
      throw new SafetensorsError(
        `tensor "${e.name}" [${e.begin}, ${e.end}) overlaps tensor "${prev.name}" [${prev.begin}, ${prev.end})`,
      );
    }
    if (e.begin > cursor) {
      throw new SafetensorsError(`data bytes [${cursor}, ${e.begin}) belong to no tensor (a hole before "${e.name}")`);
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError(`${dataLength - cursor} trailing bytes after the last tensor (data section is ${dataLength} bytes, tensors cover ${cursor})`);
  }

  return {
    tensors: entries.map((e) => ({
      name: e.name,
      dtype: e.dtype,
      shape: e.shape,
      // A plain Uint8Array view even when `bytes` is a Node Buffer (whose slice() does not copy).
      data: new Uint8Array(bytes.buffer, bytes.byteOffset + dataStart + e.begin, e.end - e.begin),
    })),
    metadata,
  };
}

function parseEntry(name: string, value: unknown): Entry {
  const bad = (what: string) => new SafetensorsError(`tensor "${name}": ${what}`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('entry is not an object');
  const info = value as Record<string, unknown>;
  for (const key of Object.keys(info)) {
    if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') throw bad(`unknown field "${key}"`);
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (dtype === undefined) throw bad('missing "dtype"');
  if (!isDtype(dtype)) throw bad(`unknown dtype ${brief(dtype)}`);
  const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!Array.isArray(shape) || !shape.every(isIndex)) throw bad(`"shape" must be an array of non-negative integers, got ${brief(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    throw bad(`"data_offsets" must be [begin, end] non-negative integers, got ${brief(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (end < begin) throw bad(`data_offsets [${begin}, ${end}) end before they begin`);
  const bytes = elementCount(shape) * DTYPE_SIZES[dtype];
  if (end - begin !== bytes) {
    throw bad(`shape ${shapeText(shape)} of ${dtype} needs ${bytes} bytes but data_offsets [${begin}, ${end}) hold ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/**
 * A header value for an error message: its JSON with containers inside it elided and the whole clipped, so that a
 * huge or deeply nested value still gives a short message (JSON.stringify recurses: deep nesting overflows the stack).
 */
function brief(value: unknown): string {
  const shallow = (v: unknown): string =>
    v === undefined ? 'nothing' : Array.isArray(v) ? '[…]' : v !== null && typeof v === 'object' ? '{…}' : JSON.stringify(v);
  const text = Array.isArray(value) ? `[${value.slice(0, 16).map(shallow).join(',')}${value.length > 16 ? ',…' : ''}]` : shallow(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/**
 * The first key that occurs twice in one object of a (valid) JSON text, or undefined. JSON.parse silently keeps
 * the last one; the spec disallows duplicates.
 */
function findDuplicateKey(json: string): string | undefined {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = []; // keys null: an array
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    const top = stack[stack.length - 1];
    if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push({ keys: null, expectKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',' && top?.keys) top.expectKey = true;
    else if (c === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(json.slice(start, i + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.expectKey = false;
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Conversions

/**
 * A tensor's elements as a new Float32Array: F32 bit-exact (NaN payloads, −0 kept), F16 and BF16 widened
 * exactly. Other dtypes are rejected (integers are not weights; F64 would round).
 */
export function tensorToFloat32(t: DecodedTensor): Float32Array<ArrayBuffer> {
  const n = elementCount(t.shape);
  if (t.dtype === 'F32') {
    const copy = new Uint8Array(t.data); // an aligned, owned copy of the little-endian bytes
    return new Float32Array((HOST_LITTLE_ENDIAN ? copy : swapped(copy, 4)).buffer, 0, n);
  }
  if (t.dtype === 'F16' || t.dtype === 'BF16') {
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const out = new Float32Array(n);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) {
      const h = view.getUint16(2 * i, true);
      bits[i] = t.dtype === 'BF16' ? h << 16 : f16ToF32Bits(h);
    }
    return out;
  }
  throw new SafetensorsError(`tensor "${t.name}" has dtype ${t.dtype}; only F32, F16 and BF16 convert to float32`);
}

/** IEEE binary16 bits → binary32 bits (exact; subnormals normalised, NaN payloads kept). */
function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // Inf / NaN
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // rebias 15 → 127
  if (mant === 0) return sign >>> 0; // ±0
  let e = 113; // subnormal: shift the mantissa up until its leading 1 is the implicit bit
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}
