/**
 * Crash points of the git steps, for tests: `CLAUDE_WRAPPER_CRASH_AT=<point>` kills the process
 * doing the step with SIGKILL there (as core/base/crash.ts does for the orchestrator's other
 * steps). test/git-crash.test.ts proves each core/git step finishes when run again;
 * test/git-team-crash.test.ts drives EVERY point declared here through an orchestrator running a
 * team in a git project, and proves the next orchestrator converges. (test/faults.test.ts drives
 * core/base/crash.ts's points through a non-git team; these need a repository.)
 */
export type GitCrashPoint =
  | "worktree:branch" // session branch created; its worktree not added
  | "worktree:added" // [supervisor] worktree added; session.json does not record it yet
  | "worktree:trashed" // worktree dir renamed aside; git still lists it
  | "commit:staged" // `add --all` done in a worktree; not committed
  | "merge:committed" // merge commit written; integration ref not moved
  | "merge:verifying" // scratch worktree checked out, verify command running
  | "merge:updated" // integration ref moved; caller not told
  | "merge:recorded" // [supervisor] the merge's outcome recorded in session.json; nothing acted on it
  | "reopen:instructed" // [supervisor] reopen instructions appended; the task not yet added
  | "reopen:tasked"; // [supervisor] reopen task added to tasks.md; session.json not told

const target = process.env.CLAUDE_WRAPPER_CRASH_AT;

export function gitCrashPoint(point: GitCrashPoint): void {
  if (target === point) process.kill(process.pid, "SIGKILL");
}
