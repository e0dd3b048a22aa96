import { rmSync } from "node:fs";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { UserError } from "../base/errors";
import { liveOrchestrator, readOrchestratorPid, removeOrchestratorPid, writeOrchestratorPid } from "./owner";

/**
 * One orchestrator per workspace: a proper-lockfile lock (its mtime kept fresh while we live)
 * plus the pid file. A second orchestrator is refused naming the first one's PID; the lock of
 * one that died (its PID gone or reused) is taken over at once instead of waiting for it to age.
 */
export async function acquireOrchestratorLock(workspace: string): Promise<() => Promise<void>> {
  const lockfilePath = join(workspace, ".orchestrator.lock");
  const opts = { lockfilePath, realpath: false, stale: 15_000, update: 5_000, onCompromised: () => {} };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(workspace, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
    const live = liveOrchestrator(workspace);
    if (live) {
      throw new UserError(`an orchestrator is already running for ${workspace} (PID ${live.pid}); stop it with \`claude-wrapper team stop\` or kill ${live.pid}`, 4);
    }
    const stale = readOrchestratorPid(workspace);
    if (!stale) {
      // Lock without a pid file: another orchestrator is between taking the lock and writing
      // its pid file, or one died there. Only an aged lock is safe to take.
      throw new UserError(`the workspace ${workspace} is locked by another orchestrator that is starting up; try again in a moment`, 4);
    }
    rmSync(lockfilePath, { recursive: true, force: true });
    removeOrchestratorPid(workspace, stale.pid);
    release = await lockfile.lock(workspace, opts);
  }
  const me = writeOrchestratorPid(workspace);
  return async () => {
    removeOrchestratorPid(workspace, me.pid);
    try {
      await release();
    } catch {}
  };
}
