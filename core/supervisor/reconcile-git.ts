/**
 * reconcile()'s decisions for a session that works in a git worktree of its own (pure, like
 * reconcile.ts, and table-tested with it). Its way out differs from a plain session's: when its
 * tasks are all completed and its agent has stopped, its branch joins the merge queue (one merge
 * at a time for the whole team, oldest completion first); merged, it completes and is archived;
 * sent back (conflict, red verify), it is reopened with a task and instructions and resumed by
 * the normal flow, and merged again when it completes again.
 */
import type { SessionGit } from "../git/integrate";
import type { SessionRecord } from "../workspace/session";
import type { Action, ProcState, SessionObs, World } from "./reconcile";

/** A session whose branch waits for its turn to be merged. */
export interface MergeCandidate {
  session: string;
  /** When its tasks.md became all completed: the queue's order. */
  since: number;
  fields: Partial<SessionRecord>;
}

export interface GitDecision {
  actions: Action[];
  wakeAt?: number;
  candidate?: MergeCandidate;
}

/** How many times a branch may be sent back before the session is given up on (failed). */
export const MAX_MERGE_ATTEMPTS = 5;

const alive = (p: ProcState) => p.kind === "running" || p.kind === "orphan-alive";
const pidOf = (p: ProcState) => (alive(p) ? (p as { pid: number }).pid : null);

/**
 * What to do about a session with a worktree of its own, or undefined when its git state asks
 * nothing now (the normal flow decides: spawn, resume, judge an exit, …). `fields` is what its
 * record should say of its spend and of an interrupted start.
 */
export function decideGit(s: SessionObs & { git: SessionGit }, w: World, fields: Partial<SessionRecord>): GitDecision | undefined {
  const { rec, proc, git: g } = s;
  // Merged: remove the worktree, complete, tell, archive (whatever tasks.md says meanwhile).
  if (g.merge === "merged") return { actions: [{ type: "complete", session: s.id, pid: pidOf(proc), fields }] };

  // Sent back and not yet told: tell it (a task and an instructions block), unless it has been
  // sent back too often to hope; then it fails, and whoever asked for it is told.
  if ((g.merge === "conflict" || g.merge === "verify-failed") && g.reopened !== g.attempt) {
    // A person's retry after a give-up allows as many attempts again (see Actuator.resume).
    const max = g.limit ?? w.maxMergeAttempts ?? MAX_MERGE_ATTEMPTS;
    if (g.attempt <= max) return { actions: [{ type: "reopen", session: s.id }] };
    if (rec.status === "failed") return undefined;
    const why = g.merge === "conflict" ? `still conflicts with ${g.integration ?? "the team branch"} in ${(g.files ?? []).join(", ") || "some files"}` : "still fails the verify command";
    const reason = `its branch ${g.branch} ${why} after ${g.attempt - 1} attempts to fix it; merge it by hand in its worktree ${g.worktree}, or \`claude-wrapper retry ${rec.name}\` to let its agent try again`;
    return { actions: [{ type: "give-up", session: s.id, reason }] };
  }

  if (!s.tasks.complete || rec.status === "stopped") return undefined;
  const settledAt = s.tasksChangedAt + w.tasksSettleMs;
  if (settledAt > w.now) return { actions: [], wakeAt: settledAt };
  if (alive(proc)) {
    // Its turn may end by itself (its result line carries the turn's cost), then it is stopped.
    if (s.completingSince === undefined) {
      const actions: Action[] = [{ type: "begin-completion", session: s.id }];
      if (proc.kind === "orphan-alive") actions.push({ type: "adopt", session: s.id, pid: proc.pid });
      return { actions, wakeAt: w.now + w.completionGraceMs };
    }
    const graceEnds = s.completingSince + w.completionGraceMs;
    if (graceEnds > w.now) return { actions: [], wakeAt: graceEnds };
    return { actions: [{ type: "end-turn", session: s.id, pid: pidOf(proc)!, fields }] };
  }
  // Its agent has stopped: its branch (anything left uncommitted included) waits to be merged.
  return { actions: [], candidate: { session: s.id, since: s.tasksChangedAt, fields } };
}

/** The merge to start now: none while one runs; else the branch whose session completed first. */
export function nextMerge(candidates: MergeCandidate[], w: Pick<World, "mergeInFlight">): Action | undefined {
  if (w.mergeInFlight || !candidates.length) return undefined;
  const first = [...candidates].sort((a, b) => a.since - b.since || (a.session < b.session ? -1 : 1))[0]!;
  return { type: "merge", session: first.session, fields: first.fields };
}

/** Tools that change files: a persona with any of them (or with no tool list: all tools) edits. */
const EDITING_TOOLS = /^(Write|Edit|MultiEdit|NotebookEdit|Bash)\b/;

export function editsFiles(persona: { allowedTools: string[] } | undefined): boolean {
  if (!persona) return true;
  return persona.allowedTools.length === 0 || persona.allowedTools.some((t) => EDITING_TOOLS.test(t));
}

/**
 * Agents that edit running at once in the one shared project root (no git, --no-worktrees, or a
 * persona with `worktree: false`): said once, since nothing keeps them off each other's changes.
 */
export function sharedRootWarning(w: World): Action | undefined {
  const shared = w.sessions.filter((s) => alive(s.proc) && !s.git && s.edits);
  if (shared.length < 2) return undefined;
  return {
    type: "report",
    key: "shared-root",
    message:
      "two or more agents that edit are running at once in the shared project root: they may step on each other's changes " +
      "(in a git project, `team start` without --no-worktrees gives each its own worktree and branch)",
  };
}
