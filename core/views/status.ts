import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileIdentity } from "../base/fsx";
import { RECORDED_TASKS, type RecordedTasks, type SessionRow, rowsFor } from "./listing";
import { type OrchestratorPid, liveOrchestrator } from "../workspace/owner";
import { type SessionStatus, STATUSES } from "../workspace/session";
import { readTasks } from "../workspace/tasks";
import { listEntries } from "../workspace/paths";
import { MANAGER_PERSONA, type TeamRecord, inTeam, readTeam, teamDone } from "../workspace/team-file";

export interface StatusRow extends SessionRow {
  tasksDone: number;
  tasksTotal: number;
  /** Why tasks.md could not be counted (missing, too large). */
  tasksProblem?: string;
  /** From the start of its current run to now (running) or to its end; null if it never ran. */
  runtimeMs: number | null;
  /** Newest mtime of a file in the session dir (only when asked for: it costs a stat per file). */
  lastActivityAt?: string | null;
}

/** The team the default views show (`.team.json`), with whether it is done. */
export interface TeamInfo {
  id: string;
  goal: string;
  startedAt: string;
  finishedAt: string | null;
  /** Its manager's session is archived (or the supervisor recorded the end): the team is done. */
  done: boolean;
  /** From its start to its end (done) or to now. */
  elapsedMs: number | null;
  /** The spending cap the running orchestrator was given, if any. */
  budgetUsd: number | null;
}

export interface TeamSnapshot {
  workspace: string;
  at: string;
  team: TeamInfo | null;
  orchestrator: { pid: number; startedAt: string; version: string } | null;
  sessions: StatusRow[];
  totals: {
    costUsd: number;
    inputTokens: number;
    outputTokens: number;
    tasksDone: number;
    tasksTotal: number;
    sessions: number;
    running: number;
    archived: number;
  };
  counts: Partial<Record<SessionStatus, number>>;
  /** Sessions of earlier teams left out (`all` includes them). */
  earlier: number;
}

export interface SnapshotOptions {
  /** Also look at every file's mtime for "last activity" (track). */
  activity?: boolean;
  /** Every session of every team, not only the current team's. */
  all?: boolean;
  now?: number;
}

function runtimeOf(row: SessionRow, now: number): number | null {
  const start = row.startedAt ? Date.parse(row.startedAt) : Number.NaN;
  if (!Number.isFinite(start)) return null;
  const endRaw = row.running ? now : Date.parse(row.endedAt ?? row.updatedAt);
  const end = Number.isFinite(endRaw) ? endRaw : now;
  return Math.max(0, end - start);
}

/** Newest mtime among the session dir's own files (agents write their logs and tasks there). */
export function lastActivity(dir: string): string | null {
  let newest = 0;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  for (const name of names) {
    try {
      const m = lstatSync(join(dir, name)).mtimeMs;
      if (m > newest) newest = m;
    } catch {}
  }
  return newest ? new Date(newest).toISOString() : null;
}

function publicOrchestrator(o: OrchestratorPid | undefined): TeamSnapshot["orchestrator"] {
  return o ? { pid: o.pid, startedAt: o.startedAt, version: o.version } : null;
}

function teamInfo(team: TeamRecord | undefined, rows: SessionRow[], orchestrator: OrchestratorPid | undefined, now: number): TeamInfo | null {
  if (!team) return null;
  const managers = rows.filter((r) => r.persona === MANAGER_PERSONA && inTeam(team, r.id));
  const done = teamDone(team, rows);
  const start = Date.parse(team.startedAt);
  const ends = managers.map((r) => Date.parse(r.endedAt ?? r.updatedAt)).filter(Number.isFinite);
  const end = team.finishedAt ? Date.parse(team.finishedAt) : done && ends.length ? Math.max(...ends) : now;
  // The supervisor records its budget next to its PID (when it was given one).
  const budget = (orchestrator as { budgetUsd?: unknown } | undefined)?.budgetUsd;
  return {
    id: team.id,
    goal: team.goal,
    startedAt: team.startedAt,
    finishedAt: team.finishedAt ?? null,
    done,
    elapsedMs: Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : null,
    budgetUsd: typeof budget === "number" && budget > 0 ? budget : null,
  };
}

/** Task progress of a row: as recorded while tasks.md is the file it was counted from, else read. */
function taskProgressOf(row: SessionRow): { done: number; total: number; problem?: string } {
  const path = `${row.dir}/tasks.md`;
  const recorded = (row as SessionRow & { [RECORDED_TASKS]?: RecordedTasks })[RECORDED_TASKS];
  if (recorded && recorded.key === fileIdentity(path)) {
    return { done: recorded.done, total: recorded.total };
  }
  return readTasks(path);
}

/**
 * The team at one moment: its record, the orchestrator (if its process is alive), the current
 * team's sessions including archived ones (their cost counts), task progress, and totals.
 */
export function teamSnapshot(workspace: string, opts: SnapshotOptions = {}): TeamSnapshot {
  const now = opts.now ?? Date.now();
  const live = liveOrchestrator(workspace);
  const team = readTeam(workspace);
  // The current team's sessions, archived ones included (their cost counts); `all`: every team's.
  let earlier = 0;
  const entries = listEntries(workspace).filter((e) => {
    if (e.kind === "request" || opts.all || inTeam(team, e.id)) return true;
    earlier++;
    return false;
  });
  const rows = rowsFor(workspace, entries);
  const totals: TeamSnapshot["totals"] = {
    costUsd: 0,
    inputTokens: 0,
    outputTokens: 0,
    tasksDone: 0,
    tasksTotal: 0,
    sessions: rows.length,
    running: 0,
    archived: 0,
  };
  const counts: TeamSnapshot["counts"] = {};
  const sessions: StatusRow[] = rows.map((row) => {
    const tasks = taskProgressOf(row);
    // The row is ours (rowsFor made it for this call): extend it in place instead of copying all
    // its fields per session. The new fields land in the order the spread used to put them.
    const out = row as StatusRow;
    out.tasksDone = tasks.done;
    out.tasksTotal = tasks.total;
    if (tasks.problem) out.tasksProblem = tasks.problem;
    out.runtimeMs = runtimeOf(row, now);
    if (opts.activity && !row.archived) out.lastActivityAt = lastActivity(row.dir);
    totals.costUsd += row.costUsd;
    totals.inputTokens += row.inputTokens;
    totals.outputTokens += row.outputTokens;
    totals.tasksDone += tasks.done;
    totals.tasksTotal += tasks.total;
    if (row.running) totals.running++;
    if (row.archived) totals.archived++;
    counts[row.status] = (counts[row.status] ?? 0) + 1;
    return out;
  });
  totals.costUsd = Math.round(totals.costUsd * 1e6) / 1e6;
  // Statuses in their lifecycle order, so `counts` reads the same way every time.
  const ordered: TeamSnapshot["counts"] = {};
  for (const s of STATUSES) if (counts[s]) ordered[s] = counts[s];
  return {
    workspace,
    at: new Date(now).toISOString(),
    team: teamInfo(team, rows, live, now),
    orchestrator: publicOrchestrator(live),
    sessions,
    totals,
    counts: ordered,
    earlier,
  };
}
