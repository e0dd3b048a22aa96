/**
 * `team clean`: what finished teams leave in git. A session's worktree is removed once the
 * session is archived (merged: its work is on the team branch, and its branch keeps every
 * commit); `team clean` removes the ones that were kept (a file written after the merge, a crash
 * before the removal), the scratch dirs of interrupted verify runs, and trash, and deletes session
 * branches merged into a team branch. Nothing that holds unmerged or uncommitted work is touched:
 * it is listed as kept, with why and what to do. `doctor` reports the same plan without acting.
 */
import { rmSync } from "node:fs";
import { errorMessage } from "../base/errors";
import { validSessionGit } from "../git/integrate";
import { type Repo, isAncestor, probeRepo, resolveCommit } from "../git/repo";
import { clearScratch } from "../git/verify";
import { BRANCH_PREFIX, deleteBranchIfMerged, listOurBranches, removeWorktree, workspaceWorktrees } from "../git/worktree";
import { liveOrchestrator } from "../workspace/owner";
import { parseSessionId, projectRoot } from "../workspace/paths";
import { readAllSessions } from "../workspace/store";
import { readTeam } from "../workspace/team-file";

export interface CleanItem {
  /** A worktree path, or a branch name. */
  what: string;
  kind: "worktree" | "scratch" | "trash" | "branch";
  /** The session it belonged to, when it is one's. */
  session?: string;
  why: string;
}

export interface CleanReport {
  workspace: string;
  /** The repository's top, or null when the project is not a git repository. */
  repository: string | null;
  /** Done (or, for doctor, to do). */
  removed: CleanItem[];
  /** Left alone, each with why. */
  kept: CleanItem[];
}

/** A team branch is `claude-wrapper/<team id>` (digits); a session branch names a session id. */
const isTeamBranch = (branch: string) => /^\d+$/.test(branch.slice(BRANCH_PREFIX.length));

export async function cleanWorkspace(workspace: string, opts: { dryRun?: boolean } = {}): Promise<CleanReport> {
  const report: CleanReport = { workspace, repository: null, removed: [], kept: [] };
  const probe = probeRepo(projectRoot(workspace));
  if (!probe.repo) return report;
  const repo = probe.repo;
  report.repository = repo.toplevel;
  const sessions = readAllSessions(workspace, true);
  const live = new Set(sessions.filter((s) => !s.archived).map((s) => s.rec.id));
  const act = async (item: CleanItem, work: () => Promise<unknown> | unknown) => {
    if (opts.dryRun) return void report.removed.push(item);
    try {
      await work();
      report.removed.push(item);
    } catch (err) {
      report.kept.push({ ...item, why: errorMessage(err) });
    }
  };

  const verifying = liveOrchestrator(workspace) !== undefined;
  for (const w of await workspaceWorktrees(repo, workspace)) {
    if (w.kind === "scratch") {
      // A live orchestrator may be verifying a merge in it right now.
      if (verifying) report.kept.push({ what: w.path, kind: "scratch", why: "an orchestrator is running (it may be verifying a merge there)" });
      else await act({ what: w.path, kind: "scratch", why: "scratch checkout of an interrupted verify run" }, () => clearScratch(repo, w.path));
      continue;
    }
    if (w.kind === "leftover") {
      if (w.name.startsWith(".trash-")) await act({ what: w.path, kind: "trash", why: "a removal that was cut short" }, () => rmSync(w.path, { recursive: true, force: true }));
      else report.kept.push({ what: w.path, kind: "worktree", why: "set aside by a repair and may hold work: look inside, then remove it by hand" });
      continue;
    }
    if (live.has(w.name)) continue; // its session works (or will work) in it
    const why = sessions.some((s) => s.rec.id === w.name) ? "its session is archived" : "no session of this workspace has it";
    await act({ what: w.path, kind: "worktree", session: w.name, why }, () => removeWorktree(repo, w.path));
  }

  const branches = await listOurBranches(repo);
  const teamBranches = branches.filter(isTeamBranch);
  const into = new Map<string, string>();
  for (const s of sessions) {
    const g = validSessionGit(s.rec.git);
    if (g?.integration) into.set(s.rec.id, g.integration);
  }
  const current = readTeam(workspace)?.branch;
  for (const branch of branches) {
    const id = branch.slice(BRANCH_PREFIX.length);
    if (isTeamBranch(branch) || !parseSessionId(id) || live.has(id)) continue;
    const targets = [...new Set([into.get(id), current, ...teamBranches].filter((b): b is string => !!b))];
    await cleanBranch(repo, branch, id, targets, report, !!opts.dryRun);
  }
  return report;
}

/** Delete a session branch merged into one of `targets`; else keep it, saying why. */
async function cleanBranch(repo: Repo, branch: string, session: string, targets: string[], report: CleanReport, dryRun: boolean): Promise<void> {
  let last = "unmerged";
  for (const target of targets) {
    const item: CleanItem = { what: branch, kind: "branch", session, why: `merged into ${target}` };
    if (dryRun) {
      const [tip, t] = await Promise.all([resolveCommit(repo.root, `refs/heads/${branch}`), resolveCommit(repo.root, `refs/heads/${target}`)]);
      if (tip && t && (await isAncestor(repo.root, tip, t))) return void report.removed.push(item);
      continue;
    }
    last = await deleteBranchIfMerged(repo, branch, target);
    if (last === "deleted" || last === "absent") {
      if (last === "deleted") report.removed.push(item);
      return;
    }
    if (last === "checked-out") break;
  }
  const why =
    last === "checked-out"
      ? "it is checked out in a worktree; switch that checkout away to let it go"
      : `not merged into ${targets.join(" or ") || "a team branch"}: merge it, or delete it by hand (git branch -D ${branch})`;
  report.kept.push({ what: branch, kind: "branch", session, why });
}
