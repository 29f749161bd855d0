// Runs the `ktweb` command line as a user would (node bin/ktweb.mjs …) and returns its exit code and output,
// whether it succeeded or not.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function ktweb(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('node', ['bin/ktweb.mjs', ...args], { maxBuffer: 32 << 20 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}
