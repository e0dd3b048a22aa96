import { realpathSync, statSync, unlinkSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * Running git for the team. Every call is an argv array (never a shell), in a clean environment
 * (no prompt can stall the supervisor, no inherited GIT_DIR / GIT_INDEX_FILE can point a command
 * at the user's checkout), and only these kinds of commands ever run against the project root:
 * queries, ref updates of our own branches, object writes, and `worktree add/remove/prune`, which
 * write .git metadata and the new dir. Nothing here runs checkout, reset, add, commit or status
 * in the project root, so the user's working tree, index, HEAD and current branch never change.
 */

/** A git command that failed: the command, its exit code and the last line git said. */
export class GitError extends Error {
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "GitError";
  }
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Exit codes that are answers, not failures (e.g. 1 for merge-tree's "conflicts"). */
  ok?: number[];
  /** Extra environment for this call. */
  env?: Record<string, string>;
}

/**
 * Variables that redirect git to another repository, index or object store
 * (`git rev-parse --local-env-vars`). Inherited from a hook or a user's shell they would make a
 * command meant for an agent's worktree act on the user's checkout.
 */
const LOCAL_ENV_VARS = [
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_CONFIG",
  "GIT_CONFIG_PARAMETERS",
  "GIT_CONFIG_COUNT",
  "GIT_OBJECT_DIRECTORY",
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_IMPLICIT_WORK_TREE",
  "GIT_GRAFT_FILE",
  "GIT_INDEX_FILE",
  "GIT_NO_REPLACE_OBJECTS",
  "GIT_REPLACE_REF_BASE",
  "GIT_PREFIX",
  "GIT_SHALLOW_FILE",
  "GIT_COMMON_DIR",
];

/**
 * An environment without the variables that point git elsewhere: what an agent in a worktree
 * gets, so its `git commit` lands on its branch, never in the checkout such a variable names.
 */
export function withoutGitRedirects(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  for (const k of LOCAL_ENV_VARS) delete out[k];
  return out;
}

/** The environment git runs in: ours minus repo redirections, never prompting, C messages. */
export function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of LOCAL_ENV_VARS) delete env[k];
  // No credential or passphrase prompt may wait on a terminal nobody watches; no index refresh
  // as a side effect of a read; messages in one language, so errors read the same everywhere.
  env.GIT_TERMINAL_PROMPT = "0";
  env.GIT_OPTIONAL_LOCKS = "0";
  env.LC_ALL = "C";
  return { ...env, ...extra };
}

/** An identity for commits we make, given only where the repo has none (so git would refuse). */
const FALLBACK_NAME = "claude-wrapper";
const FALLBACK_EMAIL = "claude-wrapper@localhost";
const identityCache = new Map<string, string[]>();

/**
 * `-c user.name=… -c user.email=…` for whichever of the two neither the repo's config nor the
 * environment provides; [] when the repo has an identity. Asked once per directory.
 */
export function identityArgs(cwd: string): string[] {
  const cached = identityCache.get(cwd);
  if (cached) return cached;
  const has = (key: string, envs: string[]) => {
    if (envs.some((e) => process.env[e])) return true;
    const r = Bun.spawnSync(["git", "config", "--get", key], { cwd, env: gitEnv(), stdin: "ignore", stdout: "pipe", stderr: "ignore" });
    return r.exitCode === 0 && r.stdout.toString().trim() !== "";
  };
  const args: string[] = [];
  if (!has("user.name", ["GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"])) args.push("-c", `user.name=${FALLBACK_NAME}`);
  if (!has("user.email", ["GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL", "EMAIL"])) args.push("-c", `user.email=${FALLBACK_EMAIL}`);
  identityCache.set(cwd, args);
  return args;
}

/** What git said that matters: its first `fatal:`/`error:` line (hints follow it), else its last line. */
export function gitSaid(stderr: string, code: number): string {
  const lines = stderr.trim().split("\n").filter(Boolean);
  return lines.find((l) => /^(fatal|error): /.test(l)) ?? lines.pop() ?? `exit ${code}`;
}

function failure(args: readonly string[], r: GitResult): GitError {
  const said = gitSaid(r.stderr, r.code);
  return new GitError(`git ${args.join(" ")}: ${said}`, args, r.code, r.stderr);
}

/** Run git in `cwd` and wait for it; throws GitError unless it exits 0 (or an `ok` code). */
export async function git(cwd: string, args: string[], opts: RunOptions = {}): Promise<GitResult> {
  const proc = Bun.spawn(["git", ...args], { cwd, env: gitEnv(opts.env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const r = { code, stdout, stderr };
  if (code !== 0 && !opts.ok?.includes(code)) throw failure(args, r);
  return r;
}

/** `git` for quick queries where blocking is cheaper than a promise (team start, listings). */
export function gitSync(cwd: string, args: string[], opts: RunOptions = {}): GitResult {
  const p = Bun.spawnSync(["git", ...args], { cwd, env: gitEnv(opts.env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const r = { code: p.exitCode ?? 1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  if (r.code !== 0 && !opts.ok?.includes(r.code)) throw failure(args, r);
  return r;
}

/** A git command that creates commits: the fallback identity where needed, our hooks off. */
export function committingArgs(cwd: string, args: string[]): string[] {
  // A user's pre-commit hook may run a linter, prompt, or take minutes; the supervisor's own
  // commits (the safety-net commit of a finished session) must not depend on it. Agents'
  // commits in their worktrees run the hooks as usual.
  return [...identityArgs(cwd), "-c", "core.hooksPath=/dev/null", ...args];
}

export interface Repo {
  /** The directory asked about (the project root). */
  root: string;
  /** The top of the working tree that holds `root`. */
  toplevel: string;
  /** `root` relative to `toplevel` ("" when they are the same): an agent's cwd in its worktree. */
  prefix: string;
  /** The repository's common git dir (shared by every worktree), absolute. */
  commonDir: string;
}

export type RepoProbe = { repo: Repo; reason?: undefined } | { repo?: undefined; reason: string };

/**
 * Is `dir` inside a git working tree? Answers the repo, or why not (no git on PATH, not a
 * repository, a bare repository, inside a .git dir) in words fit for a warning.
 */
export function probeRepo(dir: string): RepoProbe {
  if (!Bun.which("git")) return { reason: "git is not installed (not on PATH)" };
  // A project root that `team start` is about to create: ask about its nearest existing parent.
  let at = resolve(dir);
  while (!isDir(at) && dirname(at) !== at) at = dirname(at);
  const r = gitSync(at, ["rev-parse", "--is-bare-repository", "--is-inside-work-tree", "--show-toplevel", "--git-common-dir"], { ok: [128] });
  if (r.code !== 0) return { reason: `${dir} is not in a git repository` };
  const [bare, inside, toplevel, common] = r.stdout.split("\n");
  if (bare === "true") return { reason: `${dir} is a bare git repository (no working tree)` };
  if (inside !== "true" || !toplevel) return { reason: `${dir} is inside a git directory, not a working tree` };
  const root = resolve(dir);
  // git answers real paths (macOS: /private/var/… for /var/…): compare like with like.
  const realRoot = join(realpathSync(at), relative(at, root));
  return { repo: { root, toplevel, prefix: relative(toplevel, realRoot), commonDir: resolve(at, common ?? ".git") } };
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The repo at `dir`, or undefined when it is not one. */
export function findRepo(dir: string): Repo | undefined {
  return probeRepo(dir).repo;
}

/** The commit a revision names, or undefined when it names none (an unborn HEAD, no such ref). */
export async function resolveCommit(cwd: string, rev: string): Promise<string | undefined> {
  const r = await git(cwd, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`], { ok: [1, 128] });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** True when commit `a` is `b` or an ancestor of it. */
export async function isAncestor(cwd: string, a: string, b: string): Promise<boolean> {
  const r = await git(cwd, ["merge-base", "--is-ancestor", a, b], { ok: [1] });
  return r.code === 0;
}

/** Files that differ between two commits (paths relative to the repository top). */
export async function changedFiles(cwd: string, from: string, to: string): Promise<string[]> {
  const r = await git(cwd, ["diff", "--name-only", "--no-renames", "-z", from, to]);
  return r.stdout.split("\0").filter(Boolean);
}

/** `refs/heads/<branch>` for a branch name; refuses a name git would not accept as a branch. */
export function branchRef(branch: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(branch) || branch.includes("..") || branch.endsWith(".lock") || branch.endsWith("/") || branch.includes("//")) {
    throw new GitError(`not a branch name we make: ${JSON.stringify(branch)}`, [], 2, "");
  }
  return `refs/heads/${branch}`;
}

/** A git lock file older than this was left by a killed git: a running one holds it for moments. */
export const STALE_LOCK_MS = 60_000;

/** Remove `<path>` (a git `*.lock`) when it is older than STALE_LOCK_MS; true when it did. */
export function breakStaleLock(path: string): boolean {
  try {
    if (Date.now() - statSync(path).mtimeMs <= STALE_LOCK_MS) return false;
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}
