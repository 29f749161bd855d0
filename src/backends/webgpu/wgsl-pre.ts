// WGSL assembly: shaders/ is a library of text files keyed by their path under shaders/ ("mul_mat_vec.wgsl",
// "common/quant/q4_k.wgsl"). A kernel is one skeleton plus defines: `#include "path"` (once per file, `{{NAME}}`
// substituted from string defines), `#ifdef/#ifndef/#else/#endif`, numeric defines become `const NAME: u32`.
import { EngineError } from '../../core/errors.ts';

/** WGSL sources by path relative to shaders/. */
export type ShaderLibrary = ReadonlyMap<string, string>;

export type Defines = Readonly<Record<string, string | number | boolean>>;

/** Builds a library from (path, text) pairs; paths are normalised to forward slashes without a leading ./ */
export function shaderLibrary(entries: Iterable<readonly [string, string]>): ShaderLibrary {
  const m = new Map<string, string>();
  for (const [p, text] of entries) m.set(p.replace(/\\/g, '/').replace(/^\.\//, ''), text);
  return m;
}

const INCLUDE = /^\s*#include\s+"([^"]+)"\s*$/;
const COND = /^\s*#(ifdef|ifndef)\s+(\w+)\s*$/;

function substitute(text: string, defines: Defines): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const v = defines[name];
    if (v === undefined || v === false) throw new EngineError('model_invalid', `WGSL template needs define ${name}`);
    return String(v);
  });
}

function expand(lib: ShaderLibrary, path: string, defines: Defines, seen: Set<string>, out: string[]): void {
  if (seen.has(path)) return;
  seen.add(path);
  const src = lib.get(path);
  if (src === undefined) throw new EngineError('model_invalid', `shader ${path} is missing from the shader library (shaders/ not bundled?)`);
  const active: boolean[] = [];
  const on = (): boolean => active.every(Boolean);
  for (const line of src.split('\n')) {
    const cond = COND.exec(line);
    if (cond !== null) {
      const v = defines[cond[2]!];
      const defined = v !== undefined && v !== false;
      active.push(cond[1] === 'ifdef' ? defined : !defined);
      continue;
    }
    if (/^\s*#else\s*$/.test(line)) {
      if (active.length === 0) throw new EngineError('model_invalid', `${path}: #else without #ifdef`);
      active.push(!active.pop()!);
      continue;
    }
    if (/^\s*#endif\s*$/.test(line)) {
      if (active.pop() === undefined) throw new EngineError('model_invalid', `${path}: #endif without #ifdef`);
      continue;
    }
    if (!on()) continue;
    const inc = INCLUDE.exec(line);
    if (inc !== null) expand(lib, substitute(inc[1]!, defines), defines, seen, out);
    else out.push(substitute(line, defines));
  }
  if (active.length !== 0) throw new EngineError('model_invalid', `${path}: unterminated #ifdef`);
}

/** The WGSL module for `entry` under `defines`; `enable` directives (e.g. subgroups) go first, as WGSL requires. */
export function preprocessWgsl(lib: ShaderLibrary, entry: string, defines: Defines, enables: readonly string[] = []): string {
  const out: string[] = enables.map((e) => `enable ${e};`);
  for (const [k, v] of Object.entries(defines)) if (typeof v === 'number') out.push(`const ${k}: u32 = ${v >>> 0}u;`);
  expand(lib, entry, defines, new Set(), out);
  return out.join('\n');
}
