import { UserError } from "../base/errors";
import { type Workplace, plannedWorkplace, usesWorktree } from "../git/integrate";
import { type Repo, gitSync, probeRepo } from "../git/repo";
import { createIntegrationBranch, ignoreWorkspace, unbornHead } from "../git/worktree";
import { projectRoot } from "../workspace/paths";
import type { Persona } from "../workspace/personas";
import { type TeamRecord, readTeam } from "../workspace/team-file";

/** What the user asked of `team start`: worktrees (default on), a verify command for merges. */
export interface IsolationChoice {
  worktrees: boolean;
  verify?: string;
}

/** The part of the team record isolation decides, and what to say about it. */
export type Isolation = Pick<TeamRecord, "worktrees" | "branch" | "baseCommit" | "baseRef" | "verify">;

const MAX_VERIFY_CHARS = 4000;

/** `--verify`: a non-empty command line of one line, or one clear line saying what is wrong. */
export function validateVerify(raw: string | undefined, worktrees: boolean): string | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (!v) throw new UserError('--verify is empty; give the command that checks a merge, e.g. --verify "npm test"');
  if (v.includes("\0") || /[\r\n]/.test(v)) throw new UserError("--verify must be one command line (no newlines or NUL bytes)");
  if (v.length > MAX_VERIFY_CHARS) throw new UserError(`--verify is ${v.length} characters; keep it under ${MAX_VERIFY_CHARS}`);
  if (!worktrees) throw new UserError("--verify checks each merge into the team's branch, and --no-worktrees has no merges; drop one of them");
  return v;
}

/**
 * What `prepareIsolation` would refuse, found before anything is written (the workspace is
 * not even created): a bad --verify, or a git project with no commit to fork from.
 */
export function checkIsolation(workspace: string, choice: IsolationChoice): void {
  validateVerify(choice.verify, choice.worktrees);
  if (!choice.worktrees) return;
  const probe = probeRepo(projectRoot(workspace));
  if (!probe.repo) {
    if (choice.verify !== undefined) throw new UserError(`--verify needs a git repository, and ${probe.reason}; drop --verify`);
    return;
  }
  if (gitSync(probe.repo.toplevel, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], { ok: [1, 128] }).code !== 0) throw unbornHead(probe.repo.toplevel);
}

/**
 * Decide and prepare isolation for a new team: in a git project (unless --no-worktrees) create
 * its integration branch from HEAD; elsewhere agents share the project root as before. Throws a
 * UserError (having changed nothing) when the choice cannot be honoured. The workspace gets its
 * `.gitignore` of `*` either way, so it is never committed.
 */
export async function prepareIsolation(workspace: string, teamId: string, choice: IsolationChoice): Promise<Isolation> {
  const verify = validateVerify(choice.verify, choice.worktrees);
  const root = projectRoot(workspace);
  let isolation: Isolation;
  if (!choice.worktrees) isolation = { worktrees: false };
  else {
    const probe = probeRepo(root);
    if (!probe.repo) {
      if (verify) throw new UserError(`--verify needs a git repository, and ${probe.reason}; drop --verify`);
      isolation = { worktrees: false };
    } else {
      const made = await createIntegrationBranch(probe.repo, teamId);
      isolation = { worktrees: true, branch: made.branch, baseCommit: made.commit, baseRef: made.from, ...(verify ? { verify } : {}) };
    }
  }
  ignoreWorkspace(workspace);
  return isolation;
}

/**
 * Where sessions laid out now will work: for each persona, its planned worktree (named in its
 * persona text before the worktree exists; the supervisor makes it before the first run), or
 * undefined for the project root. The repository is asked once.
 */
export function workplaces(workspace: string, team: TeamRecord | undefined = readTeam(workspace)): (id: string, persona: Pick<Persona, "worktree">) => Workplace | undefined {
  let repo: Repo | undefined | null = null;
  return (id, persona) => {
    if (!usesWorktree(team, persona)) return undefined;
    if (repo === null) repo = probeRepo(projectRoot(workspace)).repo;
    return repo ? plannedWorkplace(workspace, id, repo, team!.branch!) : undefined;
  };
}
