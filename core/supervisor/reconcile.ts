/**
 * The one place that decides. Given what is on disk and in the process table, answer the few
 * actions that close the gap. Pure: no I/O, no clock but `now`, so every case is a table row in
 * test/reconcile.test.ts and any pass can be the first after a crash.
 */
import type { RequestState } from "../workspace/requests";
import type { SessionRecord } from "../workspace/session";
import type { TaskSummary } from "../workspace/tasks";

/** What the orchestrator knows of a session's agent process. */
export type ProcState =
  | { kind: "none" } // no process recorded, or we never started one
  | { kind: "running"; pid: number } // ours (spawned or adopted) and alive
  | { kind: "exited"; pid: number | null; code: number | null; signal: string | null } // we saw it end
  | { kind: "orphan-alive"; pid: number } // recorded in session.json, alive, not yet adopted
  | { kind: "orphan-gone" }; // recorded as running, but gone while nobody watched

export interface SessionObs {
  id: string;
  rec: SessionRecord;
  tasks: TaskSummary;
  /** Bytes of instructions.md now, and bytes already handed to the agent. */
  instructionsSize: number;
  instructionsOffset: number;
  proc: ProcState;
  /** A failure no restart can fix (not logged in, bad flags…), with the fix in the text. */
  fatalFailure?: string;
  /** The agent's last run ended with a result line (a finished turn). */
  lastTurnFinished: boolean;
  /** The claimed request is inside the session dir (claim step 2 done). */
  requestTaken: boolean;
  /** An action on it is still in flight: decide nothing this pass. */
  busy: boolean;
}

export interface RequestObs {
  dir: string;
  persona: string;
  name: string;
  state: RequestState;
  /** A session reserved for this request by an earlier, interrupted claim. */
  reservedBy?: string;
}

export interface World {
  now: number;
  sessions: SessionObs[];
  requests: RequestObs[];
  maxAgents: number;
  budgetExhausted: boolean;
  /** Failures in a row after which a session is given up. */
  maxRestarts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export type Action =
  | { type: "reject"; request: string; reason: string }
  | { type: "claim"; request: string; persona: string; name: string; reserved?: string }
  | { type: "finish-setup"; session: string }
  | { type: "drop-reservation"; session: string }
  | { type: "complete"; session: string }
  | { type: "archive"; session: string }
  | { type: "spawn"; session: string; resume: boolean; reason: string }
  | { type: "queue"; session: string }
  | { type: "adopt"; session: string; pid: number }
  | { type: "exit"; session: string; pid: number | null; code: number | null; signal: string | null; next: ExitOutcome }
  | { type: "notify-failed"; session: string }
  | { type: "budget-exhausted" }
  | { type: "wake-at"; at: number };

export type ExitOutcome =
  | { status: "idle" }
  | { status: "restarting"; attempt: number; retryAt: number; delayMs: number }
  | { status: "failed"; reason: string };

export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** What an ended run means for its session. */
export function judgeExit(
  s: Pick<SessionObs, "fatalFailure" | "rec">,
  code: number | null,
  signal: string | null,
  finishedTurn: boolean,
  w: Pick<World, "now" | "maxRestarts" | "backoffBaseMs" | "backoffMaxMs">,
): ExitOutcome {
  if (s.fatalFailure) return { status: "failed", reason: s.fatalFailure };
  if (code === 0 || (code === null && signal === null && finishedTurn)) return { status: "idle" };
  const attempt = s.rec.restarts + 1;
  if (attempt > w.maxRestarts) {
    return { status: "failed", reason: `the agent failed ${s.rec.restarts + 1} times in a row (last: ${signal ? `signal ${signal}` : `exit code ${code ?? "unknown"}`}); see agent.stderr.log` };
  }
  const delayMs = backoffDelay(attempt, w.backoffBaseMs, w.backoffMaxMs);
  return { status: "restarting", attempt, retryAt: w.now + delayMs, delayMs };
}

const ENDED = new Set(["completed", "stopped", "failed"]);

export function reconcile(w: World): Action[] {
  const actions: Action[] = [];
  const wakeAts: number[] = [];
  let running = 0;
  for (const s of w.sessions) {
    if (s.proc.kind === "running" || s.proc.kind === "orphan-alive") running++;
  }
  const slots = () => w.maxAgents <= 0 || running < w.maxAgents;

  // Requests: reject the bad once, wait for the unwritten, claim the ready (or finish a claim).
  for (const r of w.requests) {
    if (r.state.kind === "invalid") actions.push({ type: "reject", request: r.dir, reason: r.state.reason });
    else if (r.state.kind === "waiting") {
      if (Number.isFinite(r.state.recheckAt)) wakeAts.push(r.state.recheckAt);
    } else actions.push({ type: "claim", request: r.dir, persona: r.persona, name: r.name, reserved: r.reservedBy });
  }
  const claimedNow = new Set(w.requests.filter((r) => r.state.kind === "ready").map((r) => r.reservedBy));

  let wantsBudget = false;
  for (const s of w.sessions) {
    if (s.busy) continue;
    const { rec, proc } = s;

    // A half-made session from an interrupted claim.
    if (rec.request) {
      if (claimedNow.has(rec.id)) continue;
      if (s.requestTaken) actions.push({ type: "finish-setup", session: s.id });
      else if (!w.requests.some((r) => r.reservedBy === s.id)) actions.push({ type: "drop-reservation", session: s.id });
      continue;
    }

    if (rec.status === "completed") {
      actions.push({ type: "archive", session: s.id });
      continue;
    }
    if (s.tasks.complete && rec.status !== "stopped") {
      actions.push({ type: "complete", session: s.id });
      continue;
    }

    // Processes first: what happened while we were not looking.
    if (proc.kind === "orphan-alive") {
      actions.push({ type: "adopt", session: s.id, pid: proc.pid });
      continue;
    }
    if (proc.kind === "exited") {
      const next = judgeExit(s, proc.code, proc.signal, s.lastTurnFinished, w);
      actions.push({ type: "exit", session: s.id, pid: proc.pid, code: proc.code, signal: proc.signal, next });
      if (next.status === "restarting") wakeAts.push(next.retryAt);
      continue;
    }
    if (proc.kind === "orphan-gone") {
      const next = judgeExit(s, null, null, s.lastTurnFinished, w);
      actions.push({ type: "exit", session: s.id, pid: rec.pid, code: null, signal: null, next });
      if (next.status === "restarting") wakeAts.push(next.retryAt);
      continue;
    }
    // [personas] Who hears of it (requester, whoever gave it work, else the manager) is decided
    // when telling (notice.ts reads the workspace); a session nobody is to hear of costs a no-op.
    if (rec.status === "failed" && !rec.notified) {
      actions.push({ type: "notify-failed", session: s.id });
      continue;
    }
    if (proc.kind === "running" || ENDED.has(rec.status)) continue;

    // No process: decide whether one should run.
    const hasNews = s.instructionsSize > s.instructionsOffset;
    let start: { resume: boolean; reason: string } | undefined;
    if (rec.status === "pending" || rec.status === "active") start = { resume: rec.runs > 0, reason: rec.runs > 0 ? "continue" : "first run" };
    else if (rec.status === "queued") start = { resume: rec.runs > 0, reason: rec.runs > 0 ? "new instructions" : "first run" };
    else if (rec.status === "idle" && hasNews) start = { resume: true, reason: "new instructions" };
    else if (rec.status === "restarting") {
      if ((rec.retryAt ?? 0) <= w.now) start = { resume: rec.runs > 0, reason: "restart after failure" };
      else wakeAts.push(rec.retryAt!);
    }
    if (!start) continue;
    if (w.budgetExhausted) {
      wantsBudget = true;
      continue;
    }
    if (slots()) {
      running++;
      actions.push({ type: "spawn", session: s.id, ...start });
    } else if (rec.status !== "queued" && rec.status !== "restarting") {
      actions.push({ type: "queue", session: s.id });
    }
  }
  if (wantsBudget) actions.push({ type: "budget-exhausted" });
  if (wakeAts.length) actions.push({ type: "wake-at", at: Math.min(...wakeAts) });
  return actions;
}
