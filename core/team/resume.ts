/**
 * `team resume` and `retry`: a person asks for stopped (or failed) sessions to run again. Each
 * gets a marker file in its dir; the orchestrator (running now, or when it next starts) sees it,
 * resumes the same conversation with what is new in instructions.md, and removes the marker.
 * Nothing else ever starts a stopped session.
 */
import { join } from "node:path";
import { EXIT, UserError } from "../base/errors";
import { writeFileAtomic } from "../base/fsx";
import { RESUME_MARKER } from "../supervisor/observe";
import { findSession } from "../views/lookup";
import type { SessionRow } from "../views/listing";
import { listRows } from "../views/listing";
import { liveOrchestrator } from "../workspace/owner";
import { requireWorkspace } from "../workspace/paths";

export interface ResumeReport {
  workspace: string;
  sessions: Array<{ id: string; name: string; was: string }>;
  /** The orchestrator that will act on it now, if one runs. */
  orchestrator: { pid: number } | null;
}

function requestResume(row: SessionRow): void {
  writeFileAtomic(join(row.dir, RESUME_MARKER), `${JSON.stringify({ requestedAt: new Date().toISOString(), was: row.recordedStatus })}\n`);
}

function report(workspace: string, rows: SessionRow[]): ResumeReport {
  const o = liveOrchestrator(workspace);
  return { workspace, sessions: rows.map((r) => ({ id: r.id, name: r.name, was: r.recordedStatus })), orchestrator: o ? { pid: o.pid } : null };
}

/** Every stopped session of the workspace (and, with `failed`, every failed one). */
export function resumeTeam(workspace: string, opts: { failed?: boolean } = {}): ResumeReport {
  requireWorkspace(workspace);
  const rows = listRows(workspace).filter((r) => r.recordedStatus === "stopped" || (opts.failed && r.recordedStatus === "failed"));
  for (const r of rows) requestResume(r);
  return report(workspace, rows);
}

/** One failed or stopped session, by id or name. */
export function retrySession(workspace: string, query: string): ResumeReport {
  requireWorkspace(workspace);
  const row = findSession(workspace, query);
  if (row.archived || (row.recordedStatus !== "failed" && row.recordedStatus !== "stopped")) {
    throw new UserError(`${row.name} (${row.id}) is ${row.archived ? "archived" : row.status}: only a failed or stopped session can be retried`, EXIT.conflict);
  }
  requestResume(row);
  return report(workspace, [row]);
}
