// Applies rules to the module tree with KTransformers' semantics: depth-first, parents before children, the
// first matching rule wins (name by re.search AND class when both are given), `recursive: false` hands the
// module's placement to its whole subtree without matching it, unmatched modules get the default device.
// A rule that matches no module is an error naming its file and line.
import type { ModuleNode } from './module-tree.ts';
import { ruleError, type Rule } from './rules.ts';
import type { Device, OpClass } from './vocabulary.ts';

export interface Placement {
  readonly generate: Device;
  readonly prefill: Device;
  readonly op: OpClass;
  readonly generateOp?: string;
  readonly prefillOp?: string;
  /** Where a CPU op's output goes (KTransformers out_device). */
  readonly outDevice?: Device;
  readonly rule?: Rule;
  /** Placed by an ancestor's `recursive: false` rule. */
  readonly inherited: boolean;
}

export interface ModulePlacement {
  readonly path: string;
  readonly cls: string;
  readonly tensors: readonly string[];
  readonly placement: Placement;
}

const lastSegment = (s: string): string => s.slice(s.lastIndexOf('.') + 1);

function matches(r: Rule, m: ModuleNode): boolean {
  if (r.name !== undefined && !r.name.test(m.path)) return false;
  return r.cls === undefined || lastSegment(r.cls) === lastSegment(m.cls);
}

function placementOf(r: Rule, def: Device, layerwisePrefill: boolean): Placement {
  const generate = r.generateDevice ?? def;
  const gop = typeof r.kwargs['generate_op'] === 'string' ? r.kwargs['generate_op'] : undefined;
  const pop = typeof r.kwargs['prefill_op'] === 'string' ? r.kwargs['prefill_op'] : undefined;
  // KTransformers' linear and expert operators run their generate_op for prefill too unless layer-wise prefill
  // is on (all its shipped rule files turn it off), so their prefill_device is not where prefill happens.
  const ktGenerateOnly = r.replaceClass.startsWith('ktransformers.') && (r.op === 'linear' || r.op === 'experts') && !layerwisePrefill;
  return {
    generate,
    prefill: ktGenerateOnly ? generate : (r.prefillDevice ?? def),
    op: r.op,
    generateOp: gop,
    prefillOp: ktGenerateOnly ? gop : pop,
    outDevice: r.outDevice,
    rule: r,
    inherited: false,
  };
}

export function placeModules(root: ModuleNode, rules: readonly Rule[], defaultDevice: Device): ModulePlacement[] {
  const used = new Set<Rule>();
  const out: ModulePlacement[] = [];
  const layerwisePrefill = rules.some((r) => Number(r.kwargs['per_layer_prefill_intput_threshold'] ?? 0) > 0);
  const visit = (m: ModuleNode, inherited: Placement | undefined): void => {
    let p: Placement;
    if (inherited !== undefined) {
      p = { ...inherited, inherited: true };
    } else {
      const r = rules.find((x) => matches(x, m));
      if (r !== undefined) used.add(r);
      p = r === undefined ? { generate: defaultDevice, prefill: defaultDevice, op: 'default', inherited: false } : placementOf(r, defaultDevice, layerwisePrefill);
    }
    if (m.path !== '') out.push({ path: m.path, cls: m.cls, tensors: m.tensors, placement: p });
    const passDown = inherited ?? (p.rule !== undefined && !p.rule.recursive && m.path !== '' ? p : undefined);
    for (const c of m.children) visit(c, passDown);
  };
  visit(root, undefined);
  const unused = rules.find((r) => !used.has(r) && r.inherited !== true);
  if (unused !== undefined) throw ruleError(unused.file, unused.line, 'this rule matches no module of the model; fix its name/class or remove it');
  return out;
}
