/**
 * Fault injection for tests: `CLAUDE_WRAPPER_CRASH_AT=<point>` kills the orchestrator with
 * SIGKILL at that step, exactly as a power cut would, so tests prove that a restart finishes or
 * undoes every multi-step action. Unset (always, outside tests), this is one env lookup.
 */
export type CrashPoint =
  | "claim:reserved" // session dir + session.json naming the request exist; request not moved
  | "claim:taken" // request moved into the session dir; layout not written
  | "claim:laid-out" // files written; session.json still names the request (not committed)
  | "spawn:intent" // session.json says active with no PID; no process yet
  | "spawn:started" // agent running; its PID not recorded yet
  | "complete:marked" // session.json says completed; requester not told, dir not renamed
  | "complete:notified"; // requester told; dir not renamed

const target = process.env.CLAUDE_WRAPPER_CRASH_AT;

export function crashPoint(point: CrashPoint): void {
  if (target === point) process.kill(process.pid, "SIGKILL");
}
