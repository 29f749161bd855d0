#!/usr/bin/env node
// Size budget (house style): no source file over 700 lines; warn over 400. Run by `npm test`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['src', 'shaders', 'wasm'];
const exts = /\.(ts|wgsl|c|h)$/;
const FAIL = 700;
const WARN = 400;
let failed = false;

function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (e !== 'out' && e !== 'node_modules') walk(p);
    } else if (exts.test(e)) {
      const n = readFileSync(p, 'utf8').split('\n').length;
      if (n > FAIL) {
        console.error(`check-sizes: ${p} has ${n} lines (limit ${FAIL}); split it by responsibility`);
        failed = true;
      } else if (n > WARN) {
        console.warn(`check-sizes: ${p} has ${n} lines (over ${WARN})`);
      }
    }
  }
}
for (const r of roots) walk(r);
process.exit(failed ? 1 : 0);
