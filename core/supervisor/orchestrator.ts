/**
 * The supervisor's loop: watch → mark dirty → observe → reconcile → actuate. Watcher events,
 * child exits and timers only schedule a pass; observe.ts reads, reconcile.ts (pure) decides,
 * actuate.ts carries out. One orchestrator per workspace, held by a kernel lock for its life.
 */
import { join, relative, sep } from "node:path";
import { runnerFor } from "../agents/index";
import { agentsInUse } from "../agents/choose";
import { requireAgentLogins } from "../agents/login";
import { type Timings, timings } from "../base/config";
import { UserError, errorMessage } from "../base/errors";
import { type WatchHandle, watchTree } from "../base/watch";
import { EntryWatches, MAX_REQUEST_WATCHES } from "../base/watch-entries";
import { pageOutExecutable } from "../processes/libc";
import { isOurProcess, stopGroup } from "../processes/proc";
import { LOCK_FILE, type WorkspaceLock, lockWorkspace, removeOrchestratorPid, writeOrchestratorPid } from "../workspace/owner";
import { ROSTER_FILE, projectRoot } from "../workspace/paths";
import { readTeam } from "../workspace/team-file";
import { loadPersonas } from "../workspace/personas";
import { readAllSessions } from "../workspace/store";
import { Actuator } from "./actuate";
import type { Emit } from "./events";
import { Observer } from "./observe";
import { pauseSessions } from "./pause";
import { ProcessTable } from "./procs";
import { type World, reconcile } from "./reconcile";
import { sweepLeftovers } from "./sweep";

export interface OrchestratorOptions {
  workspace: string;
  maxAgents: number;
  budgetUsd: number;
  skipPermissions: boolean;
  /** Run every session with this agent runner instead of its persona's (demo uses `sim`). */
  agent?: string;
  /** Stop (pausing what still runs) once the manager's session completes. */
  exitWhenDone?: boolean;
  emit: Emit;
  warn: (message: string) => void;
}

/** The most of a core the safety-net resync may take (see startResync), and its longest period. */
const RESYNC_SHARE = 0.0005;
const RESYNC_LONGEST_MS = 10 * 60_000;

/** Top-level workspace entries whose changes are no news: files we write for agents to read. */
const IGNORED_TOP = new Set([ROSTER_FILE]);

export class Orchestrator {
  private readonly ws: string;
  private readonly t: Timings = timings();
  private readonly procs: ProcessTable;
  private readonly observer: Observer;
  private actuator!: Actuator;
  private lock: WorkspaceLock | undefined;
  private watcher: WatchHandle | undefined;
  private watchFailed = false;
  /** Without coalescing: the workspace's top level and each request still being written. */
  private readonly entries = new EntryWatches((path) => this.onPaths([path]));
  private passTimer: ReturnType<typeof setImmediate> | undefined;
  private passRunning = false;
  private passAgain = false;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private resyncTimer: ReturnType<typeof setTimeout> | undefined;
  /** The next pass looks at every session (a resync, or the first pass). */
  private fullLookDue = true;
  /** How long the last look at every session took: the resync's period follows it. */
  private fullLookMs = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private stopping = false;
  private finish!: (code: number) => void;
  /** Resolves with the exit code when the loop ends by itself (workspace lost, team done). */
  readonly finished = new Promise<number>((r) => (this.finish = r));

  constructor(private readonly opts: OrchestratorOptions) {
    this.ws = opts.workspace;
    this.procs = new ProcessTable((id) => {
      this.observer.dirty.add(id);
      this.schedule();
    }, this.t.adoptedCheckMs);
    this.observer = new Observer(this.ws, this.procs);
  }

  async start(): Promise<void> {
    // An unknown --agent is a usage mistake, said before anything is locked.
    if (this.opts.agent) runnerFor(this.opts.agent);
    this.lock = await lockWorkspace(this.ws, "orchestrator", this.t.lockWaitMs);
    try {
      await this.preflight();
      writeOrchestratorPid(this.ws, undefined, this.opts.budgetUsd ? { budgetUsd: this.opts.budgetUsd } : {});
    } catch (err) {
      this.lock.release();
      throw err;
    }
    this.actuator = new Actuator(
      {
        workspace: this.ws,
        skipPermissions: this.opts.skipPermissions,
        runFlag: this.opts.agent,
        budgetUsd: this.opts.budgetUsd,
        timings: this.t,
        emit: this.opts.emit,
        warn: this.opts.warn,
        again: () => this.again(),
        wakeAt: (at) => this.wakeMeAt(at),
        abandon: (reason) => void this.abandon(reason),
        teamDone: () => {
          if (this.opts.exitWhenDone) void this.shutdown().then(() => this.finish(0));
        },
      },
      this.observer,
      this.procs,
    );
    sweepLeftovers(this.ws);
    this.watcher = await watchTree(this.ws, (paths) => this.onPaths(paths), (msg) => {
      this.opts.warn(msg);
      // No (more) events: the resync becomes the loop, at the short period.
      const first = !this.watchFailed;
      this.watchFailed = true;
      if (first && this.resyncTimer) this.startResync();
      this.observer.markAll();
      this.schedule();
    });
    this.startResync();
    this.opts.emit("started", { pid: process.pid, workspace: this.ws, maxAgents: this.opts.maxAgents || undefined, budgetUsd: this.opts.budgetUsd || undefined });
    await this.pass();
    // Read by the first pass already: what it left stopped stays so until a person says.
    const paused = this.observer.records().filter((r) => r.status === "stopped").length;
    if (paused) this.opts.warn(`${paused} stopped session(s) stay paused: \`claude-wrapper team resume\` continues them`);
  }

  /**
   * Before any agent starts: every agent CLI the team uses is on PATH and can run (logged in),
   * asked without spending anything. One line with the fix, exit 1, no agent started.
   */
  private async preflight(): Promise<void> {
    const runners = agentsInUse(loadPersonas(this.ws).values(), readTeam(this.ws), this.opts.agent);
    for (const runner of runners) {
      const exe = runner.executable();
      if (exe && !Bun.which(exe)) {
        throw new UserError(`\`${exe}\` is not on PATH; install it (${runner.install ?? `install ${exe}`}) or try \`claude-wrapper demo\``, 1);
      }
    }
    await requireAgentLogins(runners, process.env, { cwd: projectRoot(this.ws) });
  }

  /**
   * The safety-net resync, armed again after each full look. Without a working watcher it is the
   * loop, every 2 s at most. With one it only catches what events missed, so its cost is held
   * under RESYNC_SHARE of a core: a workspace whose full look takes 75 ms (1,000 sessions) is
   * looked at every 150 s instead of every 30; none waits more than 10 minutes.
   */
  private startResync(): void {
    if (this.stopping) return;
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    const every = this.watcher && !this.watchFailed ? Math.max(this.t.resyncMs, Math.min(this.fullLookMs / RESYNC_SHARE, RESYNC_LONGEST_MS)) : Math.min(this.t.resyncMs, 2000);
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      this.observer.markAll();
      this.fullLookDue = true;
      this.schedule();
    }, every);
  }

  private onPaths(paths: string[]): void {
    let news = false;
    for (const p of paths) {
      const rel = relative(this.ws, p);
      if (rel.startsWith("..")) continue;
      if (!rel) {
        // The workspace itself changed (removed, replaced): the next pass checks it is still ours.
        news = true;
        continue;
      }
      const top = rel.split(sep, 1)[0]!;
      // The lock is never written after start: an event on it means it was removed or replaced,
      // and the workspace may no longer be ours (an `rm -rf` that a writer left half done).
      if (top === LOCK_FILE) {
        news = true;
        continue;
      }
      // Our own bookkeeping (pid and team files, temp files) is no news.
      if (top.startsWith(".") || IGNORED_TOP.has(top)) continue;
      if (top === "personas") this.observer.markPersonas();
      this.observer.dirty.add(top);
      news = true;
    }
    if (news) this.schedule();
  }

  private again(): void {
    if (this.passRunning) this.passAgain = true;
    else this.schedule();
  }

  /**
   * Coalesce: one pass at a time, and one more if anything asked while it ran. The pass runs
   * once this turn's events are in (setImmediate), not on a timer: a 1 ms timer costs ~1.4 ms.
   */
  schedule(): void {
    if (this.stopping) return;
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    if (this.passTimer) return;
    this.passTimer = setImmediate(() => {
      this.passTimer = undefined;
      void this.pass();
    });
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
    let acted = this.idleTimer === undefined;
    let world: World | undefined;
    let fullLook = false;
    try {
      do {
        this.passAgain = false;
        const full = this.fullLookDue;
        this.fullLookDue = false;
        const lookStart = performance.now();
        world = this.observer.look(
          Date.now(),
          {
            busy: this.actuator.busy,
            faults: this.actuator.faults,
            completing: this.actuator.completing,
            teamDoneAnnounced: this.actuator.teamDoneAnnounced,
            merging: this.actuator.merging,
            workspaceLost: () => this.lock?.lost(),
          },
          {
            maxAgents: this.opts.maxAgents,
            budgetUsd: this.opts.budgetUsd,
            maxRestarts: this.t.maxRestarts,
            backoffBaseMs: this.t.backoffBaseMs,
            backoffMaxMs: this.t.backoffMaxMs,
            completionGraceMs: this.t.completionGraceMs,
            tasksSettleMs: this.t.tasksSettleMs,
          },
          this.actuator.requestFaults,
        );
        if (full) {
          this.fullLookMs = performance.now() - lookStart;
          fullLook = true;
        }
        for (const action of reconcile(world)) {
          if (this.stopping) return;
          if (action.type !== "wake-at") acted = true;
          await this.actuator.apply(action, world);
        }
      } while (this.passAgain && !this.stopping);
      if (this.stopping) return;
      // The roster agents read: rewritten only when its text changes.
      this.actuator.writeRoster();
      this.watchEntries(world);
    } catch (err) {
      // A pass that cannot even look (the workspace unreadable): say so once, look again later.
      this.opts.warn(`cannot read the workspace: ${errorMessage(err)}; retrying`);
      this.wakeMeAt(Date.now() + this.t.faultBackoffMs);
    } finally {
      this.passRunning = false;
      // Armed again even when the look failed: the safety net never lapses.
      if (fullLook || !this.resyncTimer) this.startResync();
      // At rest, the runtime's code pages (tens of MB touched at start) go back to the system;
      // the next event reads back what it needs. Once after each spell of work: a pass that only
      // looked (a resync) does not start it again.
      if (acted && !this.stopping) {
        if (this.idleTimer) clearTimeout(this.idleTimer);
        this.idleTimer = setTimeout(() => pageOutExecutable(), this.t.idlePageOutMs);
      }
    }
  }

  /**
   * The fast watches follow what the last pass saw: the top level always, and the requests whose
   * instructions.md has yet to appear (or to get its first bytes), up to a few dozen. Once it has
   * text the settle timer looks again anyway, so a writer appending in a tight loop costs no pass
   * per write; a burst beyond the few dozen is served at the tree watcher's pace, and never takes
   * the inotify watches it and other programs need. A watch just added missed whatever came
   * before it: one more look.
   */
  private watchEntries(world: World | undefined): void {
    if (!world || world.workspaceLost) return;
    const unwritten = world.requests.filter((r) => r.state.kind === "waiting" && r.state.unwritten).slice(0, MAX_REQUEST_WATCHES);
    if (this.entries.sync([this.ws, ...unwritten.map((r) => join(this.ws, r.dir))])) this.schedule();
  }

  private clearTimers(): void {
    this.entries.close();
    if (this.passTimer) clearImmediate(this.passTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.procs.close();
  }

  /** The workspace was removed or replaced: it is not ours to act on any more. */
  private async abandon(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.clearTimers();
    this.opts.warn(`${reason}; stopping this orchestrator and its agents`);
    await this.watcher?.close().catch(() => {});
    await this.actuator?.git.stop();
    await Promise.all(this.procs.live().map(([, p]) => stopGroup(p.pid, this.t.stopGraceMs)));
    this.lock?.release();
    this.opts.emit("stopped", { pid: process.pid, reason });
    this.finish(1);
  }

  /** SIGINT/SIGTERM: pause every running agent of the team (kept: `team resume`), then release. */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.clearTimers();
    await this.watcher?.close().catch(() => {});
    // A verify command of the merge in flight stops too (the next orchestrator merges again).
    await this.actuator?.git.stop();
    const victims = new Map<string, { pid: number; startTime?: string }>();
    for (const [id, p] of this.procs.live()) victims.set(id, { pid: p.pid, startTime: p.startTime });
    for (const s of readAllSessions(this.ws)) {
      const { rec } = s;
      if (victims.has(rec.id) || !rec.pid || rec.status === "stopped") continue;
      if (isOurProcess(rec.pid, rec.pidStartTime)) victims.set(rec.id, { pid: rec.pid, startTime: rec.pidStartTime ?? undefined });
    }
    const paused = await pauseSessions(
      [...victims].map(([id, v]) => ({ id, persona: id.replace(/-\d+$/, ""), dir: join(this.ws, id), pid: v.pid, startTime: v.startTime })),
      this.t.stopGraceMs,
    );
    for (const id of paused.marked) this.opts.emit("stopped", { session: id, pid: victims.get(id)?.pid });
    this.opts.emit("stopped", { pid: process.pid });
    removeOrchestratorPid(this.ws, process.pid);
    this.lock?.release();
  }
}
