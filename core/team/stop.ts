/**
 * `team stop`: pause the whole team. The orchestrator first (it pauses its own agents), then,
 * holding the workspace lock so no orchestrator starts meanwhile, every agent process group the
 * workspace still has (recorded ones, and ones found by their environment, also of sessions whose
 * dir is gone), and every session that is not archived is marked `stopped`: only a person starts
 * it again (`team resume`, `retry`). Idempotent.
 */
import { timings } from "../base/config";
import { UserError } from "../base/errors";
import { lstatOrUndefined } from "../base/fsx";
import { agentsByEnvironment, groupAlive, isAlive, isOurProcess, ownProcessGroup, stopGroup, terminate } from "../processes/proc";
import { pauseSessions } from "../supervisor/pause";
import { type OrchestratorPid, type WorkspaceLock, lockHolder, readOrchestratorPid, removeOrchestratorPid, tryLockWorkspace } from "../workspace/owner";
import { readAllSessions } from "../workspace/store";

export interface StopOptions {
  /** How long the orchestrator gets to stop its agents after SIGTERM before SIGKILL. */
  orchestratorGraceMs?: number;
  /** How long an agent's process group gets after SIGTERM before SIGKILL. */
  agentGraceMs?: number;
}

export interface StopReport {
  workspace: string;
  /** The orchestrator we stopped; `killed` when it ignored SIGTERM. */
  orchestrator: { pid: number; killed: boolean } | null;
  /** A pid file naming a process that was already gone (removed). */
  staleOrchestrator: { pid: number } | null;
  /** Agent process groups stopped here (left by a crashed orchestrator, or found by env). */
  agents: Array<{ id: string; pid: number }>;
  /** Sessions newly marked `stopped`. */
  marked: string[];
  /** PIDs still alive at the end (should be none). */
  left: number[];
  /** Sessions whose session.json could not be read: left as they are for a person to repair. */
  unreadable: Array<{ id: string; error: string }>;
}

/**
 * SIGTERM the orchestrator (it pauses its agents), SIGKILL if it is still there after the grace
 * time. Only the recorded process itself (PID + start time) is ever signalled.
 */
async function stopOrchestrator(workspace: string, graceMs: number): Promise<Pick<StopReport, "orchestrator" | "staleOrchestrator">> {
  const rec: OrchestratorPid | undefined = readOrchestratorPid(workspace);
  if (!rec) return { orchestrator: null, staleOrchestrator: null };
  const gone = () => !isOurProcess(rec.pid, rec.startTime);
  if (gone()) {
    removeOrchestratorPid(workspace, rec.pid);
    return { orchestrator: null, staleOrchestrator: { pid: rec.pid } };
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(rec.pid, sig);
      return true;
    } catch {
      return false;
    }
  };
  const killed = await terminate(signal, gone, graceMs);
  // A killed orchestrator could not clean up after itself.
  if (gone()) removeOrchestratorPid(workspace, rec.pid);
  return { orchestrator: { pid: rec.pid, killed }, staleOrchestrator: null };
}

/**
 * Stop the orchestrator, then take the workspace lock. An orchestrator that is only starting
 * (it holds the lock, its pid file not yet written) is waited for and stopped in turn.
 */
async function takeWorkspace(workspace: string, report: StopReport, graceMs: number, waitMs: number): Promise<WorkspaceLock> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const r = await stopOrchestrator(workspace, graceMs);
    report.orchestrator ??= r.orchestrator;
    report.staleOrchestrator ??= r.staleOrchestrator;
    const lock = tryLockWorkspace(workspace, "team-stop");
    if (lock) return lock;
    if (Date.now() >= deadline) {
      const h = lockHolder(workspace);
      throw new UserError(`the workspace ${workspace} is held by ${h ? `${h.role} (PID ${h.pid})` : "another process"} and did not let go; try again, or stop that process`, 4);
    }
    await Bun.sleep(25);
  }
}

export async function stopTeam(workspace: string, opts: StopOptions = {}): Promise<StopReport> {
  const report: StopReport = { workspace, orchestrator: null, staleOrchestrator: null, agents: [], marked: [], left: [], unreadable: [] };
  if (!lstatOrUndefined(workspace)?.isDirectory()) return report;
  const t = timings();
  const agentGraceMs = opts.agentGraceMs ?? t.stopGraceMs;
  const lock = await takeWorkspace(workspace, report, opts.orchestratorGraceMs ?? t.orchestratorGraceMs, t.lockWaitMs);
  let ownVictim: { id: string; pid: number } | undefined;
  try {
    const sessions = readAllSessions(workspace);
    const pids = new Map<string, { pid: number; startTime?: string }>();
    for (const { rec } of sessions) {
      if (!rec.pid) continue;
      // Ours and alive; or its leader gone while the group lives on (a PID is not reused while
      // its process group exists, so that group is still the agent's).
      if (isOurProcess(rec.pid, rec.pidStartTime) || (!isAlive(rec.pid) && groupAlive(rec.pid))) pids.set(rec.id, { pid: rec.pid, startTime: rec.pidStartTime ?? undefined });
    }
    // Agents no session.json records: spawned just before a crash, or whose dir was removed.
    const own = new Set([process.pid, ownProcessGroup()]);
    const present = new Set(sessions.map((s) => s.rec.id));
    const strays: Array<{ id: string; pid: number }> = [];
    for (const a of agentsByEnvironment(workspace)) {
      if (own.has(a.pid) || [...pids.values()].some((p) => p.pid === a.pid)) continue;
      if (present.has(a.sessionId) && !pids.has(a.sessionId)) pids.set(a.sessionId, { pid: a.pid, startTime: a.startTime });
      else strays.push({ id: a.sessionId, pid: a.pid });
    }
    report.agents = [...[...pids].map(([id, p]) => ({ id, pid: p.pid })), ...strays];

    // Our own group last: when `team stop` runs inside an agent, it goes down with that group.
    const ownGroup = ownProcessGroup();
    ownVictim = report.agents.find((v) => v.pid === ownGroup);
    const paused = await pauseSessions(
      sessions.map(({ rec, dir }) => ({ id: rec.id, persona: rec.persona, dir, pid: pids.get(rec.id)?.pid ?? null, startTime: pids.get(rec.id)?.startTime })),
      agentGraceMs,
      { skipGroup: ownGroup },
    );
    await Promise.all(strays.filter((s) => s.pid !== ownGroup).map((s) => stopGroup(s.pid, agentGraceMs)));
    report.marked = paused.marked;
    report.unreadable = paused.unreadable;
    report.left = [...paused.left, ...strays.filter((s) => s.pid !== ownGroup && groupAlive(s.pid)).map((s) => s.pid)];
  } finally {
    lock.release();
  }
  if (ownVictim) await stopGroup(ownVictim.pid, agentGraceMs);
  return report;
}

/** Nothing was running and nothing needed marking. */
export function nothingStopped(r: StopReport): boolean {
  return !r.orchestrator && r.agents.length === 0 && r.marked.length === 0;
}

