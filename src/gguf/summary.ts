// What `ktweb inspect` shows: metadata (long arrays summarised), tensors (name, type, shape, bytes) and totals
// per type. Pure data, so the CLI prints it and the pages can render the same thing.
import { ggmlTypeName } from '../core/ggml-type.ts';
import { formatValue } from './metadata.ts';
import type { GGUFModel } from './model.ts';
import { GGUFValueType, type GGUFArray, type GGUFValue } from './types.ts';

export interface TensorSummary {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly number[];
  readonly bytes: number;
  readonly file: number;
}

export interface ModelSummary {
  readonly files: readonly { name: string; version: number; bytes: number; tensors: number }[];
  /** value: the JSON value (u64/i64 as decimal strings; arrays as {itemType, length, head}); text: one line for humans. */
  readonly metadata: Readonly<Record<string, { type: string; value: unknown; text: string }>>;
  readonly tensors: readonly TensorSummary[];
  readonly totalsByType: Readonly<Record<string, { tensors: number; elements: number; bytes: number }>>;
  readonly totalTensors: number;
  readonly totalElements: number;
  readonly totalBytes: number;
}

export function summarize(model: GGUFModel, maxArrayItems = 8): ModelSummary {
  const metadata: Record<string, { type: string; value: unknown; text: string }> = {};
  for (const [k, e] of model.metadata) {
    const type = GGUFValueType[e.type] ?? String(e.type);
    metadata[k] = { type, value: jsonValue(e.value, maxArrayItems), text: formatValue(e, maxArrayItems) };
  }
  const tensors: TensorSummary[] = [];
  const totals: Record<string, { tensors: number; elements: number; bytes: number }> = {};
  let totalElements = 0;
  let totalBytes = 0;
  model.files.forEach((f, fi) => {
    for (const t of f.tensors) {
      const type = ggmlTypeName(t.type);
      tensors.push({ name: t.name, type, shape: t.dims, bytes: t.nBytes, file: fi });
      const row = (totals[type] ??= { tensors: 0, elements: 0, bytes: 0 });
      row.tensors++;
      row.elements += t.nElements;
      row.bytes += t.nBytes;
      totalElements += t.nElements;
      totalBytes += t.nBytes;
    }
  });
  return {
    files: model.files.map((f) => ({ name: f.source.name, version: f.version, bytes: f.source.size, tensors: f.tensors.length })),
    metadata,
    tensors,
    totalsByType: totals,
    totalTensors: tensors.length,
    totalElements,
    totalBytes,
  };
}

function jsonValue(v: GGUFValue, maxItems: number): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object') return v;
  const a: GGUFArray = v;
  const head = Array.from(a.values as ArrayLike<GGUFValue>)
    .slice(0, maxItems)
    .map((x) => jsonValue(x, maxItems));
  return { itemType: GGUFValueType[a.itemType], length: a.values.length, head };
}
