/**
 * Reading an agent's `agent.jsonl`: its stream-json stdout, appended across runs. Agents write
 * it while we read, crash in the middle of a line, and the next run appends after the broken
 * tail, so the reader is incremental (byte offset + the partial line carried over), skips lines
 * that are not JSON, and salvages a JSON message glued behind a broken tail.
 *
 * Totals are a pure function of the file (summed over every `result` line), so re-reading after
 * an orchestrator crash never counts a turn twice. Failure is judged on the last run only, by
 * `is_error` (never `subtype`: a failed turn can say `subtype:"success"`).
 */
import { lstatOrUndefined } from "../base/fsx";
import { readRange } from "../base/read-text";

export interface AgentLogTotals {
  costUsd: number;
  /** input_tokens + cache_creation_input_tokens + cache_read_input_tokens. */
  inputTokens: number;
  outputTokens: number;
  /** Sum of num_turns. */
  turns: number;
}

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

export interface AgentLogSummary {
  totals: AgentLogTotals;
  /** `result` lines seen (finished runs). */
  results: number;
  /** `system/init` lines seen (started runs). */
  runs: number;
  lastResult: AgentResult | null;
  /** The last run ended with a result line (a finished turn, successful or not). */
  lastTurnFinished: boolean;
  /** What went wrong in the last run, if anything. */
  failure: AgentFailure | null;
  /** `failure.reason` when the last run failed on login or billing (never worth a retry). */
  authFailure: string | null;
  /** The conversation id the agent CLI reported last. */
  agentSessionId: string | null;
  /** Lines that were not JSON objects. */
  garbageLines: number;
  /** Bytes consumed (complete lines only, plus the tail when finished). */
  bytes: number;
}

export interface AgentLogEntry {
  /** The line as written (without its newline). */
  raw: string;
  /** The parsed message; undefined for a line that is not a JSON object. */
  value?: Record<string, any>;
}

/** A line longer than this is dropped (counted as garbage) instead of held in memory. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

const RESTART_HINT = "then restart `claude-wrapper orchestrate`";

const AUTH_ERRORS: Record<string, AgentFailure> = {
  authentication_failed: {
    kind: "auth",
    fatal: true,
    reason: `claude is not logged in: run \`claude\` and /login, or set ANTHROPIC_API_KEY, ${RESTART_HINT}`,
  },
  oauth_org_not_allowed: {
    kind: "auth",
    fatal: true,
    reason: `claude's login belongs to an organization that may not use Claude Code (oauth_org_not_allowed): run \`claude\` and /login with another account, or set ANTHROPIC_API_KEY, ${RESTART_HINT}`,
  },
  billing_error: {
    kind: "billing",
    fatal: true,
    reason: `claude reports a billing problem (billing_error: credit balance or plan): fix billing for the account, or /login with another one, ${RESTART_HINT}`,
  },
};

const TRANSIENT_ERRORS = new Set(["rate_limit", "overloaded", "server_error"]);

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The text a result line carries: `result`, else its `errors` list. */
function resultText(v: Record<string, any>): string {
  const r = str(v.result);
  if (r) return r;
  if (Array.isArray(v.errors)) return v.errors.map(String).join("; ");
  return "";
}

export function parseResult(v: Record<string, any>): AgentResult {
  return {
    isError: v.is_error === true,
    subtype: str(v.subtype),
    text: resultText(v),
    costUsd: num(v.total_cost_usd),
    turns: num(v.num_turns),
    durationMs: typeof v.duration_ms === "number" ? v.duration_ms : null,
    sessionId: typeof v.session_id === "string" ? v.session_id : null,
  };
}

/** The `error` an assistant message carries (`authentication_failed`, `rate_limit`, …), if any. */
export function assistantError(v: Record<string, any>): string | undefined {
  if (v.type !== "assistant") return undefined;
  const e = v.error ?? v.message?.error;
  if (typeof e === "string" && e) return e;
  if (e && typeof e === "object" && typeof e.type === "string") return e.type;
  return undefined;
}

/**
 * What went wrong in one run, from its assistant `error` values and its result. Login and
 * billing failures are fatal (a restart fails the same way); connection trouble is transient.
 */
export function classifyFailure(
  errors: readonly string[],
  result: (Pick<AgentResult, "isError" | "text"> & Partial<Pick<AgentResult, "subtype">>) | null,
): AgentFailure | null {
  const text = result?.text ?? "";
  for (const e of errors) if (AUTH_ERRORS[e]) return AUTH_ERRORS[e]!;
  if (/Not logged in|Please run \/login/i.test(text)) return AUTH_ERRORS.authentication_failed!;
  if (/Invalid API key/i.test(text)) {
    return {
      kind: "auth",
      fatal: true,
      reason: `claude rejected the API key (Invalid API key): fix or unset ANTHROPIC_API_KEY, or run \`claude\` and /login, ${RESTART_HINT}`,
    };
  }
  if (/credit balance is too low/i.test(text)) return AUTH_ERRORS.billing_error!;
  if (errors.includes("model_not_found") || (result?.isError && /model.*not.*(found|exist|available)/i.test(text))) {
    return {
      kind: "model",
      fatal: true,
      reason: `the persona's model is not available to this account${text ? ` (${oneLine(text)})` : ""}: fix \`model:\` in the persona (<workspace>/personas/<persona>.md), ${RESTART_HINT}`,
    };
  }
  if (/No conversation found with session ID/i.test(text)) {
    return {
      kind: "session",
      fatal: true,
      reason: `claude has no conversation to resume (${oneLine(text)}): its transcript under ~/.claude/projects is gone, or claude runs as another user or from another directory`,
    };
  }
  const transient = errors.find((e) => TRANSIENT_ERRORS.has(e));
  if (transient || /API Error: (Unable to connect|Overloaded|5\d\d)|rate limit/i.test(text)) {
    if (!result || result.isError) {
      return { kind: "transient", fatal: false, reason: `the API failed (${transient ?? "error"}${text ? `: ${oneLine(text)}` : ""}); retrying may help` };
    }
  }
  if (result?.isError) return { kind: "other", fatal: false, reason: oneLine(text) || `the turn failed (is_error, ${result.subtype || "no subtype"})` };
  if (errors.length && !result) return { kind: "other", fatal: false, reason: `the agent reported ${errors.join(", ")}` };
  return null;
}

/**
 * What claude printed on stderr before any stream-json (bad flags, a reused session id, running
 * as root with --dangerously-skip-permissions). Feed it the stderr of the last run only.
 */
export function classifyStderr(text: string): AgentFailure | null {
  if (/Session ID .* is already in use/i.test(text)) {
    return {
      kind: "session",
      fatal: false,
      reason: "the claude conversation already exists (a first run was started before): resume it with --resume instead of --session-id",
    };
  }
  if (/No conversation found with session ID/i.test(text)) return classifyFailure([], { isError: true, text: text.trim() });
  if (/dangerously-skip-permissions cannot be used with root/i.test(text)) {
    return {
      kind: "permissions",
      fatal: true,
      reason: "claude refuses --dangerously-skip-permissions when run as root: run `claude-wrapper orchestrate` as a normal user, or set IS_SANDBOX=1 if this machine is a throwaway sandbox",
    };
  }
  if (/Invalid session ID|system prompt file not found|unknown option|requires --verbose|error: option/i.test(text)) {
    return { kind: "other", fatal: true, reason: `claude rejected how it was started: ${oneLine(text)}` };
  }
  if (/Not logged in|Invalid API key/i.test(text)) return classifyFailure([], { isError: true, text });
  return null;
}

/** What one run printed on stderr (from byte `from` on), when it says no restart can help. */
export function fatalOnStderr(path: string, from: number): string | undefined {
  const size = lstatOrUndefined(path)?.size ?? 0;
  if (size <= from) return undefined;
  const failure = classifyStderr(readRange(path, from, Math.min(size, from + 64 * 1024)).toString("utf8"));
  return failure?.fatal ? failure.reason : undefined;
}

function oneLine(text: string, max = 300): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** Parse one line; a JSON message glued behind a broken tail (`garbage{"type":…}`) is salvaged. */
export function parseLogLine(raw: string): Record<string, any> | undefined {
  const line = raw.trim();
  if (!line) return undefined;
  const tryParse = (s: string) => {
    try {
      const v = JSON.parse(s);
      return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, any>) : undefined;
    } catch {
      return undefined;
    }
  };
  const v = tryParse(line);
  if (v) return v;
  const at = line.lastIndexOf('{"type":');
  return at > 0 ? tryParse(line.slice(at)) : undefined;
}

interface RunState {
  errors: string[];
  result: AgentResult | null;
}

/** Folds parsed lines into a summary; pure, so a reader and a one-shot pass agree. */
class SummaryState {
  totals: AgentLogTotals = { costUsd: 0, inputTokens: 0, outputTokens: 0, turns: 0 };
  results = 0;
  runs = 0;
  garbage = 0;
  lastResult: AgentResult | null = null;
  agentSessionId: string | null = null;
  run: RunState = { errors: [], result: null };

  add(v: Record<string, any> | undefined): void {
    if (!v) {
      this.garbage++;
      return;
    }
    if (v.type === "system" && v.subtype === "init") {
      this.runs++;
      this.run = { errors: [], result: null };
      if (typeof v.session_id === "string") this.agentSessionId = v.session_id;
      return;
    }
    const err = assistantError(v);
    if (err) {
      if (this.run.result) this.run = { errors: [], result: null };
      this.run.errors.push(err);
      return;
    }
    if (v.type === "result") {
      // A result with no init since the last one is a run of its own (e.g. a failed --resume).
      if (this.run.result) this.run = { errors: [], result: null };
      const r = parseResult(v);
      const u = (v.usage ?? {}) as Record<string, unknown>;
      this.totals.costUsd += r.costUsd;
      this.totals.inputTokens += num(u.input_tokens) + num(u.cache_creation_input_tokens) + num(u.cache_read_input_tokens);
      this.totals.outputTokens += num(u.output_tokens);
      this.totals.turns += r.turns;
      this.results++;
      this.lastResult = r;
      this.run.result = r;
      if (r.sessionId) this.agentSessionId = r.sessionId;
    }
  }

  summary(bytes: number): AgentLogSummary {
    const failure = classifyFailure(this.run.errors, this.run.result);
    return {
      totals: { ...this.totals, costUsd: Math.round(this.totals.costUsd * 1e8) / 1e8 },
      results: this.results,
      runs: this.runs,
      lastResult: this.lastResult,
      lastTurnFinished: this.run.result !== null,
      failure,
      authFailure: failure && (failure.kind === "auth" || failure.kind === "billing") ? failure.reason : null,
      agentSessionId: this.agentSessionId,
      garbageLines: this.garbage,
      bytes,
    };
  }
}

/** Bytes before the offset kept to recognise the file read so far (see AgentLogReader). */
const SEEN_TAIL_BYTES = 64;

/**
 * Incremental reader of a growing agent.jsonl: each `read()` returns the complete lines written
 * since the last call and keeps a partial last line for the next one. Another file in its place
 * (a new inode), or the same one truncated (shorter, or its bytes before the offset changed) is
 * read again from its start: never a fragment from the middle of a line, never a line lost.
 * `path` may be changed when the session dir is archived (renamed): the file is the same (same
 * inode), so the offset stays valid.
 */
export class AgentLogReader {
  offset = 0;
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private skipping = false;
  private state = new SummaryState();
  /** The file read so far: its inode, and its last bytes before `offset`. */
  private ino = -1;
  private seen: Buffer = Buffer.alloc(0);

  constructor(public path: string) {}

  /** Complete lines written since the last call (none when the file is missing). */
  read(): AgentLogEntry[] {
    const st = lstatOrUndefined(this.path);
    if (!st?.isFile()) return [];
    if (this.offset > 0 && (st.ino !== this.ino || st.size < this.offset || !this.stillSeen())) this.reset();
    this.ino = st.ino;
    const out: AgentLogEntry[] = [];
    while (this.offset < st.size) {
      let chunk: Buffer;
      try {
        chunk = readRange(this.path, this.offset, Math.min(st.size, this.offset + CHUNK_BYTES));
      } catch {
        break;
      }
      if (chunk.length === 0) break;
      this.offset += chunk.length;
      this.remember(chunk);
      this.consume(chunk, out);
    }
    return out;
  }

  private remember(chunk: Buffer): void {
    const keep = Math.min(SEEN_TAIL_BYTES, this.seen.length + chunk.length);
    const joined = chunk.length >= keep ? chunk.subarray(chunk.length - keep) : Buffer.concat([this.seen, chunk]).subarray(-keep);
    this.seen = Buffer.from(joined);
  }

  /** The bytes just before the offset are still the ones read there (not truncated and rewritten). */
  private stillSeen(): boolean {
    if (this.seen.length === 0) return true;
    try {
      return readRange(this.path, this.offset - this.seen.length, this.offset).equals(this.seen);
    } catch {
      return false;
    }
  }

  /**
   * The writer is done: treat a partial last line as complete (a run killed mid-line leaves
   * one). Call only when no more bytes can follow, or the line would be read twice.
   */
  finish(): AgentLogEntry[] {
    const out: AgentLogEntry[] = [];
    if (this.carryBytes > 0 && !this.skipping) {
      const raw = Buffer.concat(this.carry).toString("utf8");
      this.carry = [];
      this.carryBytes = 0;
      if (raw.trim()) this.take(raw, out);
    }
    this.carry = [];
    this.carryBytes = 0;
    this.skipping = false;
    return out;
  }

  /** Totals and last-run state over everything read so far. */
  summary(): AgentLogSummary {
    return this.state.summary(this.offset - this.carryBytes);
  }

  reset(): void {
    this.offset = 0;
    this.seen = Buffer.alloc(0);
    this.carry = [];
    this.carryBytes = 0;
    this.skipping = false;
    this.state = new SummaryState();
  }

  private consume(chunk: Buffer, out: AgentLogEntry[]): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        this.carry = [];
        this.carryBytes = 0;
        continue;
      }
      const raw = this.carryBytes ? Buffer.concat([...this.carry, piece]).toString("utf8") : piece.toString("utf8");
      this.carry = [];
      this.carryBytes = 0;
      if (raw.trim()) this.take(raw, out);
    }
    if (start < chunk.length && !this.skipping) {
      const rest = Buffer.from(chunk.subarray(start));
      this.carry.push(rest);
      this.carryBytes += rest.length;
      if (this.carryBytes > MAX_LINE_BYTES) {
        this.carry = [];
        this.carryBytes = 0;
        this.skipping = true;
        this.state.add(undefined);
      }
    }
  }

  private take(raw: string, out: AgentLogEntry[]): void {
    const value = parseLogLine(raw);
    this.state.add(value);
    out.push(value ? { raw, value } : { raw });
  }
}

/** Every entry of a log and its summary in one pass (a partial last line counts if it parses). */
export function readAgentLog(path: string): { entries: AgentLogEntry[]; summary: AgentLogSummary } {
  const reader = new AgentLogReader(path);
  const entries = reader.read();
  const tail = reader.finish();
  entries.push(...tail.filter((e) => e.value));
  return { entries, summary: reader.summary() };
}

/** Totals, last result and failure of a whole agent.jsonl (missing file: zeros). */
export function summarizeAgentLog(path: string): AgentLogSummary {
  const reader = new AgentLogReader(path);
  reader.read();
  reader.finish();
  return reader.summary();
}

/**
 * Did the last run end with a result line? After an orchestrator crash this tells a finished
 * turn (the agent exited on its own) from one that was cut off. A missing log: false.
 */
export function lastTurnFinished(path: string): boolean {
  return summarizeAgentLog(path).lastTurnFinished;
}
