// The process's peak resident memory (Linux VmHWM), reset before a placement loads (writing 5 to
// /proc/self/clear_refs), so that `ktweb bench` can set each load's peak beside the memory its plan predicted.
// Elsewhere (no /proc) both answer undefined / false and the bench reports no peak.
import { readFileSync, writeFileSync } from 'node:fs';

export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

export function peakRssBytes(): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb !== undefined ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
