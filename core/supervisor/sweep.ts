/**
 * What a process killed mid-write leaves behind: temp files of atomic writes (`.<name>.<pid>.<n>
 * .tmp`) whose writer is gone, and session dirs it had only just made (empty). Swept when an
 * orchestrator starts; nothing another live process may still be writing is touched.
 */
import { readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { lstatOrUndefined } from "../base/fsx";
import { isAlive } from "../processes/proc";
import { listEntries } from "../workspace/paths";

const TMP_RE = /^\..+\.(\d+)\.\d+\.tmp$/;
/** An empty session dir younger than this may be a `team start` or claim in progress. */
const EMPTY_DIR_AGE_MS = 60_000;

function sweepDir(dir: string, dead: (pid: number) => boolean): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return -1;
  }
  for (const name of names) {
    const m = TMP_RE.exec(name);
    if (!m || !dead(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {}
  }
  return names.length;
}

export function sweepLeftovers(workspace: string, now = Date.now()): void {
  const seen = new Map<number, boolean>();
  const dead = (pid: number) => {
    if (pid === process.pid) return false;
    if (!seen.has(pid)) seen.set(pid, !isAlive(pid));
    return seen.get(pid)!;
  };
  sweepDir(workspace, dead);
  for (const e of listEntries(workspace)) {
    if (e.kind !== "session") continue;
    const dir = join(workspace, e.dir);
    if (sweepDir(dir, dead) !== 0) continue;
    const age = now - (lstatOrUndefined(dir)?.mtimeMs ?? now);
    if (age < EMPTY_DIR_AGE_MS) continue;
    try {
      rmdirSync(dir); // fails (and is left) if anything appeared in it meanwhile
    } catch {}
  }
}
