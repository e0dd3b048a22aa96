import { describe, expect, test } from "bun:test";
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
