// Placement rule files: KTransformers' YAML schema (an ordered list of match / replace / recursive) plus
// `extends:` ({extends: base.yaml, rules: [...]}: this file's rules first, then the base's). Parsed with the
// `yaml` library so every error names the file and line; regexes use Python's re.search semantics.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { EngineError } from '../core/errors.ts';
import { KWARGS, OPS, opClassOf, parseDevice, type Device, type OpClass } from './vocabulary.ts';

export interface Rule {
  readonly file: string;
  readonly line: number;
  readonly name?: RegExp;
  readonly cls?: string;
  readonly replaceClass: string;
  readonly op: OpClass;
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly generateDevice?: Device;
  readonly prefillDevice?: Device;
  readonly outDevice?: Device;
  readonly recursive: boolean;
  /** From a file reached through `extends:`: the extending file may shadow it, so matching nothing is fine. */
  readonly inherited?: boolean;
}

export interface RuleFile {
  readonly extends?: string;
  readonly rules: readonly Rule[];
}

export function ruleError(file: string, line: number, message: string): EngineError {
  return new EngineError('rule_invalid', `${file}:${line}: ${message}`, { file, reading: `rule at line ${line}` });
}

/** Python `re` syntax that differs from JavaScript's: named groups and backreferences, \A and \Z. */
function pythonRegex(src: string): string {
  return src.replace(/\(\?P<(\w+)>/g, '(?<$1>').replace(/\(\?P=(\w+)\)/g, '\\k<$1>').replace(/\\A/g, '^').replace(/\\Z/g, '$');
}

export function parseRuleFile(text: string, file: string): RuleFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const lineOf = (n: Node | null | undefined): number => (n?.range !== undefined && n.range !== null ? lc.linePos(n.range[0]).line : 1);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw ruleError(file, lc.linePos(e.pos[0]).line, `YAML syntax: ${e.message.split('\n')[0]}`);
  }
  let list: Node | null = doc.contents;
  let ext: string | undefined;
  if (isMap(list)) {
    const top = list;
    for (const p of top.items) {
      const k = isScalar(p.key) ? String(p.key.value) : '';
      if (k !== 'extends' && k !== 'rules') throw ruleError(file, lineOf(p.key as Node), `unknown top-level key "${k}" (expected a list of rules, or extends: + rules:)`);
    }
    const e = top.get('extends', true);
    if (e !== undefined) {
      if (!isScalar(e) || typeof e.value !== 'string') throw ruleError(file, lineOf(e as Node), 'extends: must be a file name');
      ext = e.value;
    }
    list = (top.get('rules', true) as Node | undefined) ?? null;
    if (list === null) return { extends: ext, rules: [] };
  }
  if (!isSeq(list)) throw ruleError(file, lineOf(list), 'a rules file is a list of rules (- match: ... replace: ...)');
  const rules = list.items.map((item) => parseRule(item as Node, file, lineOf));
  return { extends: ext, rules };
}

function parseRule(node: Node, file: string, lineOf: (n: Node | null | undefined) => number): Rule {
  const line = lineOf(node);
  if (!isMap(node)) throw ruleError(file, line, 'each rule is a mapping with match:, replace: and optionally recursive:');
  const m = node as YAMLMap;
  for (const p of m.items) {
    const k = isScalar(p.key) ? String(p.key.value) : '';
    if (!['match', 'replace', 'recursive'].includes(k)) throw ruleError(file, lineOf(p.key as Node), `unknown rule key "${k}" (allowed: match, replace, recursive)`);
  }
  const match = m.get('match', true) as Node | undefined;
  if (!isMap(match)) throw ruleError(file, line, 'match: is required and must be a mapping with name: and/or class:');
  let name: RegExp | undefined;
  let cls: string | undefined;
  for (const p of match.items) {
    const k = isScalar(p.key) ? String(p.key.value) : '';
    const v = p.value as Node | null;
    const at = lineOf(v ?? (p.key as Node));
    if (k === 'name') {
      if (!isScalar(v) || typeof v.value !== 'string') throw ruleError(file, at, 'match.name must be a regular expression string');
      try {
        name = new RegExp(pythonRegex(v.value));
      } catch (e) {
        throw ruleError(file, at, `match.name is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`);
      }
    } else if (k === 'class') {
      if (!isScalar(v) || typeof v.value !== 'string') throw ruleError(file, at, 'match.class must be a class name');
      cls = v.value;
    } else {
      throw ruleError(file, at, `unknown match key "${k}" (allowed: name, class)`);
    }
  }
  if (name === undefined && cls === undefined) throw ruleError(file, lineOf(match), 'match: needs name: or class:');

  const replace = m.get('replace', true) as Node | undefined;
  if (!isMap(replace)) throw ruleError(file, line, 'replace: is required (class: default keeps the module and only sets devices)');
  let replaceClass = 'default';
  let kwargs: Record<string, unknown> = {};
  for (const p of replace.items) {
    const k = isScalar(p.key) ? String(p.key.value) : '';
    const v = p.value as Node | null;
    const at = lineOf(v ?? (p.key as Node));
    if (k === 'class') {
      if (!isScalar(v) || typeof v.value !== 'string') throw ruleError(file, at, 'replace.class must be a class name');
      replaceClass = v.value;
    } else if (k === 'kwargs') {
      if (!isMap(v)) throw ruleError(file, at, 'replace.kwargs must be a mapping');
      for (const kp of v.items) {
        const kk = isScalar(kp.key) ? String(kp.key.value) : '';
        if (!KWARGS.has(kk)) throw ruleError(file, lineOf(kp.key as Node), `unknown kwarg "${kk}" (known: ${[...KWARGS].join(', ')})`);
      }
      kwargs = v.toJSON() as Record<string, unknown>;
    } else {
      throw ruleError(file, at, `unknown replace key "${k}" (allowed: class, kwargs)`);
    }
  }
  const op = opClassOf(replaceClass);
  if (op === undefined) throw ruleError(file, lineOf(replace), `unknown replace class "${replaceClass}"; use one of default, model, linear, experts, moe, attention, gate, rope, norm, mlp or a KTransformers operator class`);
  const dev = (key: string): Device | undefined => {
    const v = kwargs[key];
    if (v === undefined) return undefined;
    const d = parseDevice(v);
    if (d === undefined) throw ruleError(file, lineOf(replace), `${key}: "${String(v)}" is not a device here (cpu, gpu, cuda, cuda:N)`);
    return d;
  };
  // Older KTransformers files spell generate_op/prefill_op as generate_mlp_type/prefill_mlp_type.
  for (const [old, now] of [['generate_mlp_type', 'generate_op'], ['prefill_mlp_type', 'prefill_op']] as const) {
    if (kwargs[old] !== undefined && kwargs[now] === undefined) kwargs[now] = kwargs[old];
  }
  for (const key of ['generate_op', 'prefill_op']) {
    const v = kwargs[key];
    if (v !== undefined && (typeof v !== 'string' || OPS[v] === undefined)) throw ruleError(file, lineOf(replace), `${key}: unknown op "${String(v)}" (known: ${Object.keys(OPS).join(', ')})`);
  }
  const rec = m.get('recursive', true) as Node | undefined;
  if (rec !== undefined && (!isScalar(rec) || typeof rec.value !== 'boolean')) throw ruleError(file, lineOf(rec), 'recursive: must be true or false');
  return {
    file,
    line,
    name,
    cls,
    replaceClass,
    op,
    kwargs,
    generateDevice: dev('generate_device'),
    prefillDevice: dev('prefill_device'),
    outDevice: dev('out_device'),
    recursive: rec === undefined ? true : (rec as { value: boolean }).value,
  };
}

/**
 * Loads a rule file and the chain of files it extends (relative to it). `read` gives a file's text; the faces
 * pass file-system or bundled readers. A cycle of extends is an error.
 */
export async function loadRules(path: string, read: (path: string) => Promise<string>, resolve: (from: string, rel: string) => string, seen: string[] = []): Promise<Rule[]> {
  if (seen.includes(path)) throw new EngineError('rule_invalid', `extends cycle: ${[...seen, path].join(' → ')}`, { file: path });
  const rf = parseRuleFile(await read(path), path);
  if (rf.extends === undefined) return [...rf.rules];
  const base = await loadRules(resolve(path, rf.extends), read, resolve, [...seen, path]);
  return [...rf.rules, ...base.map((r) => ({ ...r, inherited: true }))];
}
