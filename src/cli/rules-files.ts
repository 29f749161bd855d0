// Where the CLI finds placement rules: a shipped file by bare name (`all-cpu.yaml` → rules/all-cpu.yaml), anything
// that is a path or a file in the current directory as that file.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from '../core/errors.ts';

export const RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));

/** Whether `--rules NAME` names a file of the user's (else one of the shipped rule files). */
export function isRulesPath(name: string): boolean {
  return name.includes('/') || existsSync(name);
}

/** The absolute path of `--rules NAME`. */
export function rulesPath(name: string): string {
  return isRulesPath(name) ? resolve(name) : join(RULES_DIR, name);
}

/** A rule file by bare name (shipped; also `extends:` between shipped files) or by path. */
export async function readRuleFile(name: string): Promise<string> {
  const path = name.includes('/') ? resolve(name) : join(RULES_DIR, name);
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new EngineError('bad_argument', `cannot read rules file ${path}`, { file: path });
  }
}
