// `ktweb tokenize (--gguf-path P | --model-path DIR) [--json] TEXT`: token ids and pieces as the engine sees them.
import type { Command } from 'commander';
import { loadTokenizer } from './load-text-model.ts';
import { openModelFile } from './open-model.ts';

export function registerTokenize(program: Command): void {
  program
    .command('tokenize')
    .description('show the token ids (and pieces) of TEXT')
    .argument('<text>', 'text to tokenize')
    .option('--gguf-path <file>', 'GGUF whose vocabulary to use')
    .option('--model-path <dir>', 'HF model directory with tokenizer.json')
    .option('--no-special', 'do not add BOS/EOS')
    .option('--parse-special', 'match control tokens written in the text')
    .option('--json', 'machine-readable output')
    .action(async (text: string, o: { ggufPath?: string; modelPath?: string; special: boolean; parseSpecial?: boolean; json?: boolean }) => {
      const gguf = o.ggufPath !== undefined ? await openModelFile(o.ggufPath) : undefined;
      try {
        const tokenizer = await loadTokenizer(gguf, o.modelPath);
        const ids = tokenizer.encode(text, { addSpecial: o.special, parseSpecial: o.parseSpecial === true });
        if (o.json === true) {
          process.stdout.write(`${JSON.stringify({ ids, pieces: ids.map((id) => tokenizer.tokenText(id)) })}\n`);
        } else {
          for (const id of ids) process.stdout.write(`${String(id).padStart(7)} ${JSON.stringify(tokenizer.tokenText(id))}\n`);
        }
      } finally {
        await gguf?.close();
      }
    });
}
