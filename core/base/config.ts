/**
 * Timing knobs of the orchestrator. Defaults suit real agents; tests and benchmarks shorten
 * them through the environment (never through hidden behaviour in the code paths).
 */
/** A duration knob from the environment; unset, empty or not a number ≥ 0: the default. */
export function envMs(name: string, fallback: number): number {
  const raw = process.env[name];
  const v = Number(raw);
  return raw && Number.isFinite(v) && v >= 0 ? v : fallback;
}

export function orchestratorTimings() {
  return {
    /** SIGTERM → SIGKILL grace when stopping an agent. */
    stopGraceMs: envMs("CLAUDE_WRAPPER_STOP_GRACE_MS", 5000),
    /** First restart delay after a failed run; doubles per failure in a row. */
    backoffBaseMs: envMs("CLAUDE_WRAPPER_BACKOFF_MS", 1000),
    backoffMaxMs: envMs("CLAUDE_WRAPPER_BACKOFF_MAX_MS", 60_000),
    maxRestarts: envMs("CLAUDE_WRAPPER_MAX_RESTARTS", 4),
    /** The safety-net resync; events are the trigger, this only catches what they missed. */
    resyncMs: envMs("CLAUDE_WRAPPER_RESYNC_MS", 30_000),
    /** How often adopted agents (not our children: no exit event) are checked for life. */
    adoptedCheckMs: envMs("CLAUDE_WRAPPER_ADOPTED_CHECK_MS", 1000),
  };
}
