// Typed access to GGUF metadata. Missing or mistyped keys give a model_invalid error naming the key and file,
// because a GGUF that parses but lacks e.g. `llama.block_count` cannot be built into a model.
import { EngineError } from '../core/errors.ts';
import { GGUFValueType, type GGUFArray, type GGUFEntry } from './types.ts';

export type Metadata = ReadonlyMap<string, GGUFEntry>;

function missing(key: string, file: string, want: string): EngineError {
  return new EngineError('model_invalid', `metadata key ${key} is missing or is not ${want}`, { file, key });
}

export function mdNumber(md: Metadata, key: string, file: string): number;
export function mdNumber(md: Metadata, key: string, file: string, fallback: number): number;
export function mdNumber(md: Metadata, key: string, file: string, fallback?: number): number {
  const e = md.get(key);
  if (e === undefined && fallback !== undefined) return fallback;
  const v = e?.value;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw missing(key, file, 'a number');
}

export function mdString(md: Metadata, key: string, file: string, fallback?: string): string {
  const e = md.get(key);
  if (e === undefined && fallback !== undefined) return fallback;
  if (typeof e?.value === 'string') return e.value;
  throw missing(key, file, 'a string');
}

export function mdBool(md: Metadata, key: string, file: string, fallback?: boolean): boolean {
  const e = md.get(key);
  if (e === undefined && fallback !== undefined) return fallback;
  if (typeof e?.value === 'boolean') return e.value;
  throw missing(key, file, 'a bool');
}

export function mdArray(md: Metadata, key: string, file: string): GGUFArray {
  const e = md.get(key);
  if (e?.type === GGUFValueType.ARRAY) return e.value as GGUFArray;
  throw missing(key, file, 'an array');
}

/** Human summary of a value; arrays longer than `maxItems` are summarised as `[type x N: a, b, c, ...]`. */
export function formatValue(e: GGUFEntry, maxItems = 8): string {
  if (e.type !== GGUFValueType.ARRAY) return formatScalar(e.value, e.type);
  const a = e.value as GGUFArray;
  const one = (v: unknown): string => formatScalar(v, a.itemType);
  const items = Array.from(a.values as ArrayLike<unknown>);
  const shown = items.slice(0, maxItems).map((v) =>
    typeof v === 'object' && v !== null && 'itemType' in v ? `[${GGUFValueType[(v as GGUFArray).itemType]} x ${(v as GGUFArray).values.length}]` : one(v),
  );
  const more = items.length > maxItems ? ', ...' : '';
  return `[${GGUFValueType[a.itemType]} x ${items.length}: ${shown.join(', ')}${more}]`;
}

/** Shortest decimal that reads back as the same float32 (1e-5 rather than 0.000009999999747378752). */
function shortestF32(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(v);
}

function formatScalar(v: unknown, type: GGUFValueType): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 120 ? `${v.slice(0, 117)}...` : v);
  if (type === GGUFValueType.FLOAT32 && typeof v === 'number') return shortestF32(v);
  return String(v);
}
