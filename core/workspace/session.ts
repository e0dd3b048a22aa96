import { join } from "node:path";
import { readJson, writeJsonAtomic } from "../base/fsx";
import { type ReadError, describeReadError, readTextOrWhy } from "../base/read-text";
import type { SessionGit } from "../git/integrate";

export const STATUSES = [
  "pending",
  "queued",
  "active",
  "idle",
  "restarting",
  "failed",
  "completed",
  "stopped",
] as const;
export type SessionStatus = (typeof STATUSES)[number];

/** Statuses whose session may still run: the one meaning of a live session, used everywhere. */
export const LIVE_STATUSES: readonly SessionStatus[] = ["pending", "queued", "active", "idle", "restarting"];

export function isLiveStatus(status: SessionStatus): boolean {
  return LIVE_STATUSES.includes(status);
}

/** session.json: written atomically, by the orchestrator (and `team start` / `team stop`) only. */
export interface SessionRecord {
  id: string;
  persona: string;
  name: string;
  status: SessionStatus;
  createdAt: string;
  startedAt: string | null;
  pid: number | null;
  /** Kernel start time of `pid` (clock ticks on Linux): a reused PID is never taken for ours. */
  pidStartTime: string | null;
  agentSessionId: string | null;
  requestedBy: string | null;
  restarts: number;
  exitCode: number | null;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  turns: number;
  error: string | null;
  /** Runs started so far: the first is a fresh conversation, later ones resume it. */
  runs: number;
  exitSignal: string | null;
  updatedAt: string;
  /** While a request is being turned into this session: the request dir it came from. */
  request?: string | null;
  /** Epoch ms before which a restarting session is not respawned (backoff). */
  retryAt?: number | null;
  endedAt?: string | null;
  /** The requester has been told how this session ended (completed or failed). */
  notified?: boolean;
  /**
   * Task progress as last counted, with the fileIdentity of the tasks.md it was counted from:
   * listings over thousands of sessions trust it while tasks.md is unchanged, instead of reading it.
   */
  tasksDone?: number;
  tasksTotal?: number;
  tasksKey?: string;
  /**
   * Set while an agent is being started, until its PID is recorded: the bytes of instructions.md
   * it is handed and the sizes of its output files before it ran. After a crash in between, a
   * grown output file (or a live process) says the run happened; otherwise it never started.
   */
  launch?: { instructionsSize: number; stdoutSize: number; stderrSize: number } | null;
  /**
   * Spend counted from agent.jsonl content that is gone (the file was truncated or replaced):
   * recorded totals are this plus what the file sums to now, so they never decrease.
   */
  spentBefore?: { costUsd: number; inputTokens: number; outputTokens: number; turns: number };
  /** The last action on the session failed on I/O and is retried (with backoff): why. */
  fault?: string | null;
  /** The agent CLI (runner name) and model of its latest run, recorded at spawn. */
  agent?: string | null;
  model?: string | null;
  /** Its git worktree and branch, and where the branch's merge into the team branch stands. */
  git?: SessionGit | null;
}

export function newSessionRecord(fields: Pick<SessionRecord, "id" | "persona" | "name"> & Partial<SessionRecord>): SessionRecord {
  const now = new Date().toISOString();
  const { id, persona, name, ...rest } = fields;
  return {
    // Identity first, so a person reading the file sees whose it is.
    id,
    persona,
    name,
    status: "pending",
    createdAt: now,
    startedAt: null,
    pid: null,
    pidStartTime: null,
    agentSessionId: null,
    requestedBy: null,
    restarts: 0,
    exitCode: null,
    costUsd: 0,
    inputTokens: 0,
    outputTokens: 0,
    turns: 0,
    error: null,
    runs: 0,
    exitSignal: null,
    updatedAt: now,
    ...rest,
  };
}

export function sessionJsonPath(dir: string): string {
  return join(dir, "session.json");
}

/** Past this size session.json is not read: the orchestrator writes a few hundred bytes. */
export const MAX_SESSION_BYTES = 1024 * 1024;

/**
 * Read and validate session.json. A missing file answers undefined; a corrupt or unreadable one
 * answers a record in `failed` with the reason, so one bad file never stops a loop or a listing.
 */
export function readSession(dir: string, id: string, persona: string): SessionRecord | undefined {
  const text = readTextOrWhy(sessionJsonPath(dir), MAX_SESSION_BYTES, { whole: true });
  if (typeof text === "string") return sessionFromText(text, id, persona);
  return text.failure === "missing" ? undefined : unreadableSession(id, persona, text);
}

/**
 * The stand-in for a session whose session.json exists but cannot be read (its dir or the file
 * not readable, a symlink, too large): `failed`, with why in `error`, naming the file.
 */
export function unreadableSession(id: string, persona: string, why: ReadError): SessionRecord {
  return standIn(newSessionRecord({ id, persona, name: id, status: "failed", error: `session.json ${describeReadError(why, MAX_SESSION_BYTES)}` }));
}

/** Records made up for a session.json that could not be read as one (see `isStandIn`). */
const standIns = new WeakSet<SessionRecord>();

function standIn(rec: SessionRecord): SessionRecord {
  standIns.add(rec);
  return rec;
}

/**
 * True for the `failed` record sessionFromText answers in place of a corrupt session.json: it
 * says what is wrong, but it is not the file's content, so it must never be written back (that
 * would erase what a person could still repair). Copies of it (`{ ...rec }`) are not marked.
 */
export function isStandIn(rec: SessionRecord): boolean {
  return standIns.has(rec);
}

const STATUS_SET: ReadonlySet<unknown> = new Set(STATUSES);

const finite = (v: unknown) => typeof v === "number" && Number.isFinite(v);

/**
 * True when `raw` already is a record the checks of sessionFromText would leave alone: every
 * field newSessionRecord fills is present (so no default is needed) and every field it checks
 * has a valid value. Anything else takes the slow path, which repairs or rejects it.
 */
function isComplete(raw: Partial<SessionRecord>): raw is SessionRecord {
  const pid = raw.pid;
  return (
    typeof raw.name === "string" &&
    STATUS_SET.has(raw.status) &&
    finite(raw.costUsd) &&
    finite(raw.inputTokens) &&
    finite(raw.outputTokens) &&
    finite(raw.turns) &&
    finite(raw.restarts) &&
    finite(raw.runs) &&
    (pid === null || (typeof pid === "number" && Number.isInteger(pid) && pid > 1)) &&
    raw.id !== undefined &&
    raw.persona !== undefined &&
    raw.createdAt !== undefined &&
    raw.startedAt !== undefined &&
    raw.pidStartTime !== undefined &&
    raw.agentSessionId !== undefined &&
    raw.requestedBy !== undefined &&
    raw.exitCode !== undefined &&
    raw.error !== undefined &&
    raw.exitSignal !== undefined &&
    raw.updatedAt !== undefined
  );
}

/**
 * session.json's text as a validated record (readSession without the read, for callers that read
 * many files their own way). Corrupt text answers a record in `failed` with the reason.
 */
export function sessionFromText(text: string, id: string, persona: string): SessionRecord {
  let raw: Partial<SessionRecord>;
  try {
    raw = JSON.parse(text);
  } catch {
    return standIn(newSessionRecord({ id, persona, name: id, status: "failed", error: "session.json is corrupt" }));
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return standIn(newSessionRecord({ id, persona, name: id, status: "failed", error: "session.json is not an object" }));
  }
  if (isComplete(raw)) {
    // What the slow path below would answer, without building a default record (a Date, twenty
    // fields) and spreading two objects per file: listings parse thousands. Only the key order
    // may differ from it (the file's own order, which writeSession keeps).
    raw.id = id;
    raw.persona = persona;
    return raw;
  }
  const base = newSessionRecord({ id, persona, name: id });
  const rec: SessionRecord = { ...base, ...raw, id, persona };
  if (!STATUSES.includes(rec.status)) {
    rec.status = "failed";
    rec.error = `session.json has an unknown status: ${String(raw.status)}`;
    standIn(rec);
  }
  for (const k of ["costUsd", "inputTokens", "outputTokens", "turns", "restarts", "runs"] as const) {
    if (typeof rec[k] !== "number" || !Number.isFinite(rec[k])) rec[k] = 0;
  }
  if (typeof rec.pid !== "number" || !Number.isInteger(rec.pid) || rec.pid <= 1) rec.pid = null;
  if (typeof rec.name !== "string") rec.name = id;
  return rec;
}

export function writeSession(dir: string, rec: SessionRecord): void {
  rec.updatedAt = new Date().toISOString();
  writeJsonAtomic(sessionJsonPath(dir), rec);
}

/** tracker.json: what the agent has been handed so far. */
export interface Tracker {
  /** Bytes of instructions.md the agent was already given. */
  instructionsOffset: number;
}

export function readTracker(dir: string): Tracker {
  const raw = readJson<Partial<Tracker>>(join(dir, "tracker.json"));
  const off = raw?.instructionsOffset;
  return { instructionsOffset: typeof off === "number" && off >= 0 ? off : 0 };
}

export function writeTracker(dir: string, t: Tracker): void {
  writeJsonAtomic(join(dir, "tracker.json"), t);
}
