/**
 * The observer: reads the workspace and the process table into a snapshot for reconcile(). It
 * only reads (it writes no file, signals no process, says nothing); to stay cheap it caches each
 * session's parsed files and re-reads a session only when the watcher said its dir changed (or
 * on a resync), and reads an agent's log only past what it read before.
 */
import { join } from "node:path";
import { AgentLogReader, type AgentLogSummary } from "../agents/agentlog";
import { dialectFor } from "../agents/index";
import { fileIdentity, lstatOrUndefined } from "../base/fsx";
import { usesWorktree, validSessionGit } from "../git/integrate";
import { agentsByEnvironment, isOurProcess } from "../processes/proc";
import { instructionsPath } from "../workspace/instructions";
import { listEntries } from "../workspace/paths";
import { type Persona, type PersonaProblem, loadPersonaSet } from "../workspace/personas";
import { CLAIMED_REQUEST, type SettleLooks, inspectRequest, liveNames } from "../workspace/requests";
import { type SessionRecord, isStandIn, readSession, readTracker } from "../workspace/session";
import { MANAGER_PERSONA as MANAGER, readTeam } from "../workspace/team-file";
import { type TaskSummary, readTasks } from "../workspace/tasks";
import type { ProcessTable } from "./procs";
import type { ProcState, RequestObs, SessionObs, World } from "./reconcile";
import { editsFiles } from "./reconcile-git";

/** A person asks for a stopped or failed session to run again by creating this file in its dir. */
export const RESUME_MARKER = "resume.request";


interface Cached {
  rec: SessionRecord;
  /** fileIdentity of session.json / tracker.json / tasks.md / agent.jsonl when last read. */
  sessionKey: string;
  trackerKey: string;
  tasksKey: string;
  logKey: string;
  tasks: TaskSummary;
  tasksChangedAt: number;
  log: AgentLogSummary;
  /** Reads only the bytes an agent appended since the last look. */
  reader: AgentLogReader;
  instructionsSize: number;
  instructionsOffset: number;
  resumeRequested: boolean;
}

/** What the supervisor's other parts know that the disk does not say. */
export interface LoopState {
  busy: ReadonlySet<string>;
  faults: ReadonlyMap<string, { message: string; retryAt: number }>;
  completing: ReadonlyMap<string, number>;
  teamDoneAnnounced: boolean;
  /** The session whose branch is being merged now, if one is. */
  merging: string | undefined;
  /** Why the workspace we hold is no longer ours (deleted, replaced), if it is not. */
  workspaceLost(): string | undefined;
}

export interface Limits {
  maxAgents: number;
  budgetUsd: number;
  maxRestarts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  completionGraceMs: number;
  tasksSettleMs: number;
  maxMergeAttempts?: number;
}

export class Observer {
  /** Top-level entries the watcher said changed since the last look. */
  readonly dirty = new Set<string>();
  personas = new Map<string, Persona>();
  /** What is wrong with the workspace's persona files (said once each, naming the file). */
  private personaProblems: PersonaProblem[] = [];
  private personasDirty = true;
  private readonly cache = new Map<string, Cached>();
  private readonly corrupt = new Map<string, string>();
  private readonly archivedCost = new Map<string, number>();
  /** When an entry that is not complete yet was first seen (see youngRecheck). */
  private readonly firstSeen = new Map<string, number>();
  /** Each request's last look, for the settle rule (see inspectRequest). */
  private readonly settleLooks: SettleLooks = new Map();

  constructor(
    private readonly ws: string,
    private readonly procs: ProcessTable,
  ) {}

  /** Re-read everything on the next look (a resync; each log reader keeps its offset). */
  markAll(): void {
    for (const id of this.cache.keys()) this.dirty.add(id);
    for (const id of this.corrupt.keys()) this.dirty.add(id);
    this.personasDirty = true;
  }

  markPersonas(): void {
    this.personasDirty = true;
  }

  /** Every live session's record as last read or written. */
  records(): SessionRecord[] {
    return [...this.cache.values()].map((c) => c.rec);
  }

  /** What the session's agent log says so far (conversation ids, finished turns). */
  log(id: string): AgentLogSummary | undefined {
    return this.cache.get(id)?.log;
  }

  record(id: string): SessionRecord | undefined {
    return this.cache.get(id)?.rec;
  }

  /** The actuator wrote session.json (or tracker.json): keep the cache in step without a re-read. */
  wrote(id: string, rec: SessionRecord): void {
    const c = this.cache.get(id);
    if (!c) return;
    c.rec = rec;
    c.sessionKey = fileIdentity(join(this.ws, id, "session.json"));
  }

  handed(id: string, size: number): void {
    const c = this.cache.get(id);
    if (!c) return;
    c.instructionsOffset = size;
    c.trackerKey = fileIdentity(join(this.ws, id, "tracker.json"));
  }

  archived(id: string, costUsd: number): void {
    this.cache.delete(id);
    this.archivedCost.set(id, costUsd);
  }

  forget(id: string): void {
    this.cache.delete(id);
    this.corrupt.delete(id);
  }

  look(now: number, state: LoopState, limits: Limits, requestFaults: ReadonlyMap<string, number>): World {
    const lost = state.workspaceLost();
    if (lost) return { ...limits, now, sessions: [], requests: [], vanished: [], corrupt: [], problems: [], spent: 0, workspaceLost: lost };
    if (this.personasDirty) {
      ({ personas: this.personas, problems: this.personaProblems } = loadPersonaSet(this.ws));
      this.personasDirty = false;
    }
    const entries = listEntries(this.ws);
    const sessions: SessionObs[] = [];
    const corrupt: World["corrupt"] = [];
    const problems: World["problems"] = this.personaProblems.map((p) => ({
      key: `persona:${p.file}:${p.reason}`,
      message: `${p.file}: ${p.reason}${p.level === "error" ? (p.builtIn ? "; the built-in persona is used instead" : "; requests for it are rejected") : ""}`,
    }));
    const present = new Set<string>();
    const reservations = new Map<string, string>();
    const young = new Set<string>();
    let recheckAt: number | undefined;
    const recheck = (dir: string) => {
      const at = this.youngRecheck(dir, now);
      young.add(dir);
      if (at !== undefined) recheckAt = Math.min(recheckAt ?? at, at);
    };
    const team = readTeam(this.ws);
    let archivedManager: string | undefined;
    let spent = 0;
    for (const e of entries) {
      if (e.kind === "archive") {
        if (!this.archivedCost.has(e.id)) this.archivedCost.set(e.id, readSession(join(this.ws, e.dir), e.id, e.persona)?.costUsd ?? 0);
        if (e.persona === MANAGER && team && e.id.slice(MANAGER.length + 1) >= team.id) archivedManager = e.id;
        continue;
      }
      if (e.kind !== "session") continue;
      present.add(e.id);
      const dir = join(this.ws, e.dir);
      if (this.corrupt.has(e.id) && !this.dirty.has(e.id)) {
        corrupt.push({ id: e.id, persona: e.persona, reason: this.corrupt.get(e.id)!, file: join(dir, "session.json") });
        continue;
      }
      const c = this.read(e.id, e.persona, dir, now);
      if (c === "corrupt") {
        corrupt.push({ id: e.id, persona: e.persona, reason: this.corrupt.get(e.id)!, file: join(dir, "session.json") });
        continue;
      }
      if (!c) {
        recheck(e.dir);
        continue;
      }
      const { rec } = c;
      spent += rec.costUsd;
      if (rec.request) reservations.set(rec.request, rec.id);
      const tasksPath = join(dir, "tasks.md");
      if (c.tasks.problem && lstatOrUndefined(tasksPath)) {
        problems.push({ key: `tasks:${e.id}:${c.tasks.problem}`, message: `${e.id}: ${c.tasks.problem}; the session cannot complete until ${tasksPath} is fixed` });
      }
      const proc = this.procState(rec, dir);
      const persona = this.personas.get(rec.persona);
      const git = validSessionGit(rec.git);
      sessions.push({
        id: rec.id,
        rec,
        tasks: c.tasks,
        tasksChangedAt: c.tasksChangedAt,
        tasksKey: c.tasksKey,
        instructionsSize: c.instructionsSize,
        instructionsOffset: c.instructionsOffset,
        proc,
        fatalFailure: (c.log.failure?.fatal ? c.log.failure.reason : undefined) ?? this.procs.get(rec.id)?.fatal,
        lastTurnFinished: c.log.lastTurnFinished,
        logTotals: c.log.totals,
        launched: rec.launch ? launched(dir, rec.launch) : false,
        requestTaken: rec.request ? !!lstatOrUndefined(join(dir, CLAIMED_REQUEST)) : false,
        busy: state.busy.has(rec.id),
        resumeRequested: c.resumeRequested,
        completingSince: state.completing.get(rec.id),
        fault: state.faults.get(rec.id),
        git,
        worktree: git ? true : usesWorktree(team, persona),
        // One stat, and only for a worktree the session should still have.
        worktreeMissing: !!git && git.merge !== "merged" && !git.worktreeRemoved && !lstatOrUndefined(git.cwd),
        // The simulator (demo) changes no project file.
        edits: editsFiles(persona) && rec.agent !== "sim",
      });
    }
    for (const c of this.archivedCost.values()) spent += c;

    // Sessions we knew whose dir is gone (removed by hand), with the agent still running if any.
    const vanished = new Map<string, number | null>();
    for (const id of [...this.cache.keys(), ...this.corrupt.keys()]) {
      if (present.has(id) || state.busy.has(id)) continue;
      this.forget(id);
      vanished.set(id, null);
    }
    for (const [id, p] of this.procs.live()) {
      if (!present.has(id) && !state.busy.has(id)) vanished.set(id, p.pid);
    }

    const requests: RequestObs[] = [];
    // A request may not take a live session's name (a late write after a claim would make a twin).
    const live = liveNames(sessions.map((s) => s.rec));
    const asked = new Set<string>();
    for (const e of entries) {
      if (e.kind !== "request") continue;
      asked.add(join(this.ws, e.dir, "instructions.md"));
      let st = inspectRequest(this.ws, e, this.personas, now, this.settleLooks, live);
      if (st.kind === "waiting" && !Number.isFinite(st.recheckAt)) {
        const at = this.youngRecheck(e.dir, now);
        young.add(e.dir);
        if (at !== undefined) st = { ...st, recheckAt: at };
      }
      requests.push({ dir: e.dir, persona: e.persona, name: e.name, state: st, reservedBy: reservations.get(e.dir), retryAt: requestFaults.get(e.dir) });
    }
    for (const dir of this.firstSeen.keys()) if (!young.has(dir)) this.firstSeen.delete(dir);
    for (const file of this.settleLooks.keys()) if (!asked.has(file)) this.settleLooks.delete(file);
    this.dirty.clear();
    return {
      ...limits,
      now,
      sessions,
      requests,
      vanished: [...vanished].map(([id, pid]) => ({ id, pid })),
      corrupt,
      problems,
      recheckAt,
      spent,
      teamDone: archivedManager ? { manager: archivedManager, announced: state.teamDoneAnnounced || !!team?.finishedAt } : undefined,
      git: team?.worktrees && team.branch ? { integration: team.branch, ...(team.verify ? { verify: team.verify } : {}) } : undefined,
      mergeInFlight: state.merging,
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
    const age = now - since;
    if (age > 10_000) return undefined;
    return now + Math.min(1000, Math.max(20, age / 2));
  }

  /** A session's files, re-read only when its dir changed, and then only the files that did. */
  private read(id: string, persona: string, dir: string, now: number): Cached | "corrupt" | undefined {
    const prev = this.cache.get(id);
    if (prev && !this.dirty.has(id)) return prev;
    const sessionKey = fileIdentity(join(dir, "session.json"));
    const rec = prev && sessionKey && prev.sessionKey === sessionKey ? prev.rec : readSession(dir, id, persona);
    // Not there (not written yet, or its dir is being removed): decide nothing about it now.
    if (!rec) return undefined;
    if (isStandIn(rec)) {
      this.cache.delete(id);
      this.corrupt.set(id, rec.error ?? "session.json is corrupt");
      return "corrupt";
    }
    this.corrupt.delete(id);
    const tasksPath = join(dir, "tasks.md");
    const tasksKey = fileIdentity(tasksPath);
    const tasksFresh = !prev || prev.tasksKey !== tasksKey;
    const tasks = tasksFresh ? readTasks(tasksPath) : prev.tasks;
    const logPath = join(dir, "agent.jsonl");
    const logKey = fileIdentity(logPath);
    // The log is read in the dialect of the CLI that ran last (rec.agent, recorded at spawn).
    const dialect = dialectFor(rec.agent);
    const reader = prev?.reader.dialect === dialect ? prev.reader : new AgentLogReader(logPath, dialect);
    if (!prev || prev.logKey !== logKey || reader !== prev.reader) reader.read();
    const trackerKey = fileIdentity(join(dir, "tracker.json"));
    const c: Cached = {
      rec,
      sessionKey,
      trackerKey,
      tasksKey,
      logKey,
      tasks,
      tasksChangedAt: tasksFresh ? (lstatOrUndefined(tasksPath)?.mtimeMs ?? now) : prev.tasksChangedAt,
      log: reader.summary(),
      reader,
      instructionsSize: lstatOrUndefined(instructionsPath(dir))?.size ?? 0,
      instructionsOffset: prev && prev.trackerKey === trackerKey ? prev.instructionsOffset : readTracker(dir).instructionsOffset,
      resumeRequested: !!lstatOrUndefined(join(dir, RESUME_MARKER)),
    };
    this.cache.set(id, c);
    return c;
  }

  private procState(rec: SessionRecord, dir: string): ProcState {
    const p = this.procs.get(rec.id);
    if (p) return p.exit ? { kind: "exited", pid: p.pid, ...p.exit } : { kind: "running", pid: p.pid };
    if (rec.pid && isOurProcess(rec.pid, rec.pidStartTime)) return { kind: "orphan-alive", pid: rec.pid };
    if (rec.status !== "active") return { kind: "none" };
    if (!rec.pid) {
      // Started just before a crash, its PID never recorded: look for it by its environment.
      const found = agentsByEnvironment(this.ws).find((a) => a.sessionId === rec.id && a.persona === rec.persona);
      if (found) return { kind: "orphan-alive", pid: found.pid };
      // No process and no output: the agent never ran, so it is started now (not judged).
      if (rec.launch && !launched(dir, rec.launch)) return { kind: "none" };
    }
    return { kind: "orphan-gone" };
  }
}

/** Whether an agent started at `launch` left any output (agent.jsonl or its stderr grew). */
function launched(dir: string, launch: NonNullable<SessionRecord["launch"]>): boolean {
  const grew = (file: string, before: unknown) => (lstatOrUndefined(join(dir, file))?.size ?? 0) > (typeof before === "number" ? before : 0);
  return grew("agent.jsonl", launch.stdoutSize) || grew("agent.stderr.log", launch.stderrSize);
}
