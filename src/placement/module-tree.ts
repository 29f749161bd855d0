// The module tree placement rules walk: HF module paths (model.layers.3.mlp.experts) with the HF class of each
// module, built from the module scopes of a model's graph. Every weight hangs on the module whose scope recorded
// it. Rotary embeddings have no nodes of their own (rope runs inside attention) but appear as modules, because
// KTransformers rule files match them by class.
import type { Graph } from '../graph/graph.ts';

export interface ModuleNode {
  readonly path: string;
  readonly cls: string;
  readonly children: ModuleNode[];
  /** GGUF tensors recorded in exactly this module. */
  readonly tensors: string[];
}

/** HF model family, which names the classes (DeepseekV2MoE, Qwen3MoeSparseMoeBlock, ...). */
export type Family = 'Llama' | 'Mixtral' | 'DeepseekV2' | 'DeepseekV3' | 'Qwen2Moe' | 'Qwen3Moe';

function classOf(path: string, family: Family, moeLayers: ReadonlySet<string>, yarn: boolean): string {
  const last = path.slice(path.lastIndexOf('.') + 1);
  const F = family;
  if (path === 'model') return `${F}Model`;
  if (path === 'lm_head' || /_proj(_|$)/.test(last) || last === 'shared_expert_gate') return 'torch.nn.Linear';
  if (path === 'model.embed_tokens') return 'torch.nn.Embedding';
  if (path === 'model.layers' || last === 'experts') return 'torch.nn.ModuleList';
  if (/^model\.layers\.\d+$/.test(path)) return `${F}DecoderLayer`;
  if (last === 'self_attn') return `${F}Attention`;
  if (last === 'rotary_emb') return F === 'DeepseekV2' && yarn ? 'DeepseekV2YarnRotaryEmbedding' : `${F}RotaryEmbedding`;
  if (path === 'model.norm' || last.endsWith('layernorm') || last === 'q_norm' || last === 'k_norm') return `${F}RMSNorm`;
  if (last === 'block_sparse_moe') return 'MixtralSparseMoeBlock';
  if (last === 'mlp') {
    if (!moeLayers.has(path)) return `${F === 'Mixtral' ? 'Mixtral' : F}MLP`;
    return F === 'DeepseekV2' || F === 'DeepseekV3' ? `${F}MoE` : `${F}SparseMoeBlock`;
  }
  if (last === 'gate') return F === 'DeepseekV2' || F === 'DeepseekV3' ? 'MoEGate' : 'torch.nn.Linear';
  if (last === 'shared_experts') return `${F}MLP`;
  if (last === 'shared_expert') return 'Qwen2MoeMLP';
  return 'torch.nn.Module';
}

export function moduleTree(g: Graph, family: Family, yarn: boolean): ModuleNode {
  const root: ModuleNode = { path: '', cls: '', children: [], tensors: [] };
  const byPath = new Map<string, ModuleNode>([['', root]]);
  const moeLayers = new Set<string>();
  for (const n of g.nodes) {
    if (n.spec.op === 'moe_experts') moeLayers.add(n.module.slice(0, n.module.lastIndexOf('.')));
  }
  const ensure = (path: string): ModuleNode => {
    let m = byPath.get(path);
    if (m !== undefined) return m;
    const dot = path.lastIndexOf('.');
    const parent = ensure(dot < 0 ? '' : path.slice(0, dot));
    m = { path, cls: classOf(path, family, moeLayers, yarn), children: [], tensors: [] };
    parent.children.push(m);
    byPath.set(path, m);
    if (path.endsWith('.self_attn')) ensure(`${path}.rotary_emb`);
    return m;
  };
  for (const n of g.nodes) {
    const m = ensure(n.module);
    if (n.spec.op === 'weight' && !m.tensors.includes(n.spec.name)) m.tensors.push(n.spec.name);
  }
  return root;
}

/** Depth-first, parents before children, in graph order. */
export function* walk(m: ModuleNode): Generator<ModuleNode> {
  if (m.path !== '') yield m;
  for (const c of m.children) yield* walk(c);
}
