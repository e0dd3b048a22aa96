/**
 * The one stop mechanism for a team's agents (Ctrl-C on `orchestrate`, `team stop`, completion):
 * the intent is recorded first (`stopped`, PID kept), then the process group gets SIGTERM and,
 * after the grace, SIGKILL, then the PID is cleared. A crash between the steps leaves a `stopped`
 * session whose agent may still run: the next supervisor (or `team stop`) finishes the stop, and
 * nothing ever starts a stopped session by itself.
 */
import { groupAlive, stopGroup } from "../processes/proc";
import { type SessionRecord, isStandIn, readSession, writeSession } from "../workspace/session";

export interface Victim {
  id: string;
  persona: string;
  dir: string;
  /** The agent's process group, if one runs, and its start time when known. */
  pid: number | null;
  startTime?: string;
}

export interface PauseResult {
  /** Sessions marked stopped now. */
  marked: string[];
  /** Groups still alive after SIGKILL (their PID stays recorded for the next stop). */
  left: number[];
  /** Sessions whose session.json could not be read as one: left as they are. */
  unreadable: Array<{ id: string; error: string }>;
}

function mark(v: Victim, fields: Partial<SessionRecord>, onlyIfNotStopped: boolean): SessionRecord | undefined | "unreadable" {
  const rec = readSession(v.dir, v.id, v.persona);
  if (!rec) return undefined;
  if (isStandIn(rec)) return "unreadable";
  if (onlyIfNotStopped && rec.status === "stopped" && !v.pid) return undefined;
  const next = { ...rec, ...fields };
  writeSession(v.dir, next);
  return next;
}

/** Pause these sessions: every one is marked `stopped`, every running agent is stopped. */
export async function pauseSessions(victims: Victim[], graceMs: number, opts: { skipGroup?: number } = {}): Promise<PauseResult> {
  const result: PauseResult = { marked: [], left: [], unreadable: [] };
  const now = new Date().toISOString();
  // Intent first: from here on nobody starts these again, however this process ends.
  const marked: Victim[] = [];
  for (const v of victims) {
    const r = mark(v, { status: "stopped", endedAt: now, ...(v.pid ? { pid: v.pid, ...(v.startTime ? { pidStartTime: v.startTime } : {}) } : {}) }, true);
    if (r === "unreadable") result.unreadable.push({ id: v.id, error: "session.json is corrupt" });
    else if (r) {
      result.marked.push(v.id);
      marked.push(v);
    }
  }
  const running = victims.filter((v) => v.pid && v.pid !== opts.skipGroup);
  await Promise.all(running.map((v) => stopGroup(v.pid!, graceMs)));
  result.left = running.filter((v) => groupAlive(v.pid!)).map((v) => v.pid!);
  for (const v of running) {
    if (result.left.includes(v.pid!)) continue;
    mark(v, { pid: null, pidStartTime: null }, false);
  }
  return result;
}
