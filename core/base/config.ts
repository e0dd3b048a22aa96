/**
 * Every timing knob, in one place. Defaults suit real agents; tests and benchmarks shorten them
 * through the environment (never through hidden behaviour in the code paths).
 */
/** A duration knob from the environment; unset, empty or not a number ≥ 0: the default. */
export function envMs(name: string, fallback: number): number {
  const raw = process.env[name];
  const v = Number(raw);
  return raw && Number.isFinite(v) && v >= 0 ? v : fallback;
}

export function timings() {
  return {
    /** SIGTERM → SIGKILL grace when stopping an agent's process group. */
    stopGraceMs: envMs("CLAUDE_WRAPPER_STOP_GRACE_MS", 5000),
    /** How long `team stop` gives the orchestrator to stop its agents before SIGKILL. */
    orchestratorGraceMs: envMs("CLAUDE_WRAPPER_ORCHESTRATOR_GRACE_MS", 15_000),
    /** An agent whose tasks are all completed may end its turn (and report its cost) this long. */
    completionGraceMs: envMs("CLAUDE_WRAPPER_COMPLETION_GRACE_MS", 20_000),
    /** tasks.md must be unchanged this long before "all completed" is believed (two quick writes). */
    tasksSettleMs: envMs("CLAUDE_WRAPPER_TASKS_SETTLE_MS", 150),
    /** A request's instructions.md counts as written once unchanged this long (two looks apart). */
    settleMs: envMs("CLAUDE_WRAPPER_SETTLE_MS", 20),
    /** First restart delay after a failed run; doubles per failure in a row. */
    backoffBaseMs: envMs("CLAUDE_WRAPPER_BACKOFF_MS", 1000),
    backoffMaxMs: envMs("CLAUDE_WRAPPER_BACKOFF_MAX_MS", 60_000),
    maxRestarts: envMs("CLAUDE_WRAPPER_MAX_RESTARTS", 4),
    /** The safety-net resync; events are the trigger, this only catches what they missed. */
    resyncMs: envMs("CLAUDE_WRAPPER_RESYNC_MS", 30_000),
    /** How often adopted agents (not our children: no exit event) are checked for life. */
    adoptedCheckMs: envMs("CLAUDE_WRAPPER_ADOPTED_CHECK_MS", 1000),
    /** First retry of an action that failed on I/O (disk full, a dir removed); doubles, to 1 min. */
    faultBackoffMs: envMs("CLAUDE_WRAPPER_FAULT_BACKOFF_MS", 1000),
    /** After this long without a pass, the orchestrator hands its idle code pages back (RSS at rest). */
    idlePageOutMs: envMs("CLAUDE_WRAPPER_IDLE_PAGEOUT_MS", 10_000),
    /** How long a starting orchestrator waits for the workspace lock a short-lived command holds. */
    lockWaitMs: envMs("CLAUDE_WRAPPER_LOCK_WAIT_MS", 3000),
  };
}

export type Timings = ReturnType<typeof timings>;
