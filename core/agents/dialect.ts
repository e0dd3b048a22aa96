/**
 * The shapes shared by the log reader, the failure classifiers and the runners: what a run's
 * result and failure are, and how one CLI's output reads as Claude stream-json.
 */

export interface AgentResult {
  isError: boolean;
  subtype: string;
  /** `result`, or the `errors` list when a run failed before it began. */
  text: string;
  costUsd: number;
  turns: number;
  durationMs: number | null;
  sessionId: string | null;
}

export type FailureKind = "auth" | "billing" | "model" | "session" | "permissions" | "transient" | "other";

export interface AgentFailure {
  kind: FailureKind;
  /** Retrying cannot help: mark the session failed at once (the fix is in `reason`). */
  fatal: boolean;
  /** One line for a person, with the fix when there is one. */
  reason: string;
}

/** What a failure classifier is given: the assistant `error` values and the result of one run. */
export type RunResultView = (Pick<AgentResult, "isError" | "text"> & Partial<Pick<AgentResult, "subtype">>) | null;

/**
 * How one agent CLI's output reads as Claude stream-json (an AgentRunner is one). Absent
 * methods: the output already is Claude's, and Claude's failure texts apply.
 */
export interface LogDialect {
  name: string;
  /**
   * One parsed line of the CLI's stdout as Claude messages (system/init, assistant, user,
   * result); undefined when the line is not this CLI's (it is then read as it is). `state` is
   * one object per reader, for what spans lines (text streamed in pieces).
   */
  translate?(line: Record<string, any>, state: Record<string, any>): Record<string, any>[] | undefined;
  /** What `translate` still holds when the output ends (a run killed mid-message). */
  flush?(state: Record<string, any>): Record<string, any>[];
  /** A run's failure in this CLI's words, with its fix; undefined: judge it as Claude's. */
  classifyFailure?(errors: readonly string[], result: RunResultView): AgentFailure | null | undefined;
  /** What the CLI printed on stderr; undefined: judge it as Claude's. */
  classifyStderr?(text: string): AgentFailure | null | undefined;
}
