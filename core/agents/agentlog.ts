/**
 * Reading an agent's `agent.jsonl`: its stream-json stdout, appended across runs. Agents write
 * it while we read, crash in the middle of a line, and the next run appends after the broken
 * tail, so the reader is incremental (byte offset + the partial line carried over), skips lines
 * that are not JSON, and salvages a JSON message glued behind a broken tail.
 *
 * Totals are a pure function of the file (summed over every `result` line), so re-reading after
 * an orchestrator crash never counts a turn twice. Failure is judged on the last run only, by
 * `is_error` (never `subtype`: a failed turn can say `subtype:"success"`).
 *
 * Other CLIs (Codex, Gemini) write their own JSON lines; their runner's `translate` turns each
 * into the Claude messages read here (a LogDialect), so totals, failures and `logs` are the same
 * code for every CLI.
 */
import { lstatOrUndefined } from "../base/fsx";
import { readRange } from "../base/read-text";
import type { AgentFailure, AgentResult, LogDialect } from "./dialect";
import { classifyFailure } from "./failures";

export type { AgentFailure, AgentResult, FailureKind, LogDialect, RunResultView } from "./dialect";
export { classifyFailure, classifyStderr, fatalOnStderr, oneLine } from "./failures";

export interface AgentLogTotals {
  costUsd: number;
  /** input_tokens + cache_creation_input_tokens + cache_read_input_tokens. */
  inputTokens: number;
  outputTokens: number;
  /** Sum of num_turns. */
  turns: number;
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
  /** Conversation ids with at least one turn that finished without error (those can be resumed). */
  finishedConversations: string[];
  /** Lines that were not JSON objects. */
  garbageLines: number;
  /** Bytes consumed (complete lines only, plus the tail when finished). */
  bytes: number;
}

export interface AgentLogEntry {
  /** The line as written (without its newline); "" for messages a dialect held back until the end. */
  raw: string;
  /** The parsed line; undefined for a line that is not a JSON object. */
  value?: Record<string, any>;
  /** What it means as Claude stream-json messages (the line itself for Claude's own output). */
  messages: Record<string, any>[];
}

/** A line longer than this is dropped (counted as garbage) instead of held in memory. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

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
  constructor(private readonly dialect?: LogDialect) {}
  totals: AgentLogTotals = { costUsd: 0, inputTokens: 0, outputTokens: 0, turns: 0 };
  results = 0;
  runs = 0;
  garbage = 0;
  lastResult: AgentResult | null = null;
  agentSessionId: string | null = null;
  /** Conversations with at least one turn that finished without error. */
  finished = new Set<string>();
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
      if (!r.isError && this.agentSessionId) this.finished.add(this.agentSessionId);
    }
  }

  summary(bytes: number): AgentLogSummary {
    const failure = classifyFailure(this.run.errors, this.run.result, this.dialect);
    return {
      totals: { ...this.totals, costUsd: Math.round(this.totals.costUsd * 1e8) / 1e8 },
      results: this.results,
      runs: this.runs,
      lastResult: this.lastResult,
      lastTurnFinished: this.run.result !== null,
      failure,
      authFailure: failure && (failure.kind === "auth" || failure.kind === "billing") ? failure.reason : null,
      agentSessionId: this.agentSessionId,
      finishedConversations: [...this.finished],
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
  private state: SummaryState;
  private translation: Record<string, any> = {};
  /** The file read so far: its inode, and its last bytes before `offset`. */
  private ino = -1;
  private seen: Buffer = Buffer.alloc(0);

  /** `dialect`: how the CLI that writes the file reads as Claude stream-json (none: it is Claude's). */
  constructor(
    public path: string,
    readonly dialect?: LogDialect,
  ) {
    this.state = new SummaryState(dialect);
  }

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
    const held = this.dialect?.flush?.(this.translation) ?? [];
    if (held.length) {
      for (const m of held) this.state.add(m);
      out.push({ raw: "", messages: held });
    }
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
    this.state = new SummaryState(this.dialect);
    this.translation = {};
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
    if (!value) {
      this.state.add(undefined);
      out.push({ raw, messages: [] });
      return;
    }
    const messages = this.dialect?.translate?.(value, this.translation) ?? [value];
    for (const m of messages) this.state.add(m);
    out.push({ raw, value, messages });
  }
}

/** Every entry of a log and its summary in one pass (a partial last line counts if it parses). */
export function readAgentLog(path: string, dialect?: LogDialect): { entries: AgentLogEntry[]; summary: AgentLogSummary } {
  const reader = new AgentLogReader(path, dialect);
  const entries = reader.read();
  const tail = reader.finish();
  entries.push(...tail.filter((e) => e.value || e.messages.length));
  return { entries, summary: reader.summary() };
}

/** Totals, last result and failure of a whole agent.jsonl (missing file: zeros). */
export function summarizeAgentLog(path: string, dialect?: LogDialect): AgentLogSummary {
  const reader = new AgentLogReader(path, dialect);
  reader.read();
  reader.finish();
  return reader.summary();
}

/**
 * Did the last run end with a result line? After an orchestrator crash this tells a finished
 * turn (the agent exited on its own) from one that was cut off. A missing log: false.
 */
export function lastTurnFinished(path: string, dialect?: LogDialect): boolean {
  return summarizeAgentLog(path, dialect).lastTurnFinished;
}
