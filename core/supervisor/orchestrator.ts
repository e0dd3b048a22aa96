/**
 * The supervisor: watch → mark dirty → reconcile → apply. Watcher events, child exits and timers
 * only schedule a pass; `reconcile()` (pure) decides; this file observes the world and carries
 * out the actions, each idempotent so a crash between any two steps is finished by the next pass.
 */
import { renameSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { AgentLogReader, type AgentLogSummary, fatalOnStderr } from "../agents/agentlog";
import { runnerFor } from "../agents/index";
import type { AgentRunner } from "../agents/types";
import { orchestratorTimings } from "../base/config";
import { crashPoint } from "../base/crash";
import { UserError, errorMessage } from "../base/errors";
import type { Emit } from "./events";
import { fileIdentity, lstatOrUndefined } from "../base/fsx";
import { instructionsPath } from "../workspace/instructions";
import { notifyRequester } from "./notify";
import { acquireOrchestratorLock } from "../workspace/owner-lock";
import { type Persona, loadPersonas } from "../workspace/personas";
import { readGoal } from "../workspace/team-file";
import { agentsByEnvironment, isOurProcess, processStartTime, spawnDetached, stopGroup } from "../processes/proc";
import { type Action, type ProcState, type RequestObs, type SessionObs, reconcile } from "./reconcile";
import { CLAIMED_REQUEST, dropReservation, finishSession, inspectRequest, reserveSession, takeRequest } from "../workspace/requests";
import { type SessionRecord, isStandIn, readSession, readTracker, writeSession, writeTracker } from "../workspace/session";
import { type TaskSummary, readTasks } from "../workspace/tasks";
import { turnPrompt } from "../agents/turn";
import { type WatchHandle, watchTree } from "../base/watch";
import { archiveDirName, listEntries, projectRoot } from "../workspace/paths";

export interface OrchestratorOptions {
  workspace: string;
  maxAgents: number;
  budgetUsd: number;
  skipPermissions: boolean;
  /** Run every session with this agent runner instead of its persona's (demo uses `sim`). */
  agent?: string;
  emit: Emit;
  warn: (message: string) => void;
}

interface Proc {
  pid: number;
  startTime: string;
  adopted: boolean;
  exit?: { code: number | null; signal: string | null };
  /** A failure on stderr that no restart can fix (bad flags, root + skip-permissions). */
  fatal?: string;
}

interface Cached {
  rec: SessionRecord;
  /** fileIdentity of session.json and tracker.json when last read or written by us. */
  sessionKey: string;
  trackerKey: string;
  tasks: TaskSummary;
  tasksKey: string;
  log: AgentLogSummary;
  logKey: string;
  /** Reads only the bytes an agent appended since the last look. */
  reader: AgentLogReader;
  instructionsSize: number;
  instructionsOffset: number;
}


/** The agent of a session that no session.json records (after a crash between spawn and record). */
function findAgentByEnv(workspace: string, sessionId: string, persona: string): { pid: number; startTime: string } | undefined {
  return agentsByEnvironment(workspace).find((a) => a.sessionId === sessionId && a.persona === persona);
}

/** Whether an agent started at `launch` left any output (agent.jsonl or its stderr grew). */
function launched(dir: string, launch: NonNullable<SessionRecord["launch"]>): boolean {
  const grew = (file: string, before: unknown) => (lstatOrUndefined(join(dir, file))?.size ?? 0) > (typeof before === "number" ? before : 0);
  return grew("agent.jsonl", launch.stdoutSize) || grew("agent.stderr.log", launch.stderrSize);
}

export class Orchestrator {
  private readonly ws: string;
  private readonly timings = orchestratorTimings();
  private readonly procs = new Map<string, Proc>();
  private readonly cache = new Map<string, Cached>();
  private readonly dirty = new Set<string>();
  private readonly busy = new Set<string>();
  private readonly rejected = new Map<string, string>();
  private readonly archivedCost = new Map<string, number>();
  /** When an entry that is not complete yet was first seen (see youngRecheck). */
  private readonly firstSeen = new Map<string, number>();
  private readonly stillYoung = new Set<string>();
  /** Sessions whose session.json is corrupt, with what was reported: left alone until repaired. */
  private readonly corrupt = new Map<string, string>();
  /** What was said about a session's unjudgeable tasks.md (said once, not every pass). */
  private readonly taskProblems = new Map<string, string>();
  private personas = new Map<string, Persona>();
  private personasDirty = true;
  private goal = "";
  private budgetAnnounced = false;
  private passTimer: ReturnType<typeof setTimeout> | undefined;
  private passRunning = false;
  private passAgain = false;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private resyncTimer: ReturnType<typeof setInterval> | undefined;
  private watchFailed = false;
  private adoptedTimer: ReturnType<typeof setInterval> | undefined;
  private watcher: WatchHandle | undefined;
  private releaseLock: (() => Promise<void>) | undefined;
  private stopping = false;
  private runnerOverride: AgentRunner | undefined;

  constructor(private readonly opts: OrchestratorOptions) {
    this.ws = opts.workspace;
  }

  async start(): Promise<void> {
    this.runnerOverride = this.opts.agent ? runnerFor(this.opts.agent) : undefined;
    this.releaseLock = await acquireOrchestratorLock(this.ws);
    try {
      this.personas = loadPersonas(this.ws);
      this.checkExecutables();
    } catch (err) {
      await this.releaseLock();
      throw err;
    }
    this.goal = readGoal(this.ws);
    this.watcher = await watchTree(this.ws, (paths) => this.onPaths(paths), (msg) => {
      this.opts.warn(msg);
      // No (more) events: the resync becomes the loop, at the short period.
      const first = !this.watchFailed;
      this.watchFailed = true;
      if (first && this.resyncTimer) this.startResync();
      this.markAllDirty();
      this.schedule();
    });
    this.startResync();
    this.opts.emit("started", { pid: process.pid, workspace: this.ws, maxAgents: this.opts.maxAgents || undefined });
    this.markAllDirty();
    await this.pass();
  }

  /** The safety-net resync; without a working watcher it is the loop, every 2 s at most. */
  private startResync(): void {
    if (this.stopping) return;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    const every = this.watcher && !this.watchFailed ? this.timings.resyncMs : Math.min(this.timings.resyncMs, 2000);
    this.resyncTimer = setInterval(() => {
      this.markAllDirty();
      this.schedule();
    }, every);
  }

  /** A missing agent CLI is a startup error, not a restart loop per session. */
  private checkExecutables(): void {
    const names = new Set<string>();
    if (this.runnerOverride) names.add(this.runnerOverride.name);
    else for (const p of this.personas.values()) names.add(p.agent);
    for (const name of names) {
      const runner = runnerFor(name);
      const exe = runner.executable();
      if (exe && !Bun.which(exe)) {
        throw new UserError(`\`${exe}\` is not on PATH; install it (npm install -g @anthropic-ai/claude-code) or try \`claude-wrapper demo\``, 1);
      }
    }
  }

  private onPaths(paths: string[]): void {
    for (const p of paths) {
      const rel = relative(this.ws, p);
      if (!rel || rel.startsWith("..")) continue;
      const top = rel.split(sep, 1)[0]!;
      // Our own bookkeeping (lock refreshes, pid file, temp files) is no news.
      if (top.startsWith(".")) continue;
      if (top === "personas") this.personasDirty = true;
      this.dirty.add(top);
    }
    this.schedule();
  }

  /** Re-read every session on the next pass (keeping each log reader's offset). */
  private markAllDirty(): void {
    for (const id of this.cache.keys()) this.dirty.add(id);
    for (const id of this.corrupt.keys()) this.dirty.add(id);
    this.personasDirty = true;
  }

  /** Coalesce: one pass at a time, and one more if anything asked while it ran. */
  schedule(delayMs = 1): void {
    if (this.stopping) return;
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    if (this.passTimer) return;
    this.passTimer = setTimeout(() => {
      this.passTimer = undefined;
      void this.pass();
    }, delayMs);
  }

  private wakeMeAt(at: number): void {
    if (at >= this.wakeAt && this.wakeTimer) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.schedule();
    }, Math.max(0, at - Date.now()) + 1);
  }

  async pass(): Promise<void> {
    if (this.stopping) return;
    this.passRunning = true;
    try {
      do {
        this.passAgain = false;
        const world = this.observe();
        for (const action of reconcile(world)) {
          if (this.stopping) return;
          try {
            await this.apply(action);
          } catch (err) {
            this.opts.warn(`${action.type} ${"session" in action ? action.session : "request" in action ? action.request : ""}: ${errorMessage(err)}`);
          }
        }
      } while (this.passAgain && !this.stopping);
    } finally {
      this.passRunning = false;
    }
  }

  // ---------------------------------------------------------------- observe

  private observe() {
    const now = Date.now();
    if (this.personasDirty) {
      this.personas = loadPersonas(this.ws);
      this.personasDirty = false;
    }
    const entries = listEntries(this.ws);
    const sessions: SessionObs[] = [];
    const present = new Set<string>();
    const reservations = new Map<string, string>();
    let spent = 0;
    for (const e of entries) {
      if (e.kind === "archive") {
        if (!this.archivedCost.has(e.id)) this.archivedCost.set(e.id, readSession(join(this.ws, e.dir), e.id, e.persona)?.costUsd ?? 0);
        continue;
      }
      if (e.kind !== "session") continue;
      present.add(e.id);
      const dir = join(this.ws, e.dir);
      if (this.corrupt.has(e.id) && !this.dirty.has(e.id)) continue;
      const cached = this.readCached(e.id, e.persona, dir);
      if (!cached && this.corrupt.has(e.id)) continue;
      if (!cached) {
        const at = this.youngRecheck(e.dir, now);
        if (at) this.wakeMeAt(at);
        continue;
      }
      const { rec } = cached;
      spent += rec.costUsd;
      if (rec.request) reservations.set(rec.request, rec.id);
      sessions.push({
        id: rec.id,
        rec,
        tasks: cached.tasks,
        instructionsSize: cached.instructionsSize,
        instructionsOffset: cached.instructionsOffset,
        proc: this.procState(rec),
        fatalFailure: (cached.log.failure?.fatal ? cached.log.failure.reason : undefined) ?? this.procs.get(rec.id)?.fatal,
        lastTurnFinished: cached.log.lastTurnFinished,
        requestTaken: rec.request ? !!lstatOrUndefined(join(dir, CLAIMED_REQUEST)) : false,
        busy: this.busy.has(rec.id),
      });
    }
    for (const c of this.archivedCost.values()) spent += c;
    for (const id of new Set([...this.cache.keys(), ...this.procs.keys(), ...this.corrupt.keys()])) {
      if (!present.has(id) && !this.busy.has(id)) this.forget(id);
    }

    const requests: RequestObs[] = [];
    for (const e of entries) {
      if (e.kind !== "request") continue;
      let state = inspectRequest(this.ws, e, this.personas, now);
      if (state.kind !== "invalid") this.rejected.delete(e.dir);
      if (state.kind === "waiting" && !Number.isFinite(state.recheckAt)) {
        const at = this.youngRecheck(e.dir, now);
        if (at) state = { kind: "waiting", recheckAt: at };
      }
      requests.push({ dir: e.dir, persona: e.persona, name: e.name, state, reservedBy: reservations.get(e.dir) });
    }
    for (const dir of this.firstSeen.keys()) if (!this.stillYoung.has(dir)) this.firstSeen.delete(dir);
    this.stillYoung.clear();
    this.dirty.clear();
    return {
      now,
      sessions,
      requests,
      maxAgents: this.opts.maxAgents,
      budgetExhausted: this.opts.budgetUsd > 0 && spent >= this.opts.budgetUsd,
      spent,
      maxRestarts: this.timings.maxRestarts,
      backoffBaseMs: this.timings.backoffBaseMs,
      backoffMaxMs: this.timings.backoffMaxMs,
    };
  }

  /**
   * A dir whose file is not there yet: inotify often misses a file created right after its dir,
   * so look again on a short backoff from when the dir was first seen (20 ms … 1 s), for 10 s.
   * After that only an event or the resync looks: an abandoned dir costs nothing.
   */
  private youngRecheck(dir: string, now: number): number | undefined {
    const since = this.firstSeen.get(dir) ?? now;
    this.firstSeen.set(dir, since);
    this.stillYoung.add(dir);
    const age = now - since;
    if (age > 10_000) return undefined;
    return now + Math.min(1000, Math.max(20, age / 2));
  }

  /** Re-read a session's files only when the watcher said its dir changed (or on resync). */
  private readCached(id: string, persona: string, dir: string): Cached | undefined {
    const prev = this.cache.get(id);
    if (prev && !this.dirty.has(id)) return prev;
    // A dir changes often (agents write logs; we write session.json): parse only what changed.
    const sessionKey = fileIdentity(join(dir, "session.json"));
    const rec = prev && sessionKey && prev.sessionKey === sessionKey ? prev.rec : readSession(dir, id, persona);
    // Not there (not written yet, or its dir is being removed): decide nothing about it now, but
    // keep what we knew, so a dir that then vanishes is noticed (see forget).
    if (!rec) return undefined;
    if (isStandIn(rec)) {
      // Hands off until a person repairs it: say so once, decide nothing, write nothing.
      this.cache.delete(id);
      if (this.corrupt.get(id) !== rec.error) {
        this.corrupt.set(id, rec.error ?? "");
        const reason = `${rec.error}; the session is left alone until ${join(dir, "session.json")} is repaired (or its dir removed)`;
        this.opts.emit("failed", { session: id, persona, name: rec.name, reason });
      }
      return undefined;
    }
    this.corrupt.delete(id);
    const tasksPath = join(dir, "tasks.md");
    const tasksKey = fileIdentity(tasksPath);
    const tasks = prev && prev.tasksKey === tasksKey ? prev.tasks : readTasks(tasksPath);
    if (tasks !== prev?.tasks) this.tellTasksProblem(id, tasksPath, tasks);
    const logPath = join(dir, "agent.jsonl");
    const logKey = fileIdentity(logPath);
    const reader = prev?.reader ?? new AgentLogReader(logPath);
    if (!prev || prev.logKey !== logKey) reader.read();
    const trackerKey = fileIdentity(join(dir, "tracker.json"));
    const c: Cached = {
      rec,
      sessionKey,
      trackerKey,
      tasks,
      tasksKey,
      log: reader.summary(),
      logKey,
      reader,
      instructionsSize: lstatOrUndefined(instructionsPath(dir))?.size ?? 0,
      instructionsOffset: prev && prev.trackerKey === trackerKey ? prev.instructionsOffset : readTracker(dir).instructionsOffset,
    };
    this.cache.set(id, c);
    this.recordDerived(dir, c);
    return c;
  }

  /** A tasks.md that exists but cannot be judged (too large, a symlink): say it once. */
  private tellTasksProblem(id: string, path: string, tasks: TaskSummary): void {
    const problem = tasks.problem && lstatOrUndefined(path) ? tasks.problem : undefined;
    if (!problem) {
      this.taskProblems.delete(id);
      return;
    }
    if (this.taskProblems.get(id) === problem) return;
    this.taskProblems.set(id, problem);
    this.opts.warn(`${id}: ${problem}; the session cannot complete until tasks.md is fixed`);
  }

  /** A session dir removed by hand: forget the session, and stop its agent if one still runs. */
  private forget(id: string): void {
    const p = this.procs.get(id);
    this.cache.delete(id);
    this.procs.delete(id);
    this.corrupt.delete(id);
    this.taskProblems.delete(id);
    if (p && !p.exit && isOurProcess(p.pid, p.startTime)) {
      this.opts.warn(`${id}: its session dir was removed; stopping its agent (PID ${p.pid})`);
      void stopGroup(p.pid, this.timings.stopGraceMs).then(() => this.opts.emit("stopped", { session: id, pid: p.pid, reason: "its session dir was removed" }));
    } else {
      this.opts.warn(`${id}: its session dir was removed; the session is forgotten`);
    }
  }

  /**
   * Keep what session.json derives from other files true: cost and token totals from the agent's
   * log, task progress (with the identity of the tasks.md counted) from tasks.md. One write.
   */
  private recordDerived(dir: string, c: Cached): void {
    const { rec, log, tasks } = c;
    if (rec.request) return;
    const t = log.totals;
    const costChanged = rec.costUsd !== t.costUsd || rec.inputTokens !== t.inputTokens || rec.outputTokens !== t.outputTokens || rec.turns !== t.turns;
    const counted = !tasks.problem && c.tasksKey !== "";
    const tasksChanged = counted && (rec.tasksKey !== c.tasksKey || rec.tasksDone !== tasks.done || rec.tasksTotal !== tasks.total);
    if (!costChanged && !tasksChanged) return;
    Object.assign(rec, { costUsd: t.costUsd, inputTokens: t.inputTokens, outputTokens: t.outputTokens, turns: t.turns });
    if (tasksChanged) Object.assign(rec, { tasksDone: tasks.done, tasksTotal: tasks.total, tasksKey: c.tasksKey });
    writeSession(dir, rec);
    c.sessionKey = fileIdentity(join(dir, "session.json"));
  }

  private procState(rec: SessionRecord): ProcState {
    const p = this.procs.get(rec.id);
    if (p) return p.exit ? { kind: "exited", pid: p.pid, ...p.exit } : { kind: "running", pid: p.pid };
    if (rec.status !== "active") return { kind: "none" };
    if (rec.pid && isOurProcess(rec.pid, rec.pidStartTime)) return { kind: "orphan-alive", pid: rec.pid };
    if (!rec.pid) {
      const found = findAgentByEnv(this.ws, rec.id, rec.persona);
      if (found) return { kind: "orphan-alive", pid: found.pid };
      // A crash between the intent and the start: no process and no output means the agent
      // never ran, so it is started now (not judged as a failed run, not resumed).
      if (rec.launch && !launched(this.dirOf(rec.id), rec.launch)) return { kind: "none" };
    }
    return { kind: "orphan-gone" };
  }

  /** Record how many bytes of instructions.md the agent has been handed. */
  private handed(id: string, size: number): void {
    writeTracker(this.dirOf(id), { instructionsOffset: size });
    const cached = this.cache.get(id);
    if (cached) {
      cached.instructionsOffset = size;
      cached.trackerKey = fileIdentity(join(this.dirOf(id), "tracker.json"));
    }
  }

  // ---------------------------------------------------------------- act

  private dirOf(id: string): string {
    return join(this.ws, id);
  }

  private save(rec: SessionRecord): void {
    writeSession(this.dirOf(rec.id), rec);
    const c = this.cache.get(rec.id);
    if (c) {
      c.rec = rec;
      c.sessionKey = fileIdentity(join(this.dirOf(rec.id), "session.json"));
    }
  }

  private current(id: string): SessionRecord {
    const c = this.cache.get(id);
    if (!c) throw new Error(`session ${id} vanished`);
    return c.rec;
  }

  private who(rec: SessionRecord) {
    return { session: rec.id, persona: rec.persona, name: rec.name };
  }

  private async apply(a: Action): Promise<void> {
    switch (a.type) {
      case "reject":
        if (this.rejected.get(a.request) !== a.reason) {
          this.rejected.set(a.request, a.reason);
          this.opts.emit("request-rejected", { request: a.request, reason: a.reason });
        }
        return;
      case "claim":
        return this.claim(a.request, a.persona, a.name, a.reserved);
      case "finish-setup":
        return this.finishSetup(a.session);
      case "drop-reservation": {
        const rec = this.current(a.session);
        dropReservation(this.dirOf(a.session), rec.id, rec.persona);
        this.cache.delete(a.session);
        return;
      }
      case "spawn":
        return this.spawn(a.session, a.resume, a.reason);
      case "queue": {
        const rec = { ...this.current(a.session), status: "queued" as const };
        this.save(rec);
        return;
      }
      case "adopt":
        return this.adopt(a.session, a.pid);
      case "exit":
        return this.exited(a);
      case "complete":
        return this.inBackground(a.session, () => this.complete(a.session));
      case "archive":
        return this.inBackground(a.session, () => this.archive(this.current(a.session)));
      case "notify-failed":
        return this.inBackground(a.session, async () => {
          const rec = this.current(a.session);
          await notifyRequester(this.ws, rec, "failed");
          this.save({ ...this.current(a.session), notified: true });
        });
      case "budget-exhausted":
        if (!this.budgetAnnounced) {
          this.budgetAnnounced = true;
          const spent = [...this.cache.values()].reduce((s, c) => s + c.rec.costUsd, 0) + [...this.archivedCost.values()].reduce((s, c) => s + c, 0);
          this.opts.emit("budget-exhausted", { budgetUsd: this.opts.budgetUsd, costUsd: spent });
        }
        return;
      case "wake-at":
        this.wakeMeAt(a.at);
        return;
    }
  }

  /** Slow work (stopping an agent) runs beside the loop; the session is left alone meanwhile. */
  private inBackground(id: string, work: () => Promise<void>): void {
    this.busy.add(id);
    work()
      .catch((err) => this.opts.warn(`${id}: ${errorMessage(err)}`))
      .finally(() => {
        this.busy.delete(id);
        this.dirty.add(id);
        this.schedule();
      });
  }

  private claim(requestDir: string, persona: string, name: string, reserved?: string): void {
    const id = reserved ?? reserveSession(this.ws, persona, name, requestDir);
    crashPoint("claim:reserved");
    const dir = this.dirOf(id);
    if (!takeRequest(this.ws, dir, requestDir)) {
      dropReservation(dir, id, persona);
      this.cache.delete(id);
      return;
    }
    crashPoint("claim:taken");
    this.dirty.add(id);
    this.readCached(id, persona, dir);
    this.finishSetup(id);
  }

  private finishSetup(id: string): void {
    const rec = this.current(id);
    const persona = this.personas.get(rec.persona);
    if (!persona) throw new Error(`persona ${rec.persona} has no template`);
    const done = finishSession(this.ws, this.dirOf(id), rec, persona, this.personas, this.goal);
    this.dirty.add(id);
    this.readCached(id, rec.persona, this.dirOf(id));
    this.cache.get(id)!.rec = done;
    this.passAgain = true;
  }

  private runnerFor(persona: Persona): AgentRunner {
    return this.runnerOverride ?? runnerFor(persona.agent);
  }

  private spawn(id: string, resume: boolean, reason: string): void {
    const dir = this.dirOf(id);
    let rec = this.current(id);
    const persona = this.personas.get(rec.persona);
    if (!persona) {
      this.save({ ...rec, status: "failed", error: `no persona template for ${rec.persona}` });
      this.opts.emit("failed", { ...this.who(rec), reason: `no persona template for ${rec.persona}` });
      return;
    }
    const first = rec.runs === 0;
    const instructions = instructionsPath(dir);
    const size = lstatOrUndefined(instructions)?.size ?? 0;
    const offset = readTracker(dir).instructionsOffset;
    const prompt = turnPrompt(instructions, first, offset, size);
    // Intent first: a crash after this line leaves `active` with no PID, and the next pass
    // looks for the agent by its environment, then by its output (see `launch`), before it
    // would ever start a second one.
    const stdoutPath = join(dir, "agent.jsonl");
    const stderrPath = join(dir, "agent.stderr.log");
    const stderrOffset = lstatOrUndefined(stderrPath)?.size ?? 0;
    const launch = { instructionsSize: size, stdoutSize: lstatOrUndefined(stdoutPath)?.size ?? 0, stderrSize: stderrOffset };
    rec = { ...rec, status: "active", pid: null, pidStartTime: null, agentSessionId: rec.agentSessionId ?? crypto.randomUUID(), error: null, retryAt: null, launch };
    this.save(rec);
    crashPoint("spawn:intent");
    const runner = this.runnerFor(persona);
    const turn = {
      sessionId: id,
      sessionDir: dir,
      workspace: this.ws,
      projectRoot: projectRoot(this.ws),
      cwd: projectRoot(this.ws),
      persona,
      agentSessionId: rec.agentSessionId!,
      first,
      prompt,
      personaInstructionsPath: join(dir, "persona-instructions.md"),
      skipPermissions: this.opts.skipPermissions,
    };
    let child: ReturnType<typeof spawnDetached>;
    try {
      child = spawnDetached({
        argv: runner.argv(turn),
        cwd: projectRoot(this.ws),
        env: {
          ...process.env,
          ...runner.env?.(turn),
          CLAUDE_WRAPPER_SESSION_ID: id,
          CLAUDE_WRAPPER_SESSION_DIR: dir,
          CLAUDE_WRAPPER_WORKSPACE: this.ws,
          CLAUDE_WRAPPER_PERSONA: rec.persona,
        },
        stdoutPath,
        stderrPath,
      });
    } catch (err) {
      const reason = `could not start the agent: ${errorMessage(err)}`;
      this.save({ ...rec, status: "failed", error: reason, launch: null });
      this.opts.emit("failed", { ...this.who(rec), reason });
      return;
    }
    crashPoint("spawn:started");
    const proc: Proc = { pid: child.pid, startTime: child.startTime, adopted: false };
    this.procs.set(id, proc);
    child.exited.then((exit) => {
      if (exit.code !== 0) proc.fatal = fatalOnStderr(stderrPath, stderrOffset);
      proc.exit = exit;
      this.dirty.add(id);
      this.schedule();
    });
    // What it was handed first: until `launch` is cleared, a crash is recovered through it.
    this.handed(id, size);
    rec = { ...rec, pid: child.pid, pidStartTime: child.startTime, runs: rec.runs + 1, startedAt: rec.startedAt ?? new Date().toISOString(), launch: null };
    this.save(rec);
    if (resume && reason === "new instructions") this.opts.emit("resumed", { ...this.who(rec), pid: child.pid, reason });
    this.opts.emit("spawned", { ...this.who(rec), pid: child.pid, resume, requestedBy: rec.requestedBy ?? undefined });
  }

  private adopt(id: string, pid: number): void {
    let rec = this.current(id);
    const startTime = processStartTime(pid) ?? "";
    // A PID we never recorded is a run that started just before a crash: count it, and what it
    // was handed.
    if (rec.pid !== pid) rec = { ...rec, pid, pidStartTime: startTime, runs: rec.runs + 1, startedAt: rec.startedAt ?? new Date().toISOString() };
    if (rec.launch) {
      this.handed(id, rec.launch.instructionsSize);
      rec = { ...rec, launch: null };
    }
    this.save(rec);
    this.procs.set(id, { pid, startTime, adopted: true });
    this.opts.emit("adopted", { ...this.who(rec), pid });
    // Not our child: no exit event will come, so its life is checked on a timer.
    this.adoptedTimer ??= setInterval(() => this.checkAdopted(), this.timings.adoptedCheckMs);
  }

  private checkAdopted(): void {
    let any = false;
    for (const [id, p] of this.procs) {
      if (!p.adopted || p.exit) continue;
      if (isOurProcess(p.pid, p.startTime)) {
        any = true;
        continue;
      }
      p.exit = { code: null, signal: null };
      this.dirty.add(id);
      this.schedule();
    }
    if (!any && this.adoptedTimer) {
      clearInterval(this.adoptedTimer);
      this.adoptedTimer = undefined;
    }
  }

  private exited(a: Extract<Action, { type: "exit" }>): void {
    const rec0 = this.current(a.session);
    this.procs.delete(a.session);
    this.opts.emit("exited", { ...this.who(rec0), pid: a.pid, code: a.code, signal: a.signal });
    let base = { ...rec0, pid: null, pidStartTime: null, exitCode: a.code, exitSignal: a.signal };
    if (rec0.launch) {
      // It ran (it left output) and ended while nobody watched, before its PID was recorded:
      // count the run and what it was handed, so the next one resumes with only what is new.
      this.handed(a.session, rec0.launch.instructionsSize);
      base = { ...base, runs: rec0.runs + 1, startedAt: rec0.startedAt ?? new Date().toISOString(), launch: null };
    }
    const next = a.next;
    if (next.status === "idle") {
      this.save({ ...base, status: "idle", restarts: 0 });
      this.opts.emit("idle", this.who(rec0));
    } else if (next.status === "restarting") {
      this.save({ ...base, status: "restarting", restarts: next.attempt, retryAt: next.retryAt });
      this.opts.emit("restarting", { ...this.who(rec0), attempt: next.attempt, delayMs: next.delayMs });
    } else {
      const rec = { ...base, status: "failed" as const, error: next.reason, endedAt: new Date().toISOString() };
      this.save(rec);
      this.opts.emit("failed", { ...this.who(rec0), reason: next.reason });
    }
  }

  private async complete(id: string): Promise<void> {
    let rec = this.current(id);
    const proc = this.procs.get(id);
    const pid =
      proc?.pid ??
      (rec.pid && isOurProcess(rec.pid, rec.pidStartTime) ? rec.pid : null) ??
      // Started just before a crash, its PID never recorded: find it by its environment.
      (rec.status === "active" && !rec.pid ? (findAgentByEnv(this.ws, id, rec.persona)?.pid ?? null) : null);
    if (pid) {
      // [wt-cli] Our own stop of a finished agent is news, not a warning (events.ts humanLine).
      const stoppedBy = proc?.exit ? undefined : "orchestrator";
      if (!proc?.exit) await stopGroup(pid, this.timings.stopGraceMs);
      const exit = this.procs.get(id)?.exit;
      this.opts.emit("exited", { ...this.who(rec), pid, code: exit?.code ?? null, signal: exit?.signal ?? (proc?.exit ? null : "SIGTERM"), stoppedBy });
    }
    this.procs.delete(id);
    rec = { ...this.current(id), status: "completed", pid: null, pidStartTime: null, endedAt: new Date().toISOString() };
    this.save(rec);
    this.opts.emit("completed", this.who(rec));
    crashPoint("complete:marked");
    await this.archive(rec);
  }

  /**
   * Tell whoever asked for it, then rename to `<id>-completed` (every file kept). Telling first
   * (idempotent) means a crash in between repeats the telling, never skips it.
   */
  private async archive(rec: SessionRecord): Promise<void> {
    await notifyRequester(this.ws, rec, "completed");
    crashPoint("complete:notified");
    const archive = archiveDirName(rec.id);
    renameSync(this.dirOf(rec.id), join(this.ws, archive));
    this.cache.delete(rec.id);
    this.archivedCost.set(rec.id, rec.costUsd);
    this.opts.emit("archived", { ...this.who(rec), archive: join(this.ws, archive) });
  }

  // ---------------------------------------------------------------- stop

  /** SIGINT/SIGTERM: stop every agent of the team, mark them stopped, release the workspace. */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.passTimer) clearTimeout(this.passTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.adoptedTimer) clearInterval(this.adoptedTimer);
    await this.watcher?.close().catch(() => {});
    const victims = new Map<string, number>();
    for (const [id, p] of this.procs) if (!p.exit) victims.set(id, p.pid);
    for (const e of listEntries(this.ws)) {
      if (e.kind !== "session" || victims.has(e.id)) continue;
      const rec = readSession(join(this.ws, e.dir), e.id, e.persona);
      if (rec?.pid && isOurProcess(rec.pid, rec.pidStartTime)) victims.set(e.id, rec.pid);
    }
    await Promise.all([...victims.values()].map((pid) => stopGroup(pid, this.timings.stopGraceMs)));
    for (const id of victims.keys()) {
      const dir = this.dirOf(id);
      const rec = readSession(dir, id, id.replace(/-\d+$/, ""));
      if (!rec || isStandIn(rec)) continue;
      writeSession(dir, { ...rec, status: "stopped", pid: null, pidStartTime: null, endedAt: new Date().toISOString() });
      this.opts.emit("stopped", this.who(rec));
    }
    this.opts.emit("stopped", { pid: process.pid });
    await this.releaseLock?.();
  }
}
