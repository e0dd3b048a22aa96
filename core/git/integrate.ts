import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { type Repo, GitError } from "./repo";
import { mergeBranch } from "./merge";
import { WORKTREES_DIR, addWorktree, commitAll, removeWorktree, sessionBranch } from "./worktree";

/**
 * A session's way from its own worktree into the integration branch: one executor per step
 * (each idempotent: run it again after a crash at any point and it finishes or redoes the step;
 * never a second merge, never a lost commit), the text helpers that say what the agent and its
 * requester are told, and `nextGitStep`, the step order in one pure function. The supervisor's
 * own decisions (core/supervisor/reconcile-git.ts) follow that order, adding what only it knows
 * (the grace before an agent is stopped, the merge queue, giving up); it records what an
 * executor answers in session.json (field `git`) before it acts on it.
 */

export type MergeState = "unmerged" | "verifying" | "merged" | "conflict" | "verify-failed" | "blocked";

/** session.json `git`: the session's branch and where its merge stands. */
export interface SessionGit {
  branch: string;
  /** The team branch it was forked from and is merged into (older records: the team's). */
  integration?: string;
  /** The worktree's top, and the agent's cwd in it (the project root's place). */
  worktree: string;
  cwd: string;
  /** The integration tip it was forked from. */
  forkedFrom: string;
  merge: MergeState;
  /** merged: the commit that brought it in. */
  commit?: string;
  /** merged: files it changed on the integration branch; conflict: the conflicting files. */
  files?: string[];
  /** verify-failed: the end of the command's output. blocked: why. */
  tail?: string;
  reason?: string;
  /** Merges that sent the session back to its author so far. */
  attempt: number;
  /** Send-backs allowed before the session is given up on (failed); a person's retry raises it. */
  limit?: number;
  /** The attempt whose task and instructions have been written into the session. */
  reopened?: number;
  mergedAt?: string;
  worktreeRemoved?: boolean;
}

const MERGE_STATES: ReadonlySet<unknown> = new Set(["unmerged", "verifying", "merged", "conflict", "verify-failed", "blocked"]);

/**
 * session.json's `git` when it has the shape we write, else undefined (a hand-edited or torn
 * field is taken as "no worktree recorded yet": every step is repeatable, so the next one
 * finds the worktree and branch again, and a merge already done answers "merged" again).
 */
export function validSessionGit(raw: unknown): SessionGit | undefined {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const g = raw as Partial<SessionGit>;
  const str = (v: unknown) => typeof v === "string" && v.length > 0;
  if (!str(g.branch) || !str(g.worktree) || !str(g.cwd) || !MERGE_STATES.has(g.merge)) return undefined;
  if (typeof g.attempt !== "number" || !Number.isInteger(g.attempt) || g.attempt < 0) return undefined;
  if (g.integration !== undefined && !str(g.integration)) return undefined;
  if (g.limit !== undefined && (typeof g.limit !== "number" || !Number.isInteger(g.limit))) return undefined;
  return g as SessionGit;
}

/**
 * Whether a session of this persona runs in a worktree of its own: in a team with worktrees
 * (a git project, no --no-worktrees), unless its persona says `worktree: false`.
 */
export function usesWorktree(team: { worktrees?: boolean; branch?: string } | undefined, persona: { worktree?: boolean } | undefined): boolean {
  return team?.worktrees === true && !!team.branch && persona?.worktree !== false;
}

/** Where a session's worktree will be, before it exists (its persona text names it). */
export interface Workplace {
  /** The worktree's top. */
  worktree: string;
  /** Where the agent runs in it: the project root's place. */
  cwd: string;
  branch: string;
  /** The team branch its work is merged into. */
  integration: string;
}

export function plannedWorkplace(workspace: string, sessionId: string, repo: Pick<Repo, "prefix">, integration: string): Workplace {
  let ws = workspace;
  try {
    // git records worktree paths resolved: name the same path the worktree will have.
    ws = realpathSync(workspace);
  } catch {}
  const worktree = join(ws, WORKTREES_DIR, sessionId);
  return { worktree, cwd: repo.prefix ? join(worktree, repo.prefix) : worktree, branch: sessionBranch(sessionId), integration };
}

export type GitStep =
  /** Fork the branch and add the worktree (before the agent's first run). */
  | "worktree"
  /** Commit what the agent left, then merge (its tasks are all completed and it has stopped). */
  | "merge"
  /** Give the conflict or red verify back to the author: a task and an instructions block, then resume. */
  | "reopen"
  /** Merged: remove the worktree, keep the branch. */
  | "remove-worktree"
  | "none";

export function nextGitStep(s: { worktrees: boolean; complete: boolean; agentRunning: boolean; git: SessionGit | undefined }): GitStep {
  if (!s.worktrees) return "none";
  const g = s.git;
  if (!g) return "worktree";
  if (g.merge === "merged") return g.worktreeRemoved ? "none" : "remove-worktree";
  // Sent back and not yet told: tell it, whatever tasks.md says meanwhile (the reopen writes
  // a pending task, so after a crash halfway the session may already look incomplete).
  if ((g.merge === "conflict" || g.merge === "verify-failed") && g.reopened !== g.attempt) return "reopen";
  if (s.complete && !s.agentRunning) return "merge";
  return "none";
}

export interface GitContext {
  repo: Repo;
  workspace: string;
  /** The team's integration branch. */
  integration: string;
  verify?: string;
  verifyTimeoutMs?: number;
}

/** Step "worktree": the session's worktree and branch, as session.json records them. */
export async function ensureSessionWorktree(ctx: GitContext, sessionId: string): Promise<SessionGit> {
  const w = await addWorktree({ repo: ctx.repo, workspace: ctx.workspace, sessionId, from: ctx.integration });
  return { branch: w.branch, integration: ctx.integration, worktree: w.path, cwd: w.cwd, forkedFrom: w.tip, merge: "unmerged", attempt: 0 };
}

/**
 * Step "merge": commit whatever the agent left uncommitted (nothing is left behind), then merge
 * the branch. `save` records "verifying" before a verify command starts (views show it).
 */
export async function integrateSession(
  ctx: GitContext,
  sessionId: string,
  g: SessionGit,
  opts: { save?: (g: SessionGit) => void | Promise<void>; verifyLog?: string; summary?: string } = {},
): Promise<SessionGit> {
  if (existsSync(g.worktree)) {
    try {
      await commitAll(g.worktree, `Work left uncommitted by ${sessionId} when it completed\n\nCommitted by claude-wrapper before merging.`);
    } catch (err) {
      // An unfinished merge with conflicts in the worktree: the author finishes it.
      const m = err instanceof GitError ? /unresolved merge conflicts in (.*); resolve/.exec(err.message) : null;
      if (!m) throw err;
      return { ...g, merge: "conflict", files: m[1]!.split(", "), attempt: g.attempt + 1 };
    }
  }
  const r = await mergeBranch({
    repo: ctx.repo,
    workspace: ctx.workspace,
    integration: ctx.integration,
    branch: g.branch,
    verify: ctx.verify,
    verifyTimeoutMs: ctx.verifyTimeoutMs,
    verifyLog: opts.verifyLog,
    message: opts.summary,
    onStep: () => opts.save?.({ ...g, merge: "verifying" }),
  });
  const base = { ...g, files: undefined, tail: undefined, reason: undefined };
  switch (r.state) {
    case "merged":
      return { ...base, merge: "merged", commit: r.commit, files: r.files, mergedAt: new Date().toISOString() };
    case "conflict":
      return { ...base, merge: "conflict", files: r.files, attempt: g.attempt + 1 };
    case "verify-failed":
      return { ...base, merge: "verify-failed", tail: r.tail, attempt: g.attempt + 1 };
    case "blocked":
      return { ...base, merge: "blocked", reason: r.reason };
  }
}

/** Step "remove-worktree": the branch stays (it is merged; `team clean` deletes merged branches). */
export async function removeSessionWorktree(repo: Repo, g: SessionGit): Promise<SessionGit> {
  await removeWorktree(repo, g.worktree);
  return { ...g, worktreeRemoved: true };
}

/** The task a reopened session gets; its title names the attempt, so writing it twice is seen. */
export function reopenTaskTitle(g: SessionGit): string {
  const what = g.merge === "conflict" ? "Resolve the merge conflict" : "Make the verify command pass";
  return `${what} with the integration branch (attempt ${g.attempt})`;
}

/** The instructions block a reopened session gets: what went wrong, and how to fix it. */
export function reopenInstructions(g: SessionGit, integration: string, verify?: string): string {
  const where = `in your worktree (${g.cwd}), on your branch ${g.branch}`;
  const after = `Then mark the task "${reopenTaskTitle(g)}" completed in your tasks.md; your branch is merged again when all your tasks are completed.`;
  if (g.merge === "conflict") {
    return [
      `Your branch could not be merged into ${integration}: it conflicts with work merged there since you started, in ${(g.files ?? []).map((f) => `\`${f}\``).join(", ") || "(files not named)"}.`,
      "",
      `To resolve: ${where}, run \`git merge ${integration}\`, fix the conflicted files, make sure the tests still pass, and commit (\`git add -A && git commit --no-edit\`).`,
      after,
    ].join("\n");
  }
  return [
    `Your branch merges cleanly into ${integration}, but the team's verify command \`${verify ?? "(verify)"}\` failed on the result. The end of its output:`,
    "",
    "```",
    (g.tail ?? "").replace(/```/g, "'''"),
    "```",
    "",
    `To fix: ${where}, run \`git merge ${integration}\` to work on what will be merged, run \`${verify ?? "the verify command"}\`, fix what fails, and commit.`,
    after,
  ].join("\n");
}

/** What the requester is told when the session's work landed. */
export function mergedNotice(g: SessionGit, integration: string, max = 20): string {
  const files = g.files ?? [];
  const list = files.slice(0, max).map((f) => `- ${f}`);
  if (files.length > max) list.push(`- … and ${files.length - max} more`);
  const head = `Its branch ${g.branch} is merged into ${integration} as ${g.commit?.slice(0, 12) ?? "?"}`;
  return files.length ? `${head}, changing ${files.length} file${files.length === 1 ? "" : "s"}:\n${list.join("\n")}` : `${head} (no file changes).`;
}

/** How views show a session's merge: `merged 1a2b3c4d5e6f`, `conflict`, `verifying`, `unmerged`, … ("" without git). */
export function mergeLabel(g: SessionGit | undefined): string {
  if (!g) return "";
  return g.merge === "merged" ? `merged ${g.commit?.slice(0, 12) ?? ""}`.trim() : g.merge;
}
