/**
 * The actuator: carries out reconcile()'s actions and decides nothing. Each step is idempotent
 * and written so a crash between any two is finished or undone by the next pass (see the crash
 * points). Slow steps (stopping an agent) run beside the loop with the session marked busy.
 */
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Timings } from "../base/config";
import { crashPoint } from "../base/crash";
import { errorMessage } from "../base/errors";
import { validSessionGit } from "../git/integrate";
import { stopGroup } from "../processes/proc";
import { ROSTER_FILE, archiveDirName } from "../workspace/paths";
import { writeRoster } from "../workspace/roster";
import { dropReservation, finishSession, reserveSession, takeRequest } from "../workspace/requests";
import { type SessionRecord, writeSession } from "../workspace/session";
import { readTeam, writeTeam } from "../workspace/team-file";
import type { Emit } from "./events";
import { Integrator } from "./integrate";
import { AgentRuns } from "./runs";
import { notifyRequester } from "./notify";
import { type Observer, RESUME_MARKER } from "./observe";
import type { ProcessTable } from "./procs";
import type { Action, World } from "./reconcile";
import { MAX_MERGE_ATTEMPTS } from "./reconcile-git";

export interface ActuatorOptions {
  workspace: string;
  skipPermissions: boolean;
  /** `orchestrate --agent`: every session runs this agent CLI. */
  runFlag?: string;
  budgetUsd: number;
  timings: Timings;
  emit: Emit;
  warn(message: string): void;
  /** Ask for another pass (after a step that changes what the next pass sees). */
  again(): void;
  /** Look again at this time. */
  wakeAt(at: number): void;
  /** The workspace is not ours any more: the loop stops. */
  abandon(reason: string): void;
  /** The team's manager completed. */
  teamDone(): void;
}

const BACKGROUND = new Set<Action["type"]>(["complete", "archive", "stop-agent", "stop-vanished", "notify-failed", "prepare-worktree", "end-turn", "merge"]);

/** What the actuator knows that the disk does not: steps in flight, failures to back off from. */
export class Actuator {
  readonly busy = new Set<string>();
  readonly faults = new Map<string, { message: string; retryAt: number; count: number }>();
  readonly requestFaults = new Map<string, number>();
  readonly completing = new Map<string, number>();
  teamDoneAnnounced = false;
  private readonly said = new Map<string, string>();
  private budgetAnnounced = false;
  private readonly ws: string;
  /** The git steps (worktrees, merges, reopening), in integrate.ts. */
  readonly git: Integrator;
  /** Starting, adopting and judging agent runs, in runs.ts. */
  private readonly runs: AgentRuns;

  constructor(
    private readonly o: ActuatorOptions,
    private readonly observer: Observer,
    private readonly procs: ProcessTable,
  ) {
    this.ws = o.workspace;
    this.git = new Integrator({
      workspace: this.ws,
      emit: o.emit,
      warn: o.warn,
      sayOnce: (key, message, say) => this.sayOnce(key, message, say),
      current: (id) => this.current(id),
      update: (id, fields) => this.update(id, fields),
      changed: (id) => {
        this.observer.dirty.add(id);
        this.o.again();
      },
    });
    this.runs = new AgentRuns({
      workspace: this.ws,
      skipPermissions: o.skipPermissions,
      runFlag: o.runFlag,
      emit: o.emit,
      observer,
      procs,
      dir: (id) => this.dir(id),
      current: (id) => this.current(id),
      save: (rec) => this.save(rec),
      update: (id, fields) => this.update(id, fields),
      who: (rec) => this.who(rec),
    });
  }

  /** The session whose branch is being merged now, if any. */
  get merging(): string | undefined {
    return this.git.merging;
  }

  async apply(a: Action, w: World): Promise<void> {
    // A step that runs in the background reports its own success or failure when it ends.
    const id = "session" in a && !BACKGROUND.has(a.type) ? a.session : undefined;
    try {
      await this.step(a, w);
      if (id && this.faults.delete(id)) this.clearFault(id);
      if (a.type === "claim") this.requestFaults.delete(a.request);
    } catch (err) {
      this.fault(a, err);
    }
  }

  private dir(id: string): string {
    return join(this.ws, id);
  }

  private current(id: string): SessionRecord {
    const rec = this.observer.record(id);
    if (!rec) throw Object.assign(new Error(`session ${id} vanished`), { code: "ENOENT" });
    return rec;
  }

  private save(rec: SessionRecord): SessionRecord {
    writeSession(this.dir(rec.id), rec);
    this.observer.wrote(rec.id, rec);
    return rec;
  }

  private update(id: string, fields: Partial<SessionRecord>): SessionRecord {
    return this.save({ ...this.current(id), ...fields });
  }

  private who(rec: SessionRecord) {
    return { session: rec.id, persona: rec.persona, name: rec.name };
  }

  /** Say it once: the same key with the same message is not repeated. */
  private sayOnce(key: string, message: string, say: () => void): void {
    if (this.said.get(key) === message) return;
    this.said.set(key, message);
    say();
  }

  private async step(a: Action, w: World): Promise<void> {
    switch (a.type) {
      case "reject":
        return this.sayOnce(`reject:${a.request}`, a.reason, () => this.o.emit("request-rejected", { request: a.request, reason: a.reason }));
      case "report":
        return this.sayOnce(a.key, a.message, () => (a.key.startsWith("corrupt:") ? this.o.emit("failed", { session: a.session, reason: a.message }) : this.o.warn(a.message)));
      case "claim":
        return this.claim(a.request, a.persona, a.name, a.reserved);
      case "finish-setup":
        return this.finishSetup(a.session);
      case "drop-reservation":
        dropReservation(this.dir(a.session), a.session, this.current(a.session).persona);
        this.observer.forget(a.session);
        return;
      case "record":
        this.update(a.session, a.fields);
        return;
      case "spawn":
        return this.runs.spawn(a.session, a.resume, a.reason);
      case "queue":
        this.update(a.session, { status: "queued" });
        return;
      case "adopt":
        return this.runs.adopt(a.session, a.pid);
      case "exit":
        return this.runs.exited(a);
      case "begin-completion":
        this.completing.set(a.session, w.now);
        return;
      case "complete":
        return this.inBackground(a, () => this.complete(a.session, a.pid, a.fields));
      case "archive":
        return this.inBackground(a, () => this.archive(this.current(a.session)));
      case "stop-agent":
        return this.inBackground(a, async () => {
          await stopGroup(a.pid, this.o.timings.stopGraceMs);
          this.procs.forget(a.session);
          this.update(a.session, { pid: null, pidStartTime: null });
          this.o.emit("stopped", { ...this.who(this.current(a.session)), pid: a.pid, reason: a.reason });
        });
      case "stop-vanished":
        return this.inBackground(a, async () => {
          this.o.warn(`${a.session}: its session dir was removed; stopping its agent (PID ${a.pid})`);
          await stopGroup(a.pid, this.o.timings.stopGraceMs);
          this.procs.forget(a.session);
          this.o.emit("stopped", { session: a.session, pid: a.pid, reason: "its session dir was removed" });
        });
      case "resume":
        return this.resume(a.session);
      case "notify-failed":
        return this.inBackground(a, async () => {
          const undelivered = await notifyRequester(this.ws, this.current(a.session), "failed");
          if (undelivered) this.sayOnce(`undelivered:${a.session}:failed`, undelivered, () => this.o.warn(undelivered));
          this.update(a.session, { notified: true });
        });
      case "budget-exhausted":
        if (this.budgetAnnounced) return;
        this.budgetAnnounced = true;
        this.o.emit("budget-exhausted", { budgetUsd: this.o.budgetUsd, costUsd: w.spent });
        return;
      case "team-done":
        return this.teamDone(a.manager, w);
      case "abandon":
        return this.o.abandon(a.reason);
      case "wake-at":
        return this.o.wakeAt(a.at);
      case "prepare-worktree":
        return this.inBackground(a, () => this.git.prepare(a.session));
      case "end-turn":
        return this.inBackground(a, () => this.turnEnded(a.session, a.pid, a.fields));
      case "merge":
        // Marked before the work starts: the next pass (maybe in this very tick) sees it in flight.
        this.git.merging = a.session;
        return this.inBackground(
          a,
          async () => {
            try {
              await this.turnEnded(a.session, null, a.fields);
              await this.git.merge(a.session);
            } finally {
              this.git.merging = undefined;
            }
          },
        );
      case "reopen":
        return this.git.reopen(a.session);
      case "give-up": {
        const rec = this.update(a.session, { status: "failed", error: a.reason, endedAt: new Date().toISOString() });
        this.o.emit("failed", { ...this.who(rec), reason: a.reason });
        return;
      }
    }
  }

  /** An I/O failure on one session or request: back off and retry it; the others go on. */
  private fault(a: Action, err: unknown): void {
    const message = errorMessage(err);
    const now = Date.now();
    const key = "session" in a ? a.session : a.type === "claim" ? a.request : undefined;
    const prev = key ? this.faults.get(key) : undefined;
    const count = (prev?.count ?? 0) + 1;
    const retryAt = now + Math.min(60_000, this.o.timings.faultBackoffMs * 2 ** (count - 1));
    if (a.type === "claim") this.requestFaults.set(a.request, retryAt);
    else if (key) {
      this.faults.set(key, { message, retryAt, count });
      // Best effort: the disk that failed may fail this too.
      try {
        if (this.observer.record(key)?.fault !== message) this.update(key, { fault: message });
      } catch {}
    }
    this.sayOnce(`fault:${key ?? a.type}`, message, () => this.o.warn(`${key ?? a.type}: ${a.type} failed: ${message}; retrying with backoff`));
    this.o.wakeAt(retryAt);
  }

  private clearFault(id: string): void {
    this.said.delete(`fault:${id}`);
    try {
      if (this.observer.record(id)?.fault) this.update(id, { fault: null });
    } catch {}
  }

  /** Slow work (stopping an agent, git) runs beside the loop; the session is left alone meanwhile. */
  private inBackground(a: Extract<Action, { session: string }>, work: () => Promise<void>): void {
    const id = a.session;
    this.busy.add(id);
    work()
      .then(() => {
        if (this.faults.delete(id)) this.clearFault(id);
      })
      .catch((err) => this.fault(a, err))
      .finally(() => {
        this.busy.delete(id);
        this.observer.dirty.add(id);
        this.o.again();
      });
  }

  private claim(requestDir: string, persona: string, name: string, reserved?: string): void {
    const id = reserved ?? reserveSession(this.ws, persona, name, requestDir);
    crashPoint("claim:reserved");
    if (!takeRequest(this.ws, this.dir(id), requestDir)) {
      dropReservation(this.dir(id), id, persona);
      this.observer.forget(id);
      return;
    }
    crashPoint("claim:taken");
    this.observer.dirty.add(id);
    this.o.again();
  }

  private finishSetup(id: string): void {
    const rec = this.current(id);
    const persona = this.observer.personas.get(rec.persona);
    if (!persona) throw new Error(`persona ${rec.persona} has no template`);
    const workplace = this.git.workplaceFor(id, persona);
    const done = finishSession(this.ws, this.dir(id), rec, persona, this.observer.personas, readTeam(this.ws)?.goal ?? "", { workplace });
    this.observer.dirty.add(id);
    this.observer.wrote(id, done);
    this.o.again();
  }


  /**
   * The agent of a session whose tasks are all completed is done: stop it if it still runs (its
   * turn had its grace), say how its run ended, and forget it. Its record is the caller's.
   */
  private async stopFinished(id: string, pid: number | null): Promise<void> {
    const proc = this.procs.get(id);
    if (pid !== null) {
      // Our own stop of an agent whose turn outlived its grace is news, not a warning.
      const stoppedBy = proc?.exit ? undefined : "orchestrator";
      if (!proc?.exit) await stopGroup(pid, this.o.timings.stopGraceMs);
      const exit = this.procs.get(id)?.exit;
      this.o.emit("exited", { ...this.who(this.current(id)), pid, code: exit?.code ?? null, signal: exit?.signal ?? (exit ? null : "SIGTERM"), stoppedBy });
    } else if (proc?.exit) {
      this.o.emit("exited", { ...this.who(this.current(id)), pid: proc.pid, code: proc.exit.code, signal: proc.exit.signal });
    }
    this.procs.forget(id);
    this.completing.delete(id);
  }

  /**
   * Before its branch is merged (end-turn, after the grace; or the merge itself, when the agent
   * ended by itself): the agent stopped, its whole spend recorded, and the session `idle` (its
   * turn is over; a conflict sends it back to work from there).
   */
  private async turnEnded(id: string, pid: number | null, fields: Partial<SessionRecord>): Promise<void> {
    await this.stopFinished(id, pid);
    const rec = this.current(id);
    this.update(id, { ...fields, pid: null, pidStartTime: null, ...(rec.status === "active" ? { status: "idle" as const } : {}) });
  }

  /** Stop what still runs (its turn had its grace), record the whole spend, then archive. */
  private async complete(id: string, pid: number | null, fields: Partial<SessionRecord>): Promise<void> {
    await this.stopFinished(id, pid);
    // Merged: the worktree goes before the session is archived (nothing tracks it after).
    await this.git.removeMergedWorktree(id);
    const rec = this.update(id, { ...fields, status: "completed", pid: null, pidStartTime: null, endedAt: new Date().toISOString() });
    this.o.emit("completed", this.who(rec));
    crashPoint("complete:marked");
    await this.archive(rec);
  }

  /**
   * Tell whoever asked for it, then rename to `<id>-completed` (every file kept). Telling first
   * (idempotent) means a crash in between repeats the telling, never skips it.
   */
  private async archive(rec: SessionRecord): Promise<void> {
    const undelivered = await notifyRequester(this.ws, rec, "completed");
    if (undelivered) this.sayOnce(`undelivered:${rec.id}:completed`, undelivered, () => this.o.warn(undelivered));
    crashPoint("complete:notified");
    // The archive carries no stale error from an earlier failed try (set again if this one fails).
    if (rec.fault) rec = this.update(rec.id, { fault: null });
    const archive = archiveDirName(rec.id);
    renameSync(this.dir(rec.id), join(this.ws, archive));
    this.observer.archived(rec.id, rec.costUsd);
    this.o.emit("archived", { ...this.who(rec), archive: join(this.ws, archive) });
    this.o.again();
  }

  /** A person asked for a stopped or failed session to run again: from where it was. */
  private resume(id: string): void {
    const rec = this.current(id);
    // Given up on after too many merge attempts: a person's retry allows as many again.
    const g = validSessionGit(rec.git);
    const git = g && g.attempt > (g.limit ?? MAX_MERGE_ATTEMPTS) ? { git: { ...g, limit: g.attempt + MAX_MERGE_ATTEMPTS } } : {};
    this.update(id, { status: "pending", restarts: 0, retryAt: null, error: null, notified: false, endedAt: null, ...git });
    // After the record: a crash in between resumes it once more, which is what was asked.
    rmSync(join(this.dir(id), RESUME_MARKER), { force: true });
    this.o.emit("resumed", { ...this.who(rec), reason: `resumed by a person (was ${rec.status})` });
    this.o.again();
  }

  /** ROSTER.md from the records as they are now; failing to write it is said, never fatal. */
  writeRoster(): void {
    try {
      writeRoster(this.ws, this.observer.records(), this.observer.personas);
    } catch (err) {
      this.sayOnce("roster", errorMessage(err), () => this.o.warn(`${ROSTER_FILE}: ${errorMessage(err)}`));
    }
  }

  private teamDone(manager: string, w: World): void {
    this.teamDoneAnnounced = true;
    const team = readTeam(this.ws);
    const summary = join(this.ws, archiveDirName(manager), "tasks.md");
    const started = team ? Date.parse(team.startedAt) : Number.NaN;
    if (team && !team.finishedAt) writeTeam(this.ws, { ...team, finishedAt: new Date().toISOString() });
    this.o.emit("team-done", {
      session: manager,
      summary,
      costUsd: Math.round(w.spent * 1e6) / 1e6,
      elapsedMs: Number.isFinite(started) ? Date.now() - started : null,
    });
    this.o.teamDone();
  }
}
