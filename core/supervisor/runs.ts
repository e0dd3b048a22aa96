/**
 * An agent's runs: starting one (in its session's worktree, when it has one), adopting one a
 * crashed supervisor left, and recording how one ended. Part of the actuator (actuate.ts lends it
 * its record keeping): it carries out reconcile()'s spawn, adopt and exit actions, deciding nothing.
 */
import { dirname, join } from "node:path";
import { readText } from "../base/read-text";
import { planTurn } from "../agents/plan-turn";
import { agentPath } from "../agents/self";
import { crashPoint } from "../base/crash";
import { errorMessage } from "../base/errors";
import { lstatOrUndefined } from "../base/fsx";
import { validSessionGit } from "../git/integrate";
import { withoutGitRedirects } from "../git/repo";
import { processStartTime, spawnDetached } from "../processes/proc";
import { instructionsPath } from "../workspace/instructions";
import { projectRoot } from "../workspace/paths";
import { type SessionRecord, readTracker, writeTracker } from "../workspace/session";
import { readTeam } from "../workspace/team-file";
import type { Emit } from "./events";
import type { Observer } from "./observe";
import type { ProcessTable } from "./procs";
import type { Action } from "./reconcile";

export interface RunsHost {
  workspace: string;
  skipPermissions: boolean;
  /** `orchestrate --agent`: every session runs this agent CLI. */
  runFlag?: string;
  emit: Emit;
  observer: Observer;
  procs: ProcessTable;
  dir(id: string): string;
  current(id: string): SessionRecord;
  save(rec: SessionRecord): SessionRecord;
  update(id: string, fields: Partial<SessionRecord>): SessionRecord;
  who(rec: SessionRecord): { session: string; persona: string; name: string };
}

export class AgentRuns {
  constructor(private readonly h: RunsHost) {}

  /** Record how many bytes of instructions.md the agent has been handed. */
  handed(id: string, size: number): void {
    writeTracker(this.h.dir(id), { instructionsOffset: size });
    this.h.observer.handed(id, size);
  }

  spawn(id: string, resume: boolean, reason: string): void {
    const dir = this.h.dir(id);
    let rec = this.h.current(id);
    const persona = this.h.observer.personas.get(rec.persona);
    if (!persona) {
      const why = `no persona template for ${rec.persona}`;
      this.h.update(id, { status: "failed", error: why });
      this.h.emit("failed", { ...this.h.who(rec), reason: why });
      return;
    }
    const size = lstatOrUndefined(instructionsPath(dir))?.size ?? 0;
    const root = projectRoot(this.h.workspace);
    // In its own worktree when it has one (reconcile made it first), else in the project root.
    const git = validSessionGit(rec.git);
    const where = git && !git.worktreeRemoved ? git : undefined;
    let plan: ReturnType<typeof planTurn>;
    try {
      // CLI, model, resume or fresh start, prompt: decided by planTurn.
      plan = planTurn({
        workspace: this.h.workspace,
        projectRoot: root,
        cwd: where?.cwd ?? root,
        gitDir: where ? sharedGitDir(where.worktree) : undefined,
        dir,
        rec,
        persona,
        team: readTeam(this.h.workspace),
        runFlag: this.h.runFlag,
        log: this.h.observer.log(id) ?? { agentSessionId: null, finishedConversations: [] },
        instructionsPath: instructionsPath(dir),
        instructionsSize: size,
        instructionsOffset: readTracker(dir).instructionsOffset,
        skipPermissions: this.h.skipPermissions,
      });
    } catch (err) {
      // A persona naming an agent CLI we do not know: no retry can help until it is fixed.
      const file = persona.source === "workspace" ? join(this.h.workspace, "personas", `${persona.name}.md`) : `the built-in persona ${persona.name}`;
      const why = `${file}: ${errorMessage(err)}; fix \`agent:\` there, then \`claude-wrapper retry ${rec.name}\``;
      this.h.update(id, { status: "failed", error: why });
      this.h.emit("failed", { ...this.h.who(rec), reason: why });
      return;
    }
    const { runner, turn, fields } = plan;
    // Intent first: a crash after this line leaves `active` with no PID, and the next pass looks
    // for the agent by its environment, then by its output (see `launch`), before it would ever
    // start a second one.
    const stdoutPath = join(dir, "agent.jsonl");
    const stderrPath = join(dir, "agent.stderr.log");
    const stderrOffset = lstatOrUndefined(stderrPath)?.size ?? 0;
    const launch = { instructionsSize: size, stdoutSize: lstatOrUndefined(stdoutPath)?.size ?? 0, stderrSize: stderrOffset };
    rec = this.h.save({ ...rec, status: "active", pid: null, pidStartTime: null, ...fields, error: null, retryAt: null, launch });
    crashPoint("spawn:intent");
    let child: ReturnType<typeof spawnDetached>;
    try {
      child = spawnDetached({
        argv: runner.argv(turn),
        cwd: turn.cwd,
        env: {
          ...(where ? withoutGitRedirects(process.env) : process.env),
          ...runner.env?.(turn),
          ...(where ? { CLAUDE_WRAPPER_WORKTREE: where.worktree, CLAUDE_WRAPPER_BRANCH: where.branch } : {}),
          CLAUDE_WRAPPER_SESSION_ID: id,
          CLAUDE_WRAPPER_SESSION_DIR: dir,
          CLAUDE_WRAPPER_WORKSPACE: this.h.workspace,
          CLAUDE_WRAPPER_PERSONA: rec.persona,
          // `claude-wrapper tell …` from the agent's shell runs this very program.
          PATH: agentPath(this.h.workspace, process.env.PATH),
        },
        stdoutPath,
        stderrPath,
      });
    } catch (err) {
      const why = `could not start the agent: ${errorMessage(err)}`;
      this.h.update(id, { status: "failed", error: why, launch: null });
      this.h.emit("failed", { ...this.h.who(rec), reason: why });
      return;
    }
    crashPoint("spawn:started");
    this.h.procs.child(id, child.pid, child.startTime, child.exited, { path: stderrPath, from: stderrOffset, runner });
    // What it was handed first: until `launch` is cleared, a crash is recovered through it.
    this.handed(id, size);
    rec = this.h.save({ ...rec, pid: child.pid, pidStartTime: child.startTime, runs: rec.runs + 1, startedAt: rec.startedAt ?? new Date().toISOString(), launch: null });
    if (resume && reason === "new instructions") this.h.emit("resumed", { ...this.h.who(rec), pid: child.pid, reason });
    this.h.emit("spawned", { ...this.h.who(rec), pid: child.pid, resume, requestedBy: rec.requestedBy ?? undefined });
  }

  adopt(id: string, pid: number): void {
    let rec = this.h.current(id);
    const startTime = processStartTime(pid) ?? "";
    // A PID we never recorded is a run that started just before a crash: count it, and what it
    // was handed.
    if (rec.pid !== pid) rec = { ...rec, pid, pidStartTime: startTime, runs: rec.runs + 1, startedAt: rec.startedAt ?? new Date().toISOString() };
    if (rec.launch) {
      this.handed(id, rec.launch.instructionsSize);
      rec = { ...rec, launch: null };
    }
    this.h.save(rec);
    this.h.procs.adopt(id, pid, startTime);
    this.h.emit("adopted", { ...this.h.who(rec), pid });
  }

  exited(a: Extract<Action, { type: "exit" }>): void {
    const rec0 = this.h.current(a.session);
    this.h.procs.forget(a.session);
    this.h.emit("exited", { ...this.h.who(rec0), pid: a.pid, code: a.code, signal: a.signal });
    let base: SessionRecord = { ...rec0, pid: null, pidStartTime: null, exitCode: a.code, exitSignal: a.signal };
    if (rec0.launch) {
      // It ran and ended while nobody watched, before its PID was recorded: count the run and
      // what it was handed, so the next one resumes with only what is new.
      this.handed(a.session, rec0.launch.instructionsSize);
      base = { ...base, runs: rec0.runs + 1, startedAt: rec0.startedAt ?? new Date().toISOString(), launch: null };
    }
    const next = a.next;
    if (next.status === "idle") {
      this.h.save({ ...base, status: "idle", restarts: 0 });
      this.h.emit("idle", this.h.who(rec0));
    } else if (next.status === "restarting") {
      this.h.save({ ...base, status: "restarting", restarts: next.attempt, retryAt: next.retryAt });
      this.h.emit("restarting", { ...this.h.who(rec0), attempt: next.attempt, delayMs: next.delayMs });
    } else {
      this.h.save({ ...base, status: "failed", error: next.reason, endedAt: new Date().toISOString() });
      this.h.emit("failed", { ...this.h.who(rec0), reason: next.reason });
    }
  }
}

/** A worktree's `.git` file names `<common git dir>/worktrees/<id>`: the repository's git dir. */
function sharedGitDir(worktree: string): string | undefined {
  const m = /^gitdir:\s*(.+)$/m.exec(readText(join(worktree, ".git"), 4096) ?? "");
  return m ? dirname(dirname(m[1]!.trim())) : undefined;
}
