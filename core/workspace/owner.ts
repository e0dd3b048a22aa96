/**
 * Who owns a workspace. One process at a time holds `<workspace>/.orchestrator.lock` (an flock:
 * the kernel releases it when the holder dies, so there is never a stale lock to take over):
 * the orchestrator for its whole life, `team stop` / `team resume` for a moment. The holder
 * writes who it is into the lock file, and an orchestrator also records itself in
 * `.orchestrator.json` (PID + kernel start time, so a reused PID is never taken for it) for
 * `team status` and `team stop`.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { UserError } from "../base/errors";
import { lstatOrUndefined, readJson, writeJsonAtomic } from "../base/fsx";
import { tryLockExclusive } from "../processes/libc";
import { isOurProcess, processStartTime } from "../processes/proc";

export interface OrchestratorPid {
  pid: number;
  startTime: string;
  startedAt: string;
  version: string;
  /** The budget it enforces (USD), if any. */
  budgetUsd?: number;
}

export const ORCHESTRATOR_PID_FILE = ".orchestrator.json";
export const LOCK_FILE = ".orchestrator.lock";

export function orchestratorPidPath(workspace: string): string {
  return join(workspace, ORCHESTRATOR_PID_FILE);
}

/** Record the calling process as the workspace's orchestrator (atomic: readers never see half). */
export function writeOrchestratorPid(workspace: string, version: string = pkg.version, extra: Partial<OrchestratorPid> = {}): OrchestratorPid {
  const rec: OrchestratorPid = { pid: process.pid, startTime: processStartTime(process.pid) ?? "", startedAt: new Date().toISOString(), version, ...extra };
  writeJsonAtomic(orchestratorPidPath(workspace), rec);
  return rec;
}

/** The recorded orchestrator, live or not; undefined when the file is missing or malformed. */
export function readOrchestratorPid(workspace: string): OrchestratorPid | undefined {
  const raw = readJson<Partial<OrchestratorPid>>(orchestratorPidPath(workspace));
  if (!raw || typeof raw !== "object" || typeof raw.pid !== "number" || !Number.isInteger(raw.pid) || raw.pid <= 1) return undefined;
  return {
    pid: raw.pid,
    startTime: typeof raw.startTime === "string" ? raw.startTime : "",
    startedAt: typeof raw.startedAt === "string" ? raw.startedAt : "",
    version: typeof raw.version === "string" ? raw.version : "",
    ...(typeof raw.budgetUsd === "number" ? { budgetUsd: raw.budgetUsd } : {}),
  };
}

/** The recorded orchestrator if that very process is still running. */
export function liveOrchestrator(workspace: string): OrchestratorPid | undefined {
  const rec = readOrchestratorPid(workspace);
  return rec && isOurProcess(rec.pid, rec.startTime) ? rec : undefined;
}

/** Remove the pid file; with `pid`, only while it still names that process. */
export function removeOrchestratorPid(workspace: string, pid?: number): void {
  if (pid !== undefined && readOrchestratorPid(workspace)?.pid !== pid) return;
  try {
    unlinkSync(orchestratorPidPath(workspace));
  } catch {}
}

export type OwnerRole = "orchestrator" | "team-stop" | "team-resume" | "retry";

export interface Holder {
  pid: number;
  role: string;
  startTime: string;
}

/** Who holds the lock, as it wrote itself into the lock file (undefined while unknown). */
export function lockHolder(workspace: string): Holder | undefined {
  try {
    const raw = JSON.parse(readFileSync(join(workspace, LOCK_FILE), "utf8"));
    return typeof raw?.pid === "number" ? { pid: raw.pid, role: String(raw.role ?? "?"), startTime: String(raw.startTime ?? "") } : undefined;
  } catch {
    return undefined;
  }
}

export interface WorkspaceLock {
  release(): void;
  /** Why the workspace this lock guards is not the one at its path any more (deleted, replaced). */
  lost(): string | undefined;
}

/** Take the workspace lock now, or answer undefined when another process holds it. */
export function tryLockWorkspace(workspace: string, role: OwnerRole): WorkspaceLock | undefined {
  const path = join(workspace, LOCK_FILE);
  // An earlier version kept a lock *directory* here (proper-lockfile).
  if (lstatOrUndefined(path)?.isDirectory()) rmSync(path, { recursive: true, force: true });
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  let ok = false;
  try {
    ok = tryLockExclusive(fd);
  } finally {
    if (!ok) closeSync(fd);
  }
  if (!ok) return undefined;
  ftruncateSync(fd, 0);
  writeSync(fd, JSON.stringify({ pid: process.pid, role, startTime: processStartTime(process.pid) ?? "" }), 0);
  const ws = lstatOrUndefined(workspace);
  const mine = fstatSync(fd);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      // The file stays: unlinking a locked file would let two processes lock two inodes.
      closeSync(fd);
    },
    lost() {
      const now = lstatOrUndefined(workspace);
      if (!now?.isDirectory() || now.ino !== ws?.ino || now.dev !== ws?.dev) return `the workspace ${workspace} was removed or replaced`;
      const file = lstatOrUndefined(path);
      if (!file || file.ino !== mine.ino) return `the workspace lock ${path} was removed or replaced`;
      return undefined;
    },
  };
}

function describeHolder(workspace: string): string {
  const h = lockHolder(workspace);
  if (!h) return "another claude-wrapper process";
  const what = h.role === "orchestrator" ? "an orchestrator" : `\`claude-wrapper ${h.role.replace("-", " ")}\``;
  return `${what} (PID ${h.pid})`;
}

/**
 * Take the workspace lock, waiting up to `waitMs` for a short-lived holder (`team stop`, a
 * resume). A running orchestrator is refused at once, naming its PID (exit 4).
 */
export async function lockWorkspace(workspace: string, role: OwnerRole, waitMs: number): Promise<WorkspaceLock> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const lock = tryLockWorkspace(workspace, role);
    if (lock) return lock;
    const live = liveOrchestrator(workspace);
    const holder = lockHolder(workspace);
    if (live && (!holder || holder.pid === live.pid)) {
      throw new UserError(`an orchestrator is already running for ${workspace} (PID ${live.pid}); stop it with \`claude-wrapper team stop\` or kill ${live.pid}`, 4);
    }
    if (Date.now() >= deadline) {
      throw new UserError(`the workspace ${workspace} is in use by ${describeHolder(workspace)}; wait for it to finish, or stop the team with \`claude-wrapper team stop\``, 4);
    }
    await Bun.sleep(25);
  }
}
