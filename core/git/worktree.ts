import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { UserError } from "../base/errors";
import { gitCrashPoint } from "./crash";
import {lstatOrUndefined, writeFileAtomic } from "../base/fsx";
import { readText } from "../base/read-text";
import { type Repo, GitError, branchRef, breakStaleLock, committingArgs, git, isAncestor, resolveCommit } from "./repo";

/**
 * The team's branches and the agents' worktrees. Each step is idempotent and safe to repeat
 * after a crash at any point: a branch ref is created by compare-and-swap (never reset: it may
 * hold an agent's commits), a worktree is added in two steps (branch, then checkout) each of
 * which the next call recognises as done, and a worktree is removed by first renaming it out of
 * the way, so a crash mid-removal never leaves a half-deleted checkout that looks like edits.
 */

export const BRANCH_PREFIX = "claude-wrapper/";

/** The team's integration branch: where finished sessions are merged. */
export function integrationBranch(teamId: string): string {
  return `${BRANCH_PREFIX}${teamId}`;
}

/** A session's own branch, forked from the integration branch when the session is claimed. */
export function sessionBranch(sessionId: string): string {
  return `${BRANCH_PREFIX}${sessionId}`;
}

/**
 * Worktrees live in `<workspace>/.worktrees/<session-id>`: under the workspace (whose .gitignore
 * of `*` hides them from the user's `git status`, and whose removal takes them along), in a dot
 * dir (which the supervisor's watcher skips and most project tools' globs skip too), and below
 * the project root (so `node_modules`, CLAUDE.md and the like resolve up to the user's checkout
 * and an agent can run the project's tests without installing anything).
 */
export const WORKTREES_DIR = ".worktrees";

export function worktreesDir(workspace: string): string {
  return join(workspace, WORKTREES_DIR);
}

export function worktreePath(workspace: string, sessionId: string): string {
  return join(worktreesDir(workspace), sessionId);
}

/** `<workspace>/.gitignore` of `*`: the workspace (sessions, transcripts, worktrees) is never committed. */
export function ignoreWorkspace(workspace: string): void {
  const path = join(workspace, ".gitignore");
  if (!lstatOrUndefined(path)) writeFileAtomic(path, "*\n");
}

export interface HeadInfo {
  /** The commit HEAD names; undefined for an unborn HEAD (a repository with no commit yet). */
  commit?: string;
  /** The branch checked out, or undefined for a detached HEAD. */
  branch?: string;
}

export async function readHead(repo: Repo): Promise<HeadInfo> {
  const commit = await resolveCommit(repo.root, "HEAD");
  const sym = await git(repo.root, ["symbolic-ref", "--quiet", "--short", "HEAD"], { ok: [1, 128] });
  return { commit, branch: sym.code === 0 ? sym.stdout.trim() : undefined };
}

/**
 * Create `refs/heads/<branch>` at `commit` unless it exists (compare-and-swap against "absent").
 * Answers the branch's tip either way: an existing branch is never moved.
 */
export async function ensureBranch(repo: Repo, branch: string, commit: string, why: string): Promise<{ tip: string; created: boolean }> {
  const ref = branchRef(branch);
  const existing = await resolveCommit(repo.root, ref);
  if (existing) return { tip: existing, created: false };
  const r = await git(repo.root, ["update-ref", "-m", `claude-wrapper: ${why}`, ref, commit, ""], { ok: [128] });
  if (r.code === 0) return { tip: commit, created: true };
  // Lost a race with another creator: theirs stands.
  const now = await resolveCommit(repo.root, ref);
  if (now) return { tip: now, created: false };
  throw new GitError(`cannot create branch ${branch}: ${r.stderr.trim()}`, ["update-ref", ref], r.code, r.stderr);
}

export function unbornHead(toplevel: string): UserError {
  return new UserError(
    `the git repository at ${toplevel} has no commit yet (HEAD is unborn), so there is nothing to fork the team's branch from; make a first commit, or pass --no-worktrees`,
    1,
  );
}

/**
 * `team start`: the integration branch `claude-wrapper/<team-id>` at the current HEAD. The
 * user's HEAD, index and working tree are only read.
 */
export async function createIntegrationBranch(repo: Repo, teamId: string): Promise<{ branch: string; commit: string; from: string }> {
  const head = await readHead(repo);
  if (!head.commit) throw unbornHead(repo.toplevel);
  const branch = integrationBranch(teamId);
  const from = head.branch ?? `detached HEAD ${head.commit.slice(0, 12)}`;
  const { tip } = await ensureBranch(repo, branch, head.commit, `team ${teamId} from ${from}`);
  return { branch, commit: tip, from };
}

export interface WorktreeEntry {
  path: string;
  head?: string;
  /** `refs/heads/…`, or undefined when detached. */
  ref?: string;
  locked?: string;
  prunable?: string;
}

/** `git worktree list --porcelain -z`, parsed. */
export async function listWorktrees(repo: Repo): Promise<WorktreeEntry[]> {
  let r: Awaited<ReturnType<typeof git>>;
  for (let attempt = 0; ; attempt++) {
    try {
      r = await git(repo.root, ["worktree", "list", "--porcelain", "-z"]);
      break;
    } catch (err) {
      // A worktree being added at this moment (see isWorktreeRace): read again once it is.
      if (!isWorktreeRace(err) || attempt >= 5) throw err;
      await Bun.sleep(20 * 2 ** attempt);
    }
  }
  const out: WorktreeEntry[] = [];
  let cur: WorktreeEntry | undefined;
  for (const field of r.stdout.split("\0")) {
    if (field === "") {
      if (cur) out.push(cur);
      cur = undefined;
      continue;
    }
    const sp = field.indexOf(" ");
    const key = sp < 0 ? field : field.slice(0, sp);
    const value = sp < 0 ? "" : field.slice(sp + 1);
    if (key === "worktree") cur = { path: value };
    else if (!cur) continue;
    else if (key === "HEAD") cur.head = value;
    else if (key === "branch") cur.ref = value;
    else if (key === "locked") cur.locked = value;
    else if (key === "prunable") cur.prunable = value;
  }
  if (cur) out.push(cur);
  return out;
}

/** The worktrees dir, created, as a real path (git records worktree paths resolved). */
export function realWorktreesDir(workspace: string): string {
  const dir = worktreesDir(workspace);
  mkdirSync(dir, { recursive: true });
  return realpathSync(dir);
}

export interface SessionWorktree {
  /** The worktree's top. */
  path: string;
  branch: string;
  /** Where the agent runs: the project root's place inside the worktree. */
  cwd: string;
  /** The branch's tip when it was handed out (its fork point when just created). */
  tip: string;
  /** False when it was already there (a repeated call). */
  created: boolean;
}

/**
 * The session's worktree on `claude-wrapper/<session-id>`, forked from the tip of `from` (the
 * integration branch). Repeatable: a worktree already there on the right branch is answered as
 * is; one a crash left half made (git's "initializing" lock, a dir without its checkout, a
 * registration without its dir) is repaired; an existing branch is checked out, never re-forked.
 */
export async function addWorktree(opts: { repo: Repo; workspace: string; sessionId: string; from: string; attempt?: number }): Promise<SessionWorktree> {
  const { repo, sessionId } = opts;
  ignoreWorkspace(opts.workspace);
  const path = join(realWorktreesDir(opts.workspace), sessionId);
  const branch = sessionBranch(sessionId);
  const ref = branchRef(branch);
  const cwd = repo.prefix ? join(path, repo.prefix) : path;

  const entry = (await listWorktrees(repo)).find((w) => w.path === path);
  if (entry) {
    // git locks a worktree "initializing" (in the C locale our git runs in) until its checkout
    // is done: one still so locked is a checkout a crash cut short, which no agent has used.
    const halfMade = entry.locked === "initializing";
    if (!halfMade && existsSync(join(path, ".git"))) {
      if (entry.ref !== ref) {
        throw new GitError(`worktree ${path} is on ${entry.ref ?? "a detached HEAD"}, not ${branch}; check it out there again (git -C ${path} switch ${branch})`, [], 1, "");
      }
      return { path, branch, cwd, tip: entry.head ?? (await resolveCommit(repo.root, ref))!, created: false };
    }
    // Registered but not a checkout any more: keep what its dir holds, aside.
    if (!halfMade && existsSync(path)) setAside(path);
    // Drop the registration (and a half-made checkout); the branch, with anything on it, stays.
    await git(repo.root, ["worktree", "remove", "--force", "--force", path], { ok: [128] });
    if (existsSync(path)) setAside(path);
  } else if (existsSync(path)) {
    // A dir git does not know: never ours to delete if it holds anything.
    setAside(path);
  }

  let tip = await resolveCommit(repo.root, ref);
  if (!tip) {
    const fork = await resolveCommit(repo.root, branchRef(opts.from));
    if (!fork) throw new GitError(`branch ${opts.from} does not exist; cannot fork ${branch} from it`, [], 1, "");
    tip = (await ensureBranch(repo, branch, fork, `fork for session ${sessionId}`)).tip;
    gitCrashPoint("worktree:branch");
  }
  try {
    await git(repo.root, committingArgs(repo.root, ["worktree", "add", "--quiet", path, branch]));
  } catch (err) {
    const attempt = opts.attempt ?? 0;
    if (!isWorktreeRace(err) || attempt >= 5) throw err;
    // Another worktree was being added at the same moment: once it is, this one repairs and goes on.
    await Bun.sleep(20 * 2 ** attempt);
    return await addWorktree({ ...opts, attempt: attempt + 1 });
  }
  return { path, branch, cwd, tip, created: true };
}

/**
 * `git worktree add` reads every worktree's metadata, and fails on one another `worktree add` is
 * writing at that moment ("failed to read .git/worktrees/<other>/commondir"): a race between two
 * adds, not a broken repository. Answered by trying again.
 */
export function isWorktreeRace(err: unknown): boolean {
  return err instanceof GitError && /worktrees\/[^/\s]+\/(commondir|gitdir|HEAD|locked)\b/.test(err.message);
}

/** Move a dir out of the way (`<name>.orphan-<ms>` beside it) instead of deleting what it holds. */
function setAside(path: string): void {
  const names = readdirSync(path);
  if (names.length === 0 || (names.length === 1 && names[0] === ".git")) {
    rmSync(path, { recursive: true, force: true });
    return;
  }
  renameSync(path, `${path}.orphan-${Date.now()}`);
}

const TRASH_PREFIX = ".trash-";

/**
 * Remove a worktree we made, keeping its branch. Refused while it holds uncommitted changes or
 * untracked files, or a detached HEAD no branch contains (that would lose work), unless `force`
 * (scratch worktrees). The dir is first renamed to `.trash-<name>-<ms>`, then unregistered, then
 * deleted: a crash at any point is finished by the next call.
 */
export async function removeWorktree(repo: Repo, path: string, opts: { force?: boolean } = {}): Promise<{ removed: boolean }> {
  const name = basename(path);
  let parent = join(path, "..");
  try {
    parent = realpathSync(parent);
  } catch {}
  path = join(parent, name);
  const entry = (await listWorktrees(repo)).find((w) => w.path === path);
  const present = existsSync(path);
  if (entry && entry.locked !== undefined && entry.locked !== "initializing" && !opts.force) {
    throw new GitError(`worktree ${path} is locked (${entry.locked || "no reason given"}); unlock it (git worktree unlock ${path}) to let it be removed`, [], 1, "");
  }
  if (entry && present && !opts.force) await assertNothingToLose(repo, entry);
  if (present) {
    renameSync(path, join(parent, `${TRASH_PREFIX}${name}-${Date.now()}`));
    gitCrashPoint("worktree:trashed");
  }
  // git forgets a worktree whose dir is gone with `remove --force` (twice: even when locked).
  if (entry) await git(repo.root, ["worktree", "remove", "--force", "--force", path], { ok: [128] });
  for (const n of existsSync(parent) ? readdirSync(parent) : []) {
    if (n.startsWith(`${TRASH_PREFIX}${name}-`)) rmSync(join(parent, n), { recursive: true, force: true });
  }
  return { removed: !!entry || present };
}

async function assertNothingToLose(repo: Repo, w: WorktreeEntry): Promise<void> {
  const dirty = await git(w.path, ["status", "--porcelain", "-z", "--untracked-files=all"]);
  if (dirty.stdout.length) {
    throw new GitError(`worktree ${w.path} has uncommitted changes; commit them (claude-wrapper does so when a session completes) before removing it`, [], 1, "");
  }
  if (!w.ref && w.head) {
    const held = await git(repo.root, ["for-each-ref", "--count=1", "--contains", w.head, "--format=%(refname)", "refs/heads"]);
    if (!held.stdout.trim()) {
      throw new GitError(`worktree ${w.path} has a detached HEAD ${w.head.slice(0, 12)} that no branch holds; put it on a branch before removing it`, [], 1, "");
    }
  }
}

/**
 * Commit everything in a worktree (tracked changes, deletions, untracked files the project does
 * not ignore) on its branch, when there is anything. Answers the new commit, or null when there
 * was nothing to commit, and the branch's tip after. Refuses an unfinished merge with conflicts
 * (committing the markers would hide them); finishes a merge whose conflicts were resolved.
 */
export async function commitAll(worktree: string, message: string): Promise<{ commit: string | null; head: string | undefined }> {
  await breakStaleIndexLock(worktree);
  const unmerged = await git(worktree, ["ls-files", "--unmerged", "-z"]);
  const conflicted = [...new Set(unmerged.stdout.split("\0").filter(Boolean).map((l) => l.slice(l.indexOf("\t") + 1)))];
  // A file resolved in the working tree but not `git add`ed is resolved; one with markers is not.
  const unresolved = conflicted.filter((f) => hasConflictMarkers(join(worktree, f)));
  if (unresolved.length) {
    throw new GitError(`worktree ${worktree} has unresolved merge conflicts in ${unresolved.join(", ")}; resolve them and commit`, [], 1, "");
  }
  await git(worktree, ["add", "--all"]);
  gitCrashPoint("commit:staged");
  const staged = await git(worktree, ["diff", "--cached", "--quiet"], { ok: [1] });
  const merging = await resolveCommit(worktree, "MERGE_HEAD");
  if (staged.code === 0 && !merging) return { commit: null, head: await resolveCommit(worktree, "HEAD") };
  await git(worktree, committingArgs(worktree, ["commit", "--quiet", "--no-verify", "--no-gpg-sign", "--no-edit", "-m", message]));
  const head = await resolveCommit(worktree, "HEAD");
  return { commit: head ?? null, head };
}

/** Lines git writes into a conflicted file (`<<<<<<< ours`, `=======`, `>>>>>>> theirs`). */
function hasConflictMarkers(path: string): boolean {
  const text = readText(path);
  return text !== undefined && /^(<{7} |={7}$|>{7} )/m.test(text);
}

async function breakStaleIndexLock(worktree: string): Promise<void> {
  const gitDir = (await git(worktree, ["rev-parse", "--absolute-git-dir"])).stdout.trim();
  breakStaleLock(join(gitDir, "index.lock"));
}

/**
 * Session worktrees of this workspace that git or the disk still holds, with the session each
 * belongs to (doctor: stale ones; team clean: what to remove). Scratch, trash and set-aside dirs
 * are listed too (`kind`), so nothing under the worktrees dir goes unaccounted for.
 */
export async function workspaceWorktrees(
  repo: Repo,
  workspace: string,
): Promise<Array<{ path: string; name: string; kind: "session" | "scratch" | "leftover"; registered: boolean; ref?: string }>> {
  const dir = worktreesDir(workspace);
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {}
  const registered = new Map((await listWorktrees(repo)).filter((w) => w.path.startsWith(`${real}/`)).map((w) => [w.path, w]));
  const names = new Set<string>([...registered.keys()].map((p) => p.slice(real.length + 1)));
  for (const n of existsSync(real) ? readdirSync(real) : []) if (n !== ".gitignore" && !/\.(log|pid)$/.test(n)) names.add(n);
  return [...names].sort().map((name) => {
    const path = join(real, name);
    const w = registered.get(path);
    const kind = name.startsWith(".verify-") ? "scratch" : name.startsWith(".") || name.includes(".orphan-") ? "leftover" : "session";
    return { path, name, kind, registered: !!w, ref: w?.ref };
  });
}

/**
 * Delete a session branch that is merged into `integration` (its tip an ancestor of the
 * integration tip) and checked out nowhere; anything else is kept. Compare-and-swap on its tip.
 */
export async function deleteBranchIfMerged(repo: Repo, branch: string, integration: string): Promise<"deleted" | "unmerged" | "checked-out" | "absent"> {
  const ref = branchRef(branch);
  const tip = await resolveCommit(repo.root, ref);
  if (!tip) return "absent";
  const into = await resolveCommit(repo.root, branchRef(integration));
  if (!into || !(await isAncestor(repo.root, tip, into))) return "unmerged";
  if ((await listWorktrees(repo)).some((w) => w.ref === ref)) return "checked-out";
  const r = await git(repo.root, ["update-ref", "-m", `claude-wrapper: ${branch} merged into ${integration}`, "-d", ref, tip], { ok: [128] });
  return r.code === 0 ? "deleted" : "unmerged";
}

/** Every branch we made (`claude-wrapper/…`): team branches and session branches, by name. */
export async function listOurBranches(repo: Repo): Promise<string[]> {
  const r = await git(repo.root, ["for-each-ref", "--format=%(refname)", `refs/heads/${BRANCH_PREFIX}`]);
  return r.stdout.split("\n").filter(Boolean).map((ref) => ref.slice("refs/heads/".length)).sort();
}
