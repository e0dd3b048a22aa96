import { rmSync } from "node:fs";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { lstatOrUndefined } from "../base/fsx";
import { type OrchestratorPid, readOrchestratorPid, removeOrchestratorPid } from "../workspace/owner";
import { envMs } from "../base/config";
import { agentsByEnvironment, groupAlive, isAlive, isOurProcess, ownProcessGroup, stopGroup, terminate } from "../processes/proc";
import { isStandIn, readSession, writeSession } from "../workspace/session";
import { listEntries } from "../workspace/paths";

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

/** The orchestrator's own lock; stale once its process is gone (see core/orchestrator-lock.ts). */
function removeOrchestratorFiles(workspace: string, rec: OrchestratorPid): void {
  rmSync(join(workspace, ".orchestrator.lock"), { recursive: true, force: true });
  removeOrchestratorPid(workspace, rec.pid);
}

/**
 * SIGTERM the orchestrator (it stops its agents and marks them stopped), SIGKILL if it is still
 * there after the grace time. Only the recorded process itself is ever signalled.
 */
async function stopOrchestrator(workspace: string, graceMs: number): Promise<Pick<StopReport, "orchestrator" | "staleOrchestrator">> {
  const rec = readOrchestratorPid(workspace);
  if (!rec) return { orchestrator: null, staleOrchestrator: null };
  const gone = () => !isOurProcess(rec.pid, rec.startTime);
  if (gone()) {
    removeOrchestratorFiles(workspace, rec);
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
  if (gone()) removeOrchestratorFiles(workspace, rec);
  return { orchestrator: { pid: rec.pid, killed }, staleOrchestrator: null };
}

/** Agents no session.json records (see agentsByEnvironment), of this workspace's sessions. */
function unrecordedAgents(workspace: string, sessionIds: Set<string>, known: Set<number>): Array<{ id: string; pid: number }> {
  const own = new Set([process.pid, ownProcessGroup()]);
  return agentsByEnvironment(workspace)
    .filter((a) => sessionIds.has(a.sessionId) && !known.has(a.pid) && !own.has(a.pid))
    .map((a) => ({ id: a.sessionId, pid: a.pid }));
}

/**
 * `team stop`: the orchestrator first (so nothing respawns what we stop), then every agent
 * process group the workspace knows, then every session that is not archived is marked
 * `stopped`. Idempotent: a second run finds nothing and changes nothing.
 */
export async function stopTeam(workspace: string, opts: StopOptions = {}): Promise<StopReport> {
  const report: StopReport = { workspace, orchestrator: null, staleOrchestrator: null, agents: [], marked: [], left: [], unreadable: [] };
  if (!lstatOrUndefined(workspace)?.isDirectory()) return report;

  Object.assign(report, await stopOrchestrator(workspace, opts.orchestratorGraceMs ?? envMs("CLAUDE_WRAPPER_ORCHESTRATOR_GRACE_MS", 10_000)));

  const agentGraceMs = opts.agentGraceMs ?? envMs("CLAUDE_WRAPPER_STOP_GRACE_MS", 3000);
  let ownVictim: { id: string; pid: number } | undefined;
  // Same lock as `team start`: a team being laid out right now is not half marked stopped.
  const release = await lockfile.lock(workspace, {
    lockfilePath: join(workspace, ".team.lock"),
    realpath: false,
    retries: { retries: 20, minTimeout: 20, maxTimeout: 200 },
  });
  try {
    const sessions = listEntries(workspace)
      .filter((e) => e.kind === "session")
      .map((e) => ({ id: e.id, persona: e.persona, dir: join(workspace, e.dir) }));

    const victims: Array<{ id: string; pid: number }> = [];
    for (const s of sessions) {
      const rec = readSession(s.dir, s.id, s.persona);
      if (!rec?.pid) continue;
      // Ours and alive; or its leader gone while the group lives on (a PID is not reused while
      // its process group exists, so that group is still the agent's).
      if (isOurProcess(rec.pid, rec.pidStartTime) || (!isAlive(rec.pid) && groupAlive(rec.pid))) {
        victims.push({ id: s.id, pid: rec.pid });
      }
    }
    const known = new Set(victims.map((v) => v.pid));
    victims.push(...unrecordedAgents(workspace, new Set(sessions.map((s) => s.id)), known));
    report.agents = victims;

    // Our own group last: when `team stop` runs inside an agent, it goes down with that group.
    const ownGroup = ownProcessGroup();
    ownVictim = victims.find((v) => v.pid === ownGroup);
    const others = victims.filter((v) => v !== ownVictim);
    await Promise.all(others.map((v) => stopGroup(v.pid, agentGraceMs)));
    report.left = others.filter((v) => groupAlive(v.pid)).map((v) => v.pid);

    const now = new Date().toISOString();
    const stopped = new Set(victims.map((v) => v.id));
    for (const s of sessions) {
      const rec = readSession(s.dir, s.id, s.persona);
      if (!rec || rec.status === "stopped") continue;
      // A stand-in for a corrupt session.json is not its content: never written over it.
      if (isStandIn(rec)) {
        report.unreadable.push({ id: s.id, error: rec.error ?? "session.json is corrupt" });
        continue;
      }
      // A group that survived SIGKILL keeps its PID on record, so the next `team stop` finds it.
      const survived = rec.pid !== null && report.left.includes(rec.pid);
      writeSession(s.dir, {
        ...rec,
        status: "stopped",
        pid: survived ? rec.pid : null,
        pidStartTime: survived ? rec.pidStartTime : null,
        endedAt: stopped.has(s.id) || !rec.endedAt ? now : rec.endedAt,
      });
      report.marked.push(s.id);
    }
  } finally {
    await release();
  }
  if (ownVictim) await stopGroup(ownVictim.pid, agentGraceMs);
  return report;
}

/** Nothing was running and nothing needed marking. */
export function nothingStopped(r: StopReport): boolean {
  return !r.orchestrator && r.agents.length === 0 && r.marked.length === 0;
}
