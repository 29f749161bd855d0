export * from './types.ts';
export * from './metadata.ts';
export { readGGUF } from './reader.ts';
export { GGUFModel, openGGUF, splitShardNames, type TensorRef } from './model.ts';
export { writeGGUF, tensorBytes, type GGUFToWrite, type TensorToWrite, type TensorBytes } from './writer.ts';
