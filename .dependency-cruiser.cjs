// Layer direction of DESIGN.md §2, checked in `npm test`: a wrong import fails the build.
// Layers may import only what is listed for them (plus themselves); everything else is forbidden.
const layers = {
  core: [],
  gguf: ['core'],
  quant: ['core'],
  tokenizer: ['core', 'gguf'],
  graph: ['core', 'quant'],
  models: ['core', 'gguf', 'quant', 'graph', 'tokenizer'],
  placement: ['core', 'gguf', 'graph', 'models'],
  backends: ['core', 'quant', 'graph'],
  storage: ['core'],
  runtime: ['core', 'gguf', 'quant', 'graph', 'models', 'placement', 'backends', 'tokenizer', 'storage'],
  api: ['core', 'runtime', 'gguf', 'tokenizer', 'models', 'placement', 'storage'],
  cli: ['core', 'api', 'storage', 'gguf', 'quant', 'models', 'placement', 'runtime', 'tokenizer', 'backends'],
  app: ['core', 'api', 'storage'],
  workers: ['core', 'api', 'storage', 'runtime', 'backends', 'gguf', 'quant', 'graph'],
};

const forbidden = Object.entries(layers).map(([layer, allowed]) => ({
  name: `layer-${layer}`,
  comment: `src/${layer} may import only: ${allowed.join(', ') || '(nothing)'} (DESIGN.md §2)`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: '^src/', pathNot: [`^src/${layer}/`, ...allowed.map((a) => `^src/${a}/`)] },
}));

// Only the faces and the storage adapters may touch Node; core and the compute layers must run in a page.
forbidden.push({
  name: 'no-node-in-lower-layers',
  comment: 'only cli/, workers/ and storage/ adapters may import node: modules',
  severity: 'error',
  from: { path: '^src/(core|gguf|quant|tokenizer|graph|models|placement|backends|runtime|api|app)/' },
  to: { dependencyTypes: ['core'] },
});
forbidden.push({
  name: 'no-circular',
  severity: 'error',
  from: {},
  to: { circular: true },
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
