// ggml tensor types with their numeric ids exactly as in ggml.h (enum ggml_type); GGUF stores these ids.
// Ids of types removed from ggml (4, 5: Q4_2/Q4_3; 31-33: Q4_0_4_4 etc.) are absent on purpose.
export enum GGMLType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
}

/** Block geometry of every ggml type id (elements per block, bytes per block), whether or not we compute on it. */
export interface TypeGeometry {
  readonly blockSize: number;
  readonly typeSize: number;
}

// Geometry of every id ggml defines, so the reader can size tensors of types we cannot compute on
// (inspect still works; compute gives a typed `unsupported_quant` error). Values from ggml.c type_traits.
export const GGML_TYPE_GEOMETRY: Readonly<Record<number, TypeGeometry>> = {
  [GGMLType.F32]: { blockSize: 1, typeSize: 4 },
  [GGMLType.F16]: { blockSize: 1, typeSize: 2 },
  [GGMLType.Q4_0]: { blockSize: 32, typeSize: 18 },
  [GGMLType.Q4_1]: { blockSize: 32, typeSize: 20 },
  [GGMLType.Q5_0]: { blockSize: 32, typeSize: 22 },
  [GGMLType.Q5_1]: { blockSize: 32, typeSize: 24 },
  [GGMLType.Q8_0]: { blockSize: 32, typeSize: 34 },
  [GGMLType.Q8_1]: { blockSize: 32, typeSize: 36 },
  [GGMLType.Q2_K]: { blockSize: 256, typeSize: 84 },
  [GGMLType.Q3_K]: { blockSize: 256, typeSize: 110 },
  [GGMLType.Q4_K]: { blockSize: 256, typeSize: 144 },
  [GGMLType.Q5_K]: { blockSize: 256, typeSize: 176 },
  [GGMLType.Q6_K]: { blockSize: 256, typeSize: 210 },
  [GGMLType.Q8_K]: { blockSize: 256, typeSize: 292 },
  [GGMLType.IQ2_XXS]: { blockSize: 256, typeSize: 66 },
  [GGMLType.IQ2_XS]: { blockSize: 256, typeSize: 74 },
  [GGMLType.IQ3_XXS]: { blockSize: 256, typeSize: 98 },
  [GGMLType.IQ1_S]: { blockSize: 256, typeSize: 50 },
  [GGMLType.IQ4_NL]: { blockSize: 32, typeSize: 18 },
  [GGMLType.IQ3_S]: { blockSize: 256, typeSize: 110 },
  [GGMLType.IQ2_S]: { blockSize: 256, typeSize: 82 },
  [GGMLType.IQ4_XS]: { blockSize: 256, typeSize: 136 },
  [GGMLType.I8]: { blockSize: 1, typeSize: 1 },
  [GGMLType.I16]: { blockSize: 1, typeSize: 2 },
  [GGMLType.I32]: { blockSize: 1, typeSize: 4 },
  [GGMLType.I64]: { blockSize: 1, typeSize: 8 },
  [GGMLType.F64]: { blockSize: 1, typeSize: 8 },
  [GGMLType.IQ1_M]: { blockSize: 256, typeSize: 56 },
  [GGMLType.BF16]: { blockSize: 1, typeSize: 2 },
  [GGMLType.TQ1_0]: { blockSize: 256, typeSize: 54 },
  [GGMLType.TQ2_0]: { blockSize: 256, typeSize: 66 },
  [GGMLType.MXFP4]: { blockSize: 32, typeSize: 17 },
};

/** ggml's name for a type id (`q4_K`-style names are upper-cased here: `Q4_K`), or `type#N` for unknown ids. */
export function ggmlTypeName(id: number): string {
  const name = (GGMLType as unknown as Record<number, string | undefined>)[id];
  return name ?? `type#${id}`;
}

export function isKnownGGMLType(id: number): id is GGMLType {
  return GGML_TYPE_GEOMETRY[id] !== undefined;
}

/** Parses a type name as users write it (`q4_k`, `Q4_K`, `bf16`). Returns undefined when unknown. */
export function parseGGMLType(name: string): GGMLType | undefined {
  const v = (GGMLType as unknown as Record<string, number | undefined>)[name.toUpperCase()];
  return v === undefined ? undefined : (v as GGMLType);
}
