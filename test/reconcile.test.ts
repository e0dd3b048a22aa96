import { describe, expect, test } from "bun:test";
import { type Action, type ProcState, type RequestObs, type SessionObs, type World, reconcile } from "../core/supervisor/reconcile";
import { type SessionRecord, newSessionRecord } from "../core/workspace/session";
import { summarize } from "../core/workspace/tasks";

const NOW = 1_800_000_000_000;

function session(id: string, rec: Partial<SessionRecord> = {}, obs: Partial<SessionObs> = {}): SessionObs {
  return {
    id,
    rec: newSessionRecord({ id, persona: id.replace(/-\d+$/, ""), name: id, ...rec }),
    tasks: summarize([{ title: "t", status: "pending" }]),
    instructionsSize: 100,
    instructionsOffset: 100,
    proc: { kind: "none" },
    lastTurnFinished: false,
    requestTaken: false,
    busy: false,
    ...obs,
  };
}

function world(sessions: SessionObs[], requests: RequestObs[] = [], over: Partial<World> = {}): World {
  return { now: NOW, sessions, requests, maxAgents: 0, budgetExhausted: false, maxRestarts: 3, backoffBaseMs: 1000, backoffMaxMs: 60_000, ...over };
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
    ["complete tasks complete the session", session("a-1", { status: "active" }, { proc: running(), tasks: done }), ["complete"]],
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
    expect(types(reconcile(world(ss, [], { budgetExhausted: true })))).toEqual(["budget-exhausted"]);
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
