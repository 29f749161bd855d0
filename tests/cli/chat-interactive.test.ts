// Interactive `ktweb chat`: answers each line from stdin; Ctrl-C (SIGINT) stops the answer being generated and
// the conversation goes on; closing stdin ends the process normally.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('ktweb chat (interactive)', () => {
  it('SIGINT stops generation, not the process', async () => {
    const p = spawn('node', ['bin/ktweb.mjs', 'chat', '--gguf-path', 'models/stories260K.gguf', '--max-new-tokens', '400', '--ctx', '2048'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const until = async (f: () => boolean, ms: number): Promise<void> => {
      const t0 = Date.now();
      while (!f()) {
        if (Date.now() - t0 > ms) throw new Error(`timed out; stdout: ${out.slice(-300)} stderr: ${err.slice(-300)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    p.stdin.write('Once upon a time\n');
    await until(() => out.length > 40, 30_000); // generating
    p.kill('SIGINT');
    await until(() => /stop: aborted/.test(err), 10_000);
    // The conversation goes on: the next line gets a full answer, then closing stdin ends the process.
    p.stdin.write('The dog\n');
    p.stdin.end();
    const code = await new Promise<number | null>((r) => p.on('exit', r));
    expect(code).toBe(0);
    const stops = [...err.matchAll(/stop: (\w+)/g)].map((m) => m[1]);
    expect(stops).toHaveLength(2);
    expect(stops[0]).toBe('aborted');
    expect(['eog', 'length']).toContain(stops[1]);
  }, 90_000);
});
