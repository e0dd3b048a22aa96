/**
 * Crash points of the core/git steps, for tests: `CLAUDE_WRAPPER_CRASH_AT=<point>` kills the
 * process doing the step with SIGKILL there (as core/base/crash.ts does for the orchestrator's
 * steps), and test/git-crash.test.ts proves that running the step again finishes it. Kept apart
 * from the orchestrator's points while the supervisor does not run these steps (test/faults.test.ts
 * drives every point in core/base/crash.ts through an orchestrator); once it does, they move there.
 */
export type GitCrashPoint =
  | "worktree:branch" // session branch created; its worktree not added
  | "worktree:trashed" // worktree dir renamed aside; git still lists it
  | "commit:staged" // `add --all` done in a worktree; not committed
  | "merge:committed" // merge commit written; integration ref not moved
  | "merge:verifying" // scratch worktree checked out, verify command running
  | "merge:updated"; // integration ref moved; caller not told

const target = process.env.CLAUDE_WRAPPER_CRASH_AT;

export function gitCrashPoint(point: GitCrashPoint): void {
  if (target === point) process.kill(process.pid, "SIGKILL");
}
