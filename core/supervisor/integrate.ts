/**
 * The actuator's git steps: a session's worktree before its first run, the merge of its branch
 * into the team branch, sending work back to its author, and removing a merged worktree. Git
 * itself is core/git (each step repeatable after a crash); this module records each answer in
 * session.json before anything acts on it, and says what happened. It decides nothing: the
 * decisions are reconcile-git.ts's.
 */
import { join } from "node:path";
import { appendLocked } from "../base/fsx";
import { readText } from "../base/read-text";
import { gitCrashPoint } from "../git/crash";
import {
  type GitContext,
  type SessionGit,
  type Workplace,
  ensureSessionWorktree,
  integrateSession,
  plannedWorkplace,
  removeSessionWorktree,
  reopenInstructions,
  reopenTaskTitle,
  usesWorktree,
  validSessionGit,
} from "../git/integrate";
import { type Repo, probeRepo } from "../git/repo";
import { stopVerify } from "../git/verify";
import { appendInstructionsOnce } from "../workspace/instructions";
import { projectRoot } from "../workspace/paths";
import type { Persona } from "../workspace/personas";
import type { SessionRecord } from "../workspace/session";
import { readTeam } from "../workspace/team-file";
import { MAX_TASKS_BYTES, taskBlock } from "../workspace/tasks";
import type { Emit } from "./events";

/** What the actuator lends the git steps: its record keeping and its voice. */
export interface IntegrationHost {
  workspace: string;
  emit: Emit;
  warn(message: string): void;
  sayOnce(key: string, message: string, say: () => void): void;
  current(id: string): SessionRecord;
  update(id: string, fields: Partial<SessionRecord>): SessionRecord;
  /** Files of the session changed under the observer's cache: read them again, pass again. */
  changed(id: string): void;
}

export class Integrator {
  /** The session whose branch is being merged now (one at a time for the whole team). */
  merging: string | undefined;
  private repoFound: Repo | undefined;
  /** The supervisor is stopping: a merge that ends now is not recorded (the next one redoes it). */
  private stopping = false;
  /**
   * Worktree adds and removals run at most two at a time: a checkout is disk and CPU bound (two
   * keep a small machine busy), and git fails one of two adds that overlap at the wrong moment
   * (retried: see isWorktreeRace), which twenty at once made common.
   */
  private readonly worktreeSlots = new Slots(2);

  constructor(private readonly h: IntegrationHost) {}

  /** The project's repository, found once (a spawned git: not on every pass). */
  repo(): Repo {
    if (this.repoFound) return this.repoFound;
    const probe = probeRepo(projectRoot(this.h.workspace));
    if (!probe.repo) throw new Error(`the team works in git worktrees, but ${probe.reason}`);
    return (this.repoFound = probe.repo);
  }

  /** Where a new session of this persona will work (its persona text names it), or undefined: the project root. */
  workplaceFor(sessionId: string, persona: Pick<Persona, "worktree">): Workplace | undefined {
    const team = readTeam(this.h.workspace);
    if (!usesWorktree(team, persona)) return undefined;
    let repo: Repo;
    try {
      repo = this.repo();
    } catch {
      return undefined; // said when its worktree is made, which fails the same way
    }
    return plannedWorkplace(this.h.workspace, sessionId, repo, team!.branch!);
  }

  private dir(id: string): string {
    return join(this.h.workspace, id);
  }

  private who(rec: SessionRecord) {
    return { session: rec.id, persona: rec.persona, name: rec.name };
  }

  /** The branch a session's work goes into (the one it was forked from), and the team's verify command. */
  private context(g: SessionGit | undefined): GitContext {
    const team = readTeam(this.h.workspace);
    const integration = g?.integration ?? team?.branch;
    if (!integration) throw new Error(`${this.h.workspace}/.team.json names no team branch to fork from or merge into`);
    return { repo: this.repo(), workspace: this.h.workspace, integration, ...(team?.verify ? { verify: team.verify } : {}) };
  }

  /**
   * Step "worktree": the session's worktree and branch (forked from the team branch's tip now,
   * at its first run), recorded in session.json. Repeated after a crash, or for a worktree that
   * went missing, it finds the branch and checks it out again: nothing on it is lost.
   */
  async prepare(id: string): Promise<void> {
    const prev = validSessionGit(this.h.current(id).git);
    const ctx = this.context(prev);
    const made = await this.worktreeSlots.run(() => ensureSessionWorktree(ctx, id));
    gitCrashPoint("worktree:added");
    this.h.update(id, { git: prev ? { ...prev, worktree: made.worktree, cwd: made.cwd, branch: made.branch } : made });
  }

  /**
   * Step "merge": what the agent left uncommitted is committed, then its branch is merged (and
   * verified, when the team has a verify command). The answer is recorded before it is said;
   * "blocked" (the team branch is checked out somewhere) throws, so the step is retried with backoff.
   */
  async merge(id: string): Promise<void> {
    const rec = this.h.current(id);
    const g0 = validSessionGit(rec.git);
    if (!g0) throw new Error(`session.json records no worktree to merge`);
    const ctx = this.context(g0);
    const g = await integrateSession(ctx, id, g0, {
      save: (v) => void this.h.update(id, { git: v }),
      verifyLog: join(this.dir(id), "verify.log"),
      summary: `The work of ${rec.name} (${rec.id}, ${rec.persona}).`,
    });
    // Stopped under us (its verify run killed by `stop`): not an answer to record or act on.
    if (this.stopping) return;
    this.h.update(id, { git: g });
    gitCrashPoint("merge:recorded");
    const about = { ...this.who(rec), branch: g.branch, into: ctx.integration };
    switch (g.merge) {
      case "merged":
        return this.h.emit("merged", { ...about, commit: g.commit, files: g.files ?? [] });
      case "conflict":
        return this.h.emit("merge-conflict", { ...about, files: g.files ?? [], attempt: g.attempt });
      case "verify-failed":
        return this.h.emit("verify-failed", { ...about, tail: g.tail ?? "", attempt: g.attempt, log: join(this.dir(id), "verify.log") });
      case "blocked":
        throw new Error(`cannot merge ${g.branch} yet: ${g.reason}`);
      default:
        return;
    }
  }

  /**
   * The supervisor stops (Ctrl-C, `team stop`): a verify command running for the merge in flight
   * is stopped with it, not left running for up to its timeout. The merge is not recorded; the
   * next supervisor does it again from the start (every step is repeatable).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const id = this.merging;
    if (!id) return;
    try {
      const g = validSessionGit(this.h.current(id).git);
      if (g) await stopVerify(this.repo(), this.h.workspace, g.branch);
    } catch {} // best effort: the next supervisor's merge clears a scratch run it finds
  }

  /**
   * Step "reopen": give the conflict or red verify back to the author: an instructions block (which
   * wakes it) and a task (so it is not complete until it says so). Each once per attempt, so a
   * repeat after a crash between them writes neither twice; then session.json says it was told.
   */
  async reopen(id: string): Promise<void> {
    const rec = this.h.current(id);
    const g = validSessionGit(rec.git);
    if (!g) return;
    const ctx = this.context(g);
    const title = reopenTaskTitle(g);
    await appendInstructionsOnce(this.dir(id), "orchestrator", reopenInstructions(g, ctx.integration, ctx.verify), title);
    gitCrashPoint("reopen:instructed");
    await addTaskOnce(join(this.dir(id), "tasks.md"), title, "Added by the orchestrator: see the newest block in instructions.md.");
    gitCrashPoint("reopen:tasked");
    this.h.update(id, { git: { ...g, reopened: g.attempt }, ...(rec.status === "active" ? { status: "idle" } : {}) });
    // Its tasks.md and instructions.md changed: the next look must not see it complete still.
    this.h.changed(id);
  }

  /**
   * A merged session's worktree goes (its branch stays). One that cannot go (a file written
   * after the merge, a person's lock) is kept and said once: `team clean` removes it later.
   */
  async removeMergedWorktree(id: string): Promise<void> {
    const g = validSessionGit(this.h.current(id).git);
    if (!g || g.merge !== "merged" || g.worktreeRemoved) return;
    try {
      const repo = this.repo();
      this.h.update(id, { git: await this.worktreeSlots.run(() => removeSessionWorktree(repo, g)) });
    } catch (err) {
      const why = `${id}: its worktree ${g.worktree} is kept (${(err as Error).message}); \`claude-wrapper team clean\` removes it once nothing in it is unmerged`;
      this.h.sayOnce(`worktree-kept:${id}`, why, () => this.h.warn(why));
    }
  }
}

/** Append a pending task titled `title` to tasks.md unless it already has one of that title. */
async function addTaskOnce(path: string, title: string, note: string): Promise<void> {
  const text = readText(path, MAX_TASKS_BYTES) ?? "";
  if (text.includes(`## Task: ${title}`)) return;
  await appendLocked(path, `${text && !text.endsWith("\n") ? "\n" : ""}\n${taskBlock(title, "pending", note)}`);
}

/** At most `n` pieces of work at once; the rest wait their turn, in order. */
class Slots {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly n: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    // A slot is taken here, or handed over by the work that ends (never counted twice).
    if (this.busy >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    else this.busy++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}
