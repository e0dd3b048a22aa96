import { describe, expect, test } from "bun:test";
import type { SessionGit } from "../core/git/integrate";
import { type Action, type ProcState, type RequestObs, type SessionObs, type World, reconcile, recordedSpend } from "../core/supervisor/reconcile";
import { type SessionRecord, newSessionRecord } from "../core/workspace/session";
import { summarize } from "../core/workspace/tasks";

const NOW = 1_800_000_000_000;

function session(id: string, rec: Partial<SessionRecord> = {}, obs: Partial<SessionObs> = {}): SessionObs {
  return {
    id,
    rec: newSessionRecord({ id, persona: id.replace(/-\d+$/, ""), name: id, ...rec }),
    tasks: summarize([{ title: "t", status: "pending" }]),
    tasksChangedAt: NOW - 10_000,
    tasksKey: "",
    instructionsSize: 100,
    instructionsOffset: 100,
    proc: { kind: "none" },
    lastTurnFinished: false,
    logTotals: { costUsd: 0, inputTokens: 0, outputTokens: 0, turns: 0 },
    launched: false,
    requestTaken: false,
    busy: false,
    resumeRequested: false,
    ...obs,
  };
}

function world(sessions: SessionObs[], requests: RequestObs[] = [], over: Partial<World> = {}): World {
  return {
    now: NOW,
    sessions,
    requests,
    vanished: [],
    corrupt: [],
    problems: [],
    maxAgents: 0,
    budgetUsd: 0,
    spent: 0,
    maxRestarts: 3,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    completionGraceMs: 5000,
    tasksSettleMs: 150,
    ...over,
  };
}

const types = (as: Action[]): string[] => as.map((a) => a.type);
const done = summarize([{ title: "t", status: "completed" }]);
const running = (pid = 42): ProcState => ({ kind: "running", pid });

describe("reconcile: sessions", () => {
  const cases: Array<[string, SessionObs, string[]]> = [
    ["pending starts", session("a-1"), ["spawn"]],
    ["running with open tasks is left alone", session("a-1", { status: "active" }, { proc: running() }), []],
    ["idle without news waits", session("a-1", { status: "idle", runs: 1 }), []],
    ["idle with news resumes", session("a-1", { status: "idle", runs: 1 }, { instructionsSize: 150 }), ["spawn"]],
    ["complete tasks give a running agent its grace to end the turn", session("a-1", { status: "active" }, { proc: running(), tasks: done }), ["begin-completion", "wake-at"]],
    ["within the grace the agent is left alone", session("a-1", { status: "active" }, { proc: running(), tasks: done, completingSince: NOW - 1000 }), ["wake-at"]],
    ["after the grace it is stopped and completed", session("a-1", { status: "active" }, { proc: running(), tasks: done, completingSince: NOW - 5000 }), ["complete"]],
    ["an agent that ended its turn completes at once", session("a-1", { status: "active" }, { proc: { kind: "exited", pid: 5, code: 0, signal: null }, tasks: done }), ["complete"]],
    ["an idle session whose tasks were completed by hand completes", session("a-1", { status: "idle", runs: 1 }, { tasks: done }), ["complete"]],
    ["tasks.md written a moment ago is not believed yet", session("a-1", { status: "idle", runs: 1 }, { tasks: done, tasksChangedAt: NOW - 10 }), ["wake-at"]],
    ["a stopped session whose agent still runs is stopped (an interrupted pause)", session("a-1", { status: "stopped", pid: 7 }, { proc: { kind: "orphan-alive", pid: 7 } }), ["stop-agent"]],
    ["a stopped session is never started by itself", session("a-1", { status: "stopped", runs: 1 }, { instructionsSize: 500 }), []],
    ["a stopped session with a resume request resumes", session("a-1", { status: "stopped", runs: 1 }, { resumeRequested: true }), ["resume"]],
    ["a failed session with a retry request resumes", session("a-1", { status: "failed", runs: 1 }, { resumeRequested: true }), ["resume"]],
    ["a session whose last step failed on I/O waits for its retry time", session("a-1", {}, { fault: { message: "ENOSPC", retryAt: NOW + 500 } }), ["wake-at"]],
    ["completed but not archived is archived", session("a-1", { status: "completed" }, { tasks: done }), ["archive"]],
    ["stopped stays stopped even when complete", session("a-1", { status: "stopped" }, { tasks: done }), []],
    ["failed stays failed (once announced)", session("a-1", { status: "failed", notified: true }), []],
    ["busy is skipped", session("a-1", {}, { busy: true, tasks: done }), []],
    ["a live orphan is adopted", session("a-1", { status: "active", pid: 7 }, { proc: { kind: "orphan-alive", pid: 7 } }), ["adopt"]],
    ["a claimed request is finished", session("a-1", { request: "a-request-x" }, { requestTaken: true }), ["finish-setup"]],
    ["a reservation whose request vanished is dropped", session("a-1", { request: "a-request-x" }), ["drop-reservation"]],
    ["no tasks is not complete", session("a-1", { status: "active" }, { proc: running(), tasks: summarize([]) }), []],
  ];
  for (const [name, s, want] of cases) {
    test(name, () => expect(types(reconcile(world([s])))).toEqual(want));
  }

  test("exit 0 with open tasks → idle", () => {
    const [a] = reconcile(world([session("a-1", { status: "active" }, { proc: { kind: "exited", pid: 5, code: 0, signal: null } })]));
    expect(a).toMatchObject({ type: "exit", next: { status: "idle" } });
  });

  test("non-zero exit → restarting with exponential backoff, then failed", () => {
    const exit = (restarts: number) =>
      reconcile(world([session("a-1", { status: "active", restarts }, { proc: { kind: "exited", pid: 5, code: 1, signal: null } })]));
    expect(exit(0)[0]).toMatchObject({ type: "exit", next: { status: "restarting", attempt: 1, delayMs: 1000, retryAt: NOW + 1000 } });
    expect(exit(1)[0]).toMatchObject({ next: { status: "restarting", attempt: 2, delayMs: 2000 } });
    expect(exit(2)[0]).toMatchObject({ next: { status: "restarting", attempt: 3, delayMs: 4000 } });
    expect(exit(3)[0]).toMatchObject({ next: { status: "failed" } });
    expect(exit(0)).toContainEqual({ type: "wake-at", at: NOW + 1000 });
  });

  test("auth failure fails at once, no restart", () => {
    const [a] = reconcile(
      world([session("a-1", { status: "active" }, { proc: { kind: "exited", pid: 5, code: 1, signal: null }, fatalFailure: "not logged in: run claude /login" })]),
    );
    expect(a).toMatchObject({ type: "exit", next: { status: "failed", reason: "not logged in: run claude /login" } });
  });

  test("an agent gone while nobody watched: finished turn → idle, else restart", () => {
    const gone = (lastTurnFinished: boolean) =>
      reconcile(world([session("a-1", { status: "active", pid: 9 }, { proc: { kind: "orphan-gone" }, lastTurnFinished })]))[0];
    expect(gone(true)).toMatchObject({ type: "exit", next: { status: "idle" } });
    expect(gone(false)).toMatchObject({ type: "exit", next: { status: "restarting" } });
  });

  test("restarting waits for its time, then resumes", () => {
    const s = (retryAt: number) => session("a-1", { status: "restarting", runs: 1, retryAt });
    expect(reconcile(world([s(NOW + 500)]))).toEqual([{ type: "wake-at", at: NOW + 500 }]);
    expect(reconcile(world([s(NOW - 1)]))[0]).toMatchObject({ type: "spawn", resume: true });
  });

  test("--max-agents queues what does not fit and starts queued ones when a slot frees", () => {
    const ss = [session("a-1", { status: "active" }, { proc: running(1) }), session("b-2"), session("c-3")];
    expect(reconcile(world(ss, [], { maxAgents: 2 })).map((a) => [a.type, "session" in a ? a.session : ""])).toEqual([
      ["spawn", "b-2"],
      ["queue", "c-3"],
    ]);
    const queued = session("c-3", { status: "queued" });
    expect(types(reconcile(world([ss[0]!, queued], [], { maxAgents: 1 })))).toEqual([]);
    expect(types(reconcile(world([queued], [], { maxAgents: 1 })))).toEqual(["spawn"]);
  });

  test("budget exhausted: nothing starts or resumes, running ones are left", () => {
    const ss = [session("a-1"), session("b-2", { status: "idle", runs: 1 }, { instructionsSize: 200 }), session("c-3", { status: "active" }, { proc: running() })];
    expect(types(reconcile(world(ss, [], { budgetUsd: 1, spent: 1 })))).toEqual(["budget-exhausted"]);
    expect(types(reconcile(world(ss, [], { budgetUsd: 1, spent: 0.99 })))).toEqual(["spawn", "spawn"]);
  });
});

describe("reconcile: requests", () => {
  const req = (state: RequestObs["state"], reservedBy?: string): RequestObs => ({ dir: "intern-request-x", persona: "intern", name: "x", state, reservedBy });
  test("ready is claimed, bad is rejected, unwritten waits", () => {
    expect(reconcile(world([], [req({ kind: "ready" })]))).toEqual([{ type: "claim", request: "intern-request-x", persona: "intern", name: "x", reserved: undefined }]);
    expect(types(reconcile(world([], [req({ kind: "invalid", reason: "bad" })])))).toEqual(["reject"]);
    expect(reconcile(world([], [req({ kind: "waiting", recheckAt: NOW + 30 })]))).toEqual([{ type: "wake-at", at: NOW + 30 }]);
    expect(reconcile(world([], [req({ kind: "waiting", recheckAt: Number.POSITIVE_INFINITY })]))).toEqual([]);
  });
  test("a request reserved by an interrupted claim is claimed into that same session", () => {
    const s = session("intern-1", { request: "intern-request-x" });
    const as = reconcile(world([s], [req({ kind: "ready" }, "intern-1")]));
    expect(as).toEqual([{ type: "claim", request: "intern-request-x", persona: "intern", name: "x", reserved: "intern-1" }]);
  });
});

describe("reconcile: telling the requester", () => {
  test("a failed session is announced once (to its requester, whoever gave it work, else the manager)", () => {
    expect(types(reconcile(world([session("a-1", { status: "failed", requestedBy: "m-1" })])))).toEqual(["notify-failed"]);
    expect(types(reconcile(world([session("a-1", { status: "failed", requestedBy: "m-1", notified: true })])))).toEqual([]);
    expect(types(reconcile(world([session("a-1", { status: "failed" })])))).toEqual(["notify-failed"]);
    expect(types(reconcile(world([session("a-1", { status: "failed", notified: true })])))).toEqual([]);
  });
});

describe("reconcile: the world around the sessions", () => {
  test("an agent whose session dir vanished is stopped", () => {
    expect(reconcile(world([], [], { vanished: [{ id: "a-1", pid: 9 }] }))).toEqual([{ type: "stop-vanished", session: "a-1", pid: 9 }]);
  });
  test("a lost workspace is abandoned, nothing else is done", () => {
    expect(reconcile(world([session("a-1")], [], { workspaceLost: "gone" }))).toEqual([{ type: "abandon", reason: "gone" }]);
  });
  test("the manager's completion is announced once", () => {
    expect(types(reconcile(world([], [], { teamDone: { manager: "m-1", announced: false } })))).toEqual(["team-done"]);
    expect(types(reconcile(world([], [], { teamDone: { manager: "m-1", announced: true } })))).toEqual([]);
  });
  test("a request whose claim failed on I/O waits for its retry time", () => {
    const r: RequestObs = { dir: "intern-request-x", persona: "intern", name: "x", state: { kind: "ready" }, retryAt: NOW + 100 };
    expect(reconcile(world([], [r]))).toEqual([{ type: "wake-at", at: NOW + 100 }]);
  });
});

describe("what session.json derives from other files", () => {
  test("task progress and spend are recorded when they change, not otherwise", () => {
    const s = session("a-1", { status: "idle", runs: 1 }, { tasksKey: "1:2:3", logTotals: { costUsd: 0.5, inputTokens: 10, outputTokens: 5, turns: 1 } });
    expect(reconcile(world([s]))).toEqual([
      { type: "record", session: "a-1", fields: { costUsd: 0.5, inputTokens: 10, outputTokens: 5, turns: 1, tasksDone: 0, tasksTotal: 1, tasksKey: "1:2:3" } },
    ]);
    const same = session("a-1", { status: "idle", runs: 1, tasksDone: 0, tasksTotal: 1, tasksKey: "1:2:3" }, { tasksKey: "1:2:3" });
    expect(reconcile(world([same]))).toEqual([]);
  });
});

describe("recorded spend never decreases", () => {
  const log = (costUsd: number) => ({ costUsd, inputTokens: costUsd * 100, outputTokens: 0, turns: 1 });
  test("the log's totals are recorded as they grow", () => {
    expect(recordedSpend(newSessionRecord({ id: "a-1", persona: "a", name: "a" }), log(2))).toEqual({ costUsd: 2, inputTokens: 200, outputTokens: 0, turns: 1 });
  });
  test("a truncated log keeps what was recorded, and what follows adds to it", () => {
    const rec = newSessionRecord({ id: "a-1", persona: "a", name: "a", costUsd: 5, inputTokens: 500, turns: 3 });
    const after = recordedSpend(rec, log(0))!;
    expect(after).toMatchObject({ costUsd: 5, inputTokens: 500, turns: 3, spentBefore: { costUsd: 5, inputTokens: 500, turns: 2 } });
    const later = recordedSpend({ ...rec, ...after }, log(1))!;
    expect(later).toMatchObject({ costUsd: 6, inputTokens: 600 });
  });
});

describe("reconcile: sessions with a git worktree of their own", () => {
  const g = (over: Partial<SessionGit> = {}): SessionGit => ({
    branch: "claude-wrapper/a-1",
    integration: "claude-wrapper/1",
    worktree: "/ws/.worktrees/a-1",
    cwd: "/ws/.worktrees/a-1",
    forkedFrom: "f".repeat(40),
    merge: "unmerged",
    attempt: 0,
    ...over,
  });
  const teamGit = { git: { integration: "claude-wrapper/1" } };
  const withGit = (id: string, rec: Partial<SessionRecord>, git: SessionGit | undefined, obs: Partial<SessionObs> = {}) => session(id, rec, { git, worktree: true, ...obs });
  const cases: Array<[string, SessionObs, string[]]> = [
    ["its first run waits for its worktree", withGit("a-1", {}, undefined), ["prepare-worktree"]],
    ["with its worktree there it starts", withGit("a-1", {}, g()), ["spawn"]],
    ["a worktree gone missing is made again before a resume", withGit("a-1", { status: "idle", runs: 1 }, g(), { instructionsSize: 200, worktreeMissing: true }), ["prepare-worktree"]],
    ["complete with its agent running: the grace first", withGit("a-1", { status: "active" }, g(), { proc: running(), tasks: done }), ["begin-completion", "wake-at"]],
    ["after the grace its agent is stopped, not completed", withGit("a-1", { status: "active" }, g(), { proc: running(), tasks: done, completingSince: NOW - 5000 }), ["end-turn"]],
    ["complete with its agent stopped: merged", withGit("a-1", { status: "idle", runs: 1 }, g(), { tasks: done }), ["merge"]],
    ["an agent that ended by itself: merged (the merge records its end)", withGit("a-1", { status: "active" }, g(), { tasks: done, proc: { kind: "exited", pid: 5, code: 0, signal: null } }), ["merge"]],
    ["a merge left 'verifying' by a crash is done again", withGit("a-1", { status: "idle", runs: 1 }, g({ merge: "verifying" }), { tasks: done }), ["merge"]],
    ["merged: completed and archived", withGit("a-1", { status: "idle", runs: 1 }, g({ merge: "merged", commit: "c".repeat(40) }), { tasks: done }), ["complete"]],
    ["merged, even with tasks reopened since", withGit("a-1", { status: "idle", runs: 1 }, g({ merge: "merged" })), ["complete"]],
    ["a conflict not yet told: reopened", withGit("a-1", { status: "idle", runs: 1 }, g({ merge: "conflict", attempt: 1, files: ["a.txt"] }), { tasks: done }), ["reopen"]],
    ["told, with the reopen task open and new instructions: resumed", withGit("a-1", { status: "idle", runs: 1 }, g({ merge: "conflict", attempt: 1, reopened: 1 }), { instructionsSize: 300 }), ["spawn"]],
    ["told, and complete again: merged again", withGit("a-1", { status: "idle", runs: 2 }, g({ merge: "conflict", attempt: 1, reopened: 1 }), { tasks: done }), ["merge"]],
    ["sent back too often: given up on", withGit("a-1", { status: "idle", runs: 6 }, g({ merge: "verify-failed", attempt: 6, reopened: 5 }), { tasks: done }), ["give-up"]],
    ["given up on: announced like any failure", withGit("a-1", { status: "failed", runs: 6 }, g({ merge: "verify-failed", attempt: 6, reopened: 5 }), { tasks: done }), ["notify-failed"]],
    ["stopped (paused) with tasks complete: left alone", withGit("a-1", { status: "stopped", runs: 1 }, g(), { tasks: done }), []],
    ["a settling tasks.md is not believed yet", withGit("a-1", { status: "idle", runs: 1 }, g(), { tasks: done, tasksChangedAt: NOW - 10 }), ["wake-at"]],
  ];
  for (const [name, s, want] of cases) {
    test(name, () => expect(types(reconcile(world([s], [], teamGit)))).toEqual(want));
  }

  test("one merge at a time for the whole team, the oldest completion first", () => {
    const a = withGit("a-1", { status: "idle", runs: 1 }, g(), { tasks: done, tasksChangedAt: NOW - 2000 });
    const b = withGit("b-2", { status: "idle", runs: 1 }, g({ branch: "claude-wrapper/b-2" }), { tasks: done, tasksChangedAt: NOW - 3000 });
    const merges = (over: Partial<World> = {}) => reconcile(world([a, b], [], { ...teamGit, ...over })).filter((x) => x.type === "merge");
    expect(merges()).toEqual([{ type: "merge", session: "b-2", fields: {} }]);
    expect(merges({ mergeInFlight: "c-3" })).toEqual([]);
    // The one being merged is busy (skipped); the other waits for it.
    expect(merges({ mergeInFlight: "b-2", sessions: [a, { ...b, busy: true }] })).toEqual([]);
  });

  test("a team without worktrees starts its sessions in the project root", () => {
    expect(types(reconcile(world([session("a-1", {}, { worktree: false })])))).toEqual(["spawn"]);
  });

  test("two agents that edit running at once in a shared project root are warned of (by one key: said once)", () => {
    const run = (id: string, edits: boolean, git?: SessionGit) => session(id, { status: "active" }, { proc: running(), edits, git });
    const warned = (ss: SessionObs[]) => reconcile(world(ss)).filter((x) => x.type === "report");
    expect(warned([run("a-1", true), run("b-2", true)])).toEqual([expect.objectContaining({ type: "report", key: "shared-root" })]);
    expect(warned([run("a-1", true), run("b-2", false)])).toEqual([]);
    expect(warned([run("a-1", true), run("b-2", true, g())])).toEqual([]);
  });
});
