/**
 * The one place that decides. Given a snapshot of the workspace and the process table (built by
 * observe.ts, which only reads), answer the actions that close the gap (carried out by
 * actuate.ts, which decides nothing). Pure: no I/O, no clock but `now`, so every case is a table
 * row in test/reconcile.test.ts and any pass can be the first after a crash.
 */
import type { SessionGit } from "../git/integrate";
import type { RequestState } from "../workspace/requests";
import type { SessionRecord } from "../workspace/session";
import type { TaskSummary } from "../workspace/tasks";
import { type MergeCandidate, decideGit, nextMerge, sharedRootWarning } from "./reconcile-git";

/** What the supervisor knows of a session's agent process. */
export type ProcState =
  | { kind: "none" } // no process recorded, or we never started one
  | { kind: "running"; pid: number } // ours (spawned or adopted) and alive
  | { kind: "exited"; pid: number | null; code: number | null; signal: string | null } // we saw it end
  | { kind: "orphan-alive"; pid: number } // recorded (or found by its environment), alive, not ours yet
  | { kind: "orphan-gone" }; // recorded as running, but gone while nobody watched

/** Spend as summed from an agent's output. */
export interface Totals {
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  turns: number;
}

export interface SessionObs {
  id: string;
  rec: SessionRecord;
  tasks: TaskSummary;
  /** When tasks.md last changed (its mtime, ms): completion is judged on a settled file. */
  tasksChangedAt: number;
  /** The identity of the tasks.md counted (see SessionRecord.tasksKey); "" when missing. */
  tasksKey: string;
  /** Bytes of instructions.md now, and bytes already handed to the agent. */
  instructionsSize: number;
  instructionsOffset: number;
  proc: ProcState;
  /** A failure no restart can fix (not logged in, bad flags…), with the fix in the text. */
  fatalFailure?: string;
  /** The agent's last run ended with a result line (a finished turn). */
  lastTurnFinished: boolean;
  /** Spend summed over agent.jsonl as it is now. */
  logTotals: Totals;
  /** With `rec.launch`: the interrupted start left output, so the agent did run. */
  launched: boolean;
  /** The claimed request is inside the session dir (claim step 2 done). */
  requestTaken: boolean;
  /** An action on it is still in flight: decide nothing this pass. */
  busy: boolean;
  /** A person asked to resume it (`team resume`, `retry`): the marker file is there. */
  resumeRequested: boolean;
  /** Tasks complete while its agent still runs: since when it has been given to end its turn. */
  completingSince?: number;
  /** The last action on it failed on I/O: the reason and when to try again. */
  fault?: { message: string; retryAt: number };
  /** Its worktree and branch as session.json records them (validated); none: it has no worktree. */
  git?: SessionGit;
  /** It runs in a worktree of its own: it has one, or its team and persona give it one. */
  worktree?: boolean;
  /** Its recorded worktree is not on disk (removed by hand, or a crash cut its making short). */
  worktreeMissing?: boolean;
  /** Its persona may change files (Write, Edit, Bash…): two at once in a shared root is warned of. */
  edits?: boolean;
}

export interface RequestObs {
  dir: string;
  persona: string;
  name: string;
  state: RequestState;
  /** A session reserved for this request by an earlier, interrupted claim. */
  reservedBy?: string;
  /** Claiming it failed on I/O: when to try again. */
  retryAt?: number;
}

export interface World {
  now: number;
  sessions: SessionObs[];
  requests: RequestObs[];
  /** Sessions whose dir is gone (removed by hand), with their agent if one still runs. */
  vanished: Array<{ id: string; pid: number | null }>;
  /** Sessions whose session.json cannot be read as one (left alone until repaired). */
  corrupt: Array<{ id: string; persona: string; reason: string; file: string }>;
  /** Things a person must fix, each said once (keyed). */
  problems: Array<{ key: string; message: string }>;
  /** When an entry not yet complete (a dir without its file) is to be looked at again. */
  recheckAt?: number;
  /** The workspace we locked was deleted or replaced under us. */
  workspaceLost?: string;
  /** Agents started at most (0: no limit). */
  maxAgents: number;
  /** Budget in USD (0: none) and spend so far (archives included). */
  budgetUsd: number;
  spent: number;
  /** The team's manager session completed and was archived (and when it was announced). */
  teamDone?: { manager: string; announced: boolean };
  maxRestarts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long an agent whose tasks are all completed may take to end its turn. */
  completionGraceMs: number;
  /** How long tasks.md must be unchanged before "all completed" is believed. */
  tasksSettleMs: number;
  /** The team's git branch new worktrees fork from (absent: agents share the project root). */
  git?: { integration: string; verify?: string };
  /** The session whose branch is being merged now: one merge at a time for the whole team. */
  mergeInFlight?: string;
  /** Merges that may send a session back before it is given up on (default MAX_MERGE_ATTEMPTS). */
  maxMergeAttempts?: number;
}

export type Action =
  | { type: "reject"; request: string; reason: string }
  | { type: "claim"; request: string; persona: string; name: string; reserved?: string }
  | { type: "finish-setup"; session: string }
  | { type: "drop-reservation"; session: string }
  | { type: "record"; session: string; fields: Partial<SessionRecord> }
  | { type: "begin-completion"; session: string }
  | { type: "complete"; session: string; pid: number | null; fields: Partial<SessionRecord> }
  | { type: "archive"; session: string }
  | { type: "spawn"; session: string; resume: boolean; reason: string }
  | { type: "queue"; session: string }
  | { type: "adopt"; session: string; pid: number }
  | { type: "exit"; session: string; pid: number | null; code: number | null; signal: string | null; next: ExitOutcome }
  | { type: "stop-agent"; session: string; pid: number; reason: string }
  | { type: "stop-vanished"; session: string; pid: number }
  | { type: "resume"; session: string }
  | { type: "notify-failed"; session: string }
  | { type: "report"; key: string; message: string; session?: string }
  | { type: "budget-exhausted" }
  | { type: "team-done"; manager: string }
  | { type: "abandon"; reason: string }
  | { type: "wake-at"; at: number }
  // Git: a worktree before the first run, a stop before the merge, the merge, sending work back.
  | { type: "prepare-worktree"; session: string }
  | { type: "end-turn"; session: string; pid: number; fields: Partial<SessionRecord> }
  | { type: "merge"; session: string; fields: Partial<SessionRecord> }
  | { type: "reopen"; session: string }
  | { type: "give-up"; session: string; reason: string };

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

const TOTAL_FIELDS = ["costUsd", "inputTokens", "outputTokens", "turns"] as const;

/**
 * Spend to record: what agent.jsonl sums to now, on top of what earlier content of it already
 * counted. Recorded spend never decreases: when the log sums to less than was recorded (it was
 * truncated or replaced), the difference becomes part of `spentBefore`, so what the agent spends
 * from then on still adds up.
 */
export function recordedSpend(rec: SessionRecord, log: Totals): Partial<SessionRecord> | undefined {
  const before: Totals = { costUsd: 0, inputTokens: 0, outputTokens: 0, turns: 0, ...rec.spentBefore };
  let baseChanged = false;
  for (const k of TOTAL_FIELDS) {
    if (before[k] + log[k] < rec[k]) {
      before[k] = rec[k] - log[k];
      baseChanged = true;
    }
  }
  const now = Object.fromEntries(TOTAL_FIELDS.map((k) => [k, round(before[k] + log[k])])) as unknown as Totals;
  const changed = TOTAL_FIELDS.some((k) => now[k] !== rec[k]);
  if (!changed && !baseChanged) return undefined;
  return { ...now, ...(baseChanged ? { spentBefore: before } : {}) };
}

const round = (n: number) => Math.round(n * 1e8) / 1e8;

/** Task progress to record when tasks.md was counted and differs from what session.json says. */
function recordedTasks(s: SessionObs): Partial<SessionRecord> | undefined {
  const { tasks, rec, tasksKey } = s;
  if (tasks.problem || !tasksKey) return undefined;
  if (rec.tasksKey === tasksKey && rec.tasksDone === tasks.done && rec.tasksTotal === tasks.total) return undefined;
  return { tasksDone: tasks.done, tasksTotal: tasks.total, tasksKey };
}

/** A run that began just before a crash, its PID never recorded, but it did run: count it. */
function launchSettled(s: SessionObs): Partial<SessionRecord> {
  if (!s.rec.launch) return {};
  return s.launched ? { runs: s.rec.runs + 1, startedAt: s.rec.startedAt ?? new Date(s.rec.updatedAt).toISOString(), launch: null } : { launch: null };
}

const ENDED = new Set(["completed", "stopped", "failed"]);
const alive = (p: ProcState) => p.kind === "running" || p.kind === "orphan-alive";

export function reconcile(w: World): Action[] {
  if (w.workspaceLost) return [{ type: "abandon", reason: w.workspaceLost }];
  const actions: Action[] = [];
  const wakeAts: number[] = [];
  if (w.recheckAt !== undefined) wakeAts.push(w.recheckAt);
  let running = w.sessions.filter((s) => alive(s.proc)).length;
  const slots = () => w.maxAgents <= 0 || running < w.maxAgents;
  const budgetExhausted = w.budgetUsd > 0 && w.spent >= w.budgetUsd;

  for (const v of w.vanished) {
    if (v.pid !== null) actions.push({ type: "stop-vanished", session: v.id, pid: v.pid });
    else actions.push({ type: "report", key: `vanished:${v.id}`, message: `${v.id}: its session dir was removed; the session is forgotten` });
  }
  for (const c of w.corrupt) {
    actions.push({ type: "report", key: `corrupt:${c.id}`, session: c.id, message: `${c.reason}; the session is left alone until ${c.file} is repaired (or its dir removed)` });
  }
  for (const p of w.problems) actions.push({ type: "report", key: p.key, message: p.message });

  // Requests: reject the bad once, wait for the unwritten, claim the ready (or finish a claim).
  for (const r of w.requests) {
    if (r.retryAt !== undefined && r.retryAt > w.now) {
      wakeAts.push(r.retryAt);
      continue;
    }
    if (r.state.kind === "invalid") actions.push({ type: "reject", request: r.dir, reason: r.state.reason });
    else if (r.state.kind === "waiting") {
      if (Number.isFinite(r.state.recheckAt)) wakeAts.push(r.state.recheckAt);
    } else actions.push({ type: "claim", request: r.dir, persona: r.persona, name: r.name, reserved: r.reservedBy });
  }
  const claimedNow = new Set(w.requests.filter((r) => r.state.kind === "ready").map((r) => r.reservedBy));
  const mergeQueue: MergeCandidate[] = [];

  let wantsBudget = false;
  for (const s of w.sessions) {
    if (s.busy) continue;
    if (s.fault && s.fault.retryAt > w.now) {
      wakeAts.push(s.fault.retryAt);
      continue;
    }
    const { rec, proc } = s;

    // A half-made session from an interrupted claim.
    if (rec.request) {
      if (claimedNow.has(rec.id)) continue;
      if (s.requestTaken) actions.push({ type: "finish-setup", session: s.id });
      // Its request vanished, or turned out unreadable (a crash after it was put back): drop it.
      else if (!w.requests.some((r) => r.reservedBy === s.id && r.state.kind !== "invalid")) actions.push({ type: "drop-reservation", session: s.id });
      continue;
    }

    const derived = { ...recordedSpend(rec, s.logTotals), ...recordedTasks(s) };

    if (rec.status === "completed") {
      if (alive(proc)) actions.push({ type: "stop-agent", session: s.id, pid: (proc as { pid: number }).pid, reason: "its session completed" });
      else actions.push({ type: "archive", session: s.id });
      continue;
    }

    // A stopped (paused) or failed session keeps no agent: finish a stop a crash interrupted.
    if ((rec.status === "stopped" || rec.status === "failed") && alive(proc)) {
      actions.push({ type: "stop-agent", session: s.id, pid: (proc as { pid: number }).pid, reason: `the session is ${rec.status}` });
      continue;
    }

    // A session with a worktree of its own leaves through the merge queue (reconcile-git.ts).
    if (s.git) {
      const d = decideGit(s as SessionObs & { git: SessionGit }, w, { ...derived, ...launchSettled(s) });
      if (d) {
        actions.push(...d.actions);
        if (d.wakeAt !== undefined) wakeAts.push(d.wakeAt);
        if (d.candidate) mergeQueue.push(d.candidate);
        continue;
      }
    }

    // All tasks completed (on a settled tasks.md): the agent may end its turn (its result line
    // carries the turn's cost), then it is stopped, and the session completes with its whole spend.
    // (Never for a session with a branch: its work is archived only once merged.)
    if (s.tasks.complete && rec.status !== "stopped" && !s.git) {
      const settledAt = s.tasksChangedAt + w.tasksSettleMs;
      if (settledAt > w.now) {
        wakeAts.push(settledAt);
      } else if (alive(proc) && s.completingSince === undefined) {
        actions.push({ type: "begin-completion", session: s.id });
        wakeAts.push(w.now + w.completionGraceMs);
        if (proc.kind === "orphan-alive") actions.push({ type: "adopt", session: s.id, pid: proc.pid });
      } else if (alive(proc) && s.completingSince! + w.completionGraceMs > w.now) {
        wakeAts.push(s.completingSince! + w.completionGraceMs);
      } else {
        const pid = alive(proc) ? (proc as { pid: number }).pid : null;
        actions.push({ type: "complete", session: s.id, pid, fields: { ...derived, ...launchSettled(s) } });
      }
      continue;
    }

    if (Object.keys(derived).length) actions.push({ type: "record", session: s.id, fields: derived });

    // Processes first: what happened while we were not looking.
    if (proc.kind === "orphan-alive") {
      actions.push({ type: "adopt", session: s.id, pid: proc.pid });
      continue;
    }
    if (proc.kind === "exited" || proc.kind === "orphan-gone") {
      const code = proc.kind === "exited" ? proc.code : null;
      const signal = proc.kind === "exited" ? proc.signal : null;
      const next = judgeExit(s, code, signal, s.lastTurnFinished, w);
      actions.push({ type: "exit", session: s.id, pid: proc.kind === "exited" ? proc.pid : rec.pid, code, signal, next });
      if (next.status === "restarting") wakeAts.push(next.retryAt);
      continue;
    }
    if (proc.kind === "running") continue;

    if (s.resumeRequested && (rec.status === "stopped" || rec.status === "failed")) {
      actions.push({ type: "resume", session: s.id });
      continue;
    }
    // [personas] Who hears of it (requester, whoever gave it work, else the manager) is decided
    // when telling (notice.ts reads the workspace); a session nobody is to hear of costs a no-op.
    if (rec.status === "failed" && !rec.notified) {
      actions.push({ type: "notify-failed", session: s.id });
      continue;
    }
    if (ENDED.has(rec.status)) continue;

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
    if (budgetExhausted) {
      wantsBudget = true;
      continue;
    }
    if (slots()) {
      running++;
      // Its worktree first (in the background: a big repository takes seconds); then it starts.
      if (s.worktree && (!s.git || s.worktreeMissing)) actions.push({ type: "prepare-worktree", session: s.id });
      else actions.push({ type: "spawn", session: s.id, ...start });
    } else if (rec.status !== "queued" && rec.status !== "restarting") {
      actions.push({ type: "queue", session: s.id });
    }
  }
  const merge = nextMerge(mergeQueue, w);
  if (merge) actions.push(merge);
  const shared = sharedRootWarning(w);
  if (shared) actions.push(shared);
  if (wantsBudget) actions.push({ type: "budget-exhausted" });
  if (w.teamDone && !w.teamDone.announced) actions.push({ type: "team-done", manager: w.teamDone.manager });
  if (wakeAts.length) actions.push({ type: "wake-at", at: Math.min(...wakeAts) });
  return actions;
}
