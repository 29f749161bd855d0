// The shader library as Vite (pages, vitest) bundles it: every shaders/**/*.wgsl as text. Node without Vite
// (the CLI under tsx, scripts) reads the same files from disk and calls shaderLibrary() itself.
/// <reference types="vite/client" />
import { shaderLibrary, type ShaderLibrary } from './wgsl-pre.ts';

const PREFIX = '../../../shaders/';

export function viteShaderLibrary(): ShaderLibrary {
  const files = import.meta.glob<string>(['../../../shaders/**/*.wgsl', '!../../../shaders/lab/**'], { query: '?raw', import: 'default', eager: true });
  return shaderLibrary(Object.entries(files).map(([p, text]) => [p.slice(PREFIX.length), text] as const));
}
