// `ktweb inspect FILE [--json]`: metadata, tensors with type/shape/bytes, totals by type.
import type { Command } from 'commander';
import { summarize } from '../gguf/summary.ts';
import { formatBytes, table } from './format.ts';
import { openModelFile } from './open-model.ts';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show the metadata and tensors of a GGUF file (split models: give the first part)')
    .argument('<file>', 'GGUF file')
    .option('--json', 'machine-readable output')
    .option('--max-array-items <n>', 'array items shown before summarising', '8')
    .action(async (file: string, opts: { json?: boolean; maxArrayItems: string }) => {
      const model = await openModelFile(file);
      try {
        const s = summarize(model, Number(opts.maxArrayItems));
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
          return;
        }
        const out: string[] = [];
        for (const f of s.files) out.push(`${f.name}: GGUF v${f.version}, ${formatBytes(f.bytes)}, ${f.tensors} tensors`);
        out.push('', `metadata (${Object.keys(s.metadata).length} keys)`);
        out.push(table(['key', 'type', 'value'], Object.entries(s.metadata).map(([k, v]) => [k, v.type, v.text])));
        out.push('', `tensors (${s.totalTensors})`);
        out.push(table(['name', 'type', 'shape', 'bytes'], s.tensors.map((t) => [t.name, t.type, `[${t.shape.join(', ')}]`, String(t.bytes)])));
        out.push('', 'totals by type');
        const rows = Object.entries(s.totalsByType).map(([type, r]) => [type, String(r.tensors), String(r.elements), formatBytes(r.bytes)]);
        rows.push(['all', String(s.totalTensors), String(s.totalElements), formatBytes(s.totalBytes)]);
        out.push(table(['type', 'tensors', 'elements', 'bytes'], rows));
        process.stdout.write(`${out.join('\n')}\n`);
      } finally {
        await model.close();
      }
    });
}
