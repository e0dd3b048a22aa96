import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileIdentity } from "../base/fsx";
import { RECORDED_TASKS, type RecordedTasks, type SessionRow, rowsFor } from "./listing";
import { type OrchestratorPid, liveOrchestrator } from "../workspace/owner";
import { type SessionStatus, STATUSES } from "../workspace/session";
import { readTasks } from "../workspace/tasks";
import { listEntries } from "../workspace/paths";

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

export interface TeamSnapshot {
  workspace: string;
  at: string;
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
}

export interface SnapshotOptions {
  /** Also look at every file's mtime for "last activity" (track). */
  activity?: boolean;
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

/**
 * The whole team at one moment: the orchestrator (if its process is alive), every session
 * including archived ones (their cost counts), task progress, and totals.
 */
/** Task progress of a row: as recorded while tasks.md is the file it was counted from, else read. */
function taskProgressOf(row: SessionRow): { done: number; total: number; problem?: string } {
  const path = `${row.dir}/tasks.md`;
  const recorded = (row as SessionRow & { [RECORDED_TASKS]?: RecordedTasks })[RECORDED_TASKS];
  if (recorded && recorded.key === fileIdentity(path)) {
    return { done: recorded.done, total: recorded.total };
  }
  return readTasks(path);
}

export function teamSnapshot(workspace: string, opts: SnapshotOptions = {}): TeamSnapshot {
  const now = opts.now ?? Date.now();
  const orchestrator = publicOrchestrator(liveOrchestrator(workspace));
  const rows = rowsFor(workspace, listEntries(workspace));
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
  return { workspace, at: new Date(now).toISOString(), orchestrator, sessions, totals, counts: ordered };
}
