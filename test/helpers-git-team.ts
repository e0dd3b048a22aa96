/**
 * A team in a git project, through real processes: a sandbox (fake agent CLIs first on PATH)
 * whose project root is a git repository with history and a user mid-work, `team start` through
 * the CLI, and the facts a test checks afterwards (branches, the team branch's files, worktrees).
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Sandbox, readJsonFile, run, sandbox } from "./helpers";
import { git } from "./helpers-git";

export { checkoutState, git } from "./helpers-git";

/**
 * A sandbox whose project root is a git repository: `a.txt` (three lines) and `src/keep.txt`
 * committed on main, then the user mid-work: a staged file, an unstaged edit, an untracked file.
 */
export function gitSandbox(prefix = "cw-git-team-"): Sandbox {
  const sb = sandbox(prefix);
  const root = sb.root;
  git(root, "init", "-q", "-b", "main");
  git(root, "config", "user.name", "Test User");
  git(root, "config", "user.email", "test@example.com");
  // The fake agents' behaviour scripts live in the project root: not the project's files.
  writeFileSync(join(root, ".git/info/exclude"), ".fake-claude/\n");
  writeFileSync(join(root, "a.txt"), "line one\nline two\nline three\n");
  mkdirSync(join(root, "src"));
  writeFileSync(join(root, "src/keep.txt"), "keep\n");
  git(root, "add", ".");
  git(root, "commit", "-q", "-m", "initial");
  writeFileSync(join(root, "staged.txt"), "the user's staged file\n");
  git(root, "add", "staged.txt");
  writeFileSync(join(root, "src/keep.txt"), "keep, edited by the user\n");
  writeFileSync(join(root, "notes.txt"), "untracked notes\n");
  return sb;
}

/** `team start` through the CLI; answers the team branch. */
export async function startGitTeam(sb: Sandbox, args: string[]): Promise<string> {
  const r = await run(sb, ["team", "start", "Build it", ...args, "--json"]);
  if (r.code !== 0) throw new Error(`team start exited ${r.code}: ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  if (!out.branch) throw new Error(`team start made no team branch: ${r.stdout}`);
  return out.branch as string;
}

/** A session's session.json (live or archived), by its name. */
export function recordOf(sb: Sandbox, name: string): any {
  for (const d of readdirSync(sb.workspace)) {
    try {
      const rec = readJsonFile(join(sb.workspace, d, "session.json"));
      if (rec.name === name) return rec;
    } catch {}
  }
  return undefined;
}

/** The session dirs (by name) of the worktrees dir, dot entries (scratch, trash) included. */
export function worktreeNames(sb: Sandbox): string[] {
  try {
    return readdirSync(join(sb.workspace, ".worktrees")).filter((n) => n !== ".gitignore" && !/\.(log|pid)$/.test(n)).sort();
  } catch {
    return [];
  }
}

/** Branches under claude-wrapper/. */
export function ourBranches(sb: Sandbox): string[] {
  const out = git(sb.root, "for-each-ref", "--format=%(refname:short)", "refs/heads/claude-wrapper/");
  return out.split("\n").filter(Boolean).sort();
}

/** inotify watches a process holds now (each fd's `inotify wd:` lines). */
export function inotifyWatches(pid: number): number {
  let n = 0;
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return -1;
  }
  for (const fd of fds) {
    try {
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
      n += (info.match(/^inotify wd:/gm) ?? []).length;
    } catch {}
  }
  return n;
}

/**
 * Behaviour-script lines for the fake manager: end its turn until it has been told that `n`
 * teammates completed, then complete its tasks.
 */
export function managerWaitsFor(n: number): string {
  return `[ "$(grep -c 'completed all its tasks' "$dir/instructions.md")" -ge ${n} ] && complete_all_tasks; result 0.01`;
}

/**
 * A fake agent's answer to being sent back with a merge conflict, as its instructions say: merge
 * the team branch into its own, settle the conflicted file with `text`, commit, complete.
 */
export function resolveConflictBy(text: string): string {
  return `if grep -q "could not be merged" "$dir/instructions.md"; then
  b=$(grep -o 'git merge claude-wrapper/[0-9]*' "$dir/instructions.md" | head -n1 | cut -d' ' -f3)
  git merge -q "$b" >/dev/null 2>&1
  printf '${text}' > a.txt
  git add -A && git commit -q --no-edit
  complete_all_tasks; result 0.02; exit 0
fi`;
}
