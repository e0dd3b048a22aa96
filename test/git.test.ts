/**
 * core/git against real git in temp repositories: the team's branch, a worktree per session,
 * merges without a checkout (in order, conflicts, --verify), repeatability, the steps the
 * supervisor will drive, and the user's checkout byte-identical throughout. `team start`'s git
 * part runs through the CLI. Crashes at each step: git-crash.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { GitError, findRepo } from "../core/git/repo";
import { mergeBranch } from "../core/git/merge";
import {
  addWorktree,
  commitAll,
  deleteBranchIfMerged,
  listWorktrees,
  removeWorktree,
  workspaceWorktrees,
  worktreesDir,
} from "../core/git/worktree";
import {
  ensureSessionWorktree,
  integrateSession,
  mergeLabel,
  mergedNotice,
  nextGitStep,
  removeSessionWorktree,
  reopenInstructions,
  reopenTaskTitle,
  type SessionGit,
} from "../core/git/integrate";
import { BUN, FIXTURES, readJsonFile, run, sandboxes } from "./helpers";
import { checkoutState, git, made, project, removeMade, show, tip, worktreeDirs } from "./helpers-git";

afterEach(removeMade);
const box = sandboxes("cw-git-cli-");
afterEach(box.cleanup);

describe("worktrees and merges", () => {
  test("two sessions editing different files are both merged, in order, and the user's checkout is untouched", async () => {
    const t = await project();
    const before = checkoutState(t.root);
    const forkPoint = tip(t);
    const w1 = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-1", from: t.integration });
    const w2 = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-2", from: t.integration });
    expect(w1).toMatchObject({ branch: "claude-wrapper/software-engineer-1", tip: forkPoint, created: true });
    expect(w1.path).toBe(join(t.workspace, ".worktrees", "software-engineer-1"));
    expect(git(w1.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe("claude-wrapper/software-engineer-1");
    // The worktree holds the committed project, not the user's uncommitted state.
    expect(readFileSync(join(w1.path, "src/keep.txt"), "utf8")).toBe("keep\n");
    expect(existsSync(join(w1.path, "staged.txt"))).toBe(false);

    writeFileSync(join(w1.path, "one.txt"), "from engineer one\n");
    mkdirSync(join(w2.path, "lib"));
    writeFileSync(join(w2.path, "lib/two.txt"), "from engineer two\n");
    const c1 = await commitAll(w1.path, "engineer one's work");
    const c2 = await commitAll(w2.path, "engineer two's work");
    expect(c1.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await commitAll(w1.path, "nothing new")).toEqual({ commit: null, head: c1.commit! });

    const m1 = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w1.branch });
    expect(m1).toEqual({ state: "merged", commit: c1.commit!, files: ["one.txt"], fastForward: true, already: false });
    const m2 = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w2.branch, message: "engineer-2: lib" });
    expect(m2).toMatchObject({ state: "merged", files: ["lib/two.txt"], fastForward: false, already: false });
    if (m2.state !== "merged") throw new Error("unreachable");
    expect(tip(t)).toBe(m2.commit);
    // Merged in order: the second merge's first parent is the first session's work.
    expect(git(t.root, "rev-list", "--parents", "-n", "1", m2.commit).split(" ")).toEqual([m2.commit, c1.commit!, c2.commit!]);
    expect(git(t.root, "log", "-1", "--format=%B", m2.commit)).toBe(`Merge branch '${w2.branch}' into ${t.integration}\n\nengineer-2: lib`);
    expect(show(t, "one.txt")).toBe("from engineer one");
    expect(show(t, "lib/two.txt")).toBe("from engineer two");
    expect(git(t.root, "rev-parse", "HEAD")).toBe(forkPoint);
    expect(checkoutState(t.root)).toEqual(before);
  });

  test("two sessions editing the same line: the second conflicts (files named), resolves by merging the team branch in, then merges", async () => {
    const t = await project();
    const before = checkoutState(t.root);
    const w1 = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-1", from: t.integration });
    const w2 = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-2", from: t.integration });
    writeFileSync(join(w1.path, "a.txt"), "line one\nline two, says one\nline three\n");
    writeFileSync(join(w2.path, "a.txt"), "line one\nline two, says two\nline three\n");
    writeFileSync(join(w2.path, "b.txt"), "no conflict here\n");
    await commitAll(w1.path, "one");
    await commitAll(w2.path, "two");
    expect((await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w1.branch })).state).toBe("merged");
    const afterFirst = tip(t);

    const conflict = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w2.branch });
    expect(conflict).toEqual({ state: "conflict", files: ["a.txt"] });
    expect(tip(t)).toBe(afterFirst);

    // What the author is told to do: merge the team branch in its worktree, resolve, commit.
    const r = Bun.spawnSync(["git", "merge", "-q", t.integration], { cwd: w2.path, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(1);
    // An unfinished merge is never committed with its markers.
    await expect(commitAll(w2.path, "too early")).rejects.toThrow(/unresolved merge conflicts in a\.txt/);
    writeFileSync(join(w2.path, "a.txt"), "line one\nline two, says one and two\nline three\n");
    const resolved = await commitAll(w2.path, "resolve");
    expect(git(w2.path, "rev-list", "--parents", "-n", "1", "HEAD").split(" ")).toHaveLength(3);

    const m = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w2.branch });
    expect(m).toMatchObject({ state: "merged", commit: resolved.commit!, fastForward: true, already: false });
    if (m.state === "merged") expect(m.files.sort()).toEqual(["a.txt", "b.txt"]);
    expect(show(t, "a.txt")).toBe("line one\nline two, says one and two\nline three");
    expect(checkoutState(t.root)).toEqual(before);
  });

  test("--verify runs on the merge result in a scratch worktree: red keeps the branch where it was, green lets it move", async () => {
    const t = await project();
    const before = checkoutState(t.root);
    const w1 = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-1", from: t.integration });
    const w2 = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-2", from: t.integration });
    writeFileSync(join(w1.path, "one.txt"), "1\n");
    await commitAll(w1.path, "one");
    await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w1.branch });
    const afterFirst = tip(t);

    // Passes only on a tree holding both sessions' files and a green marker: the merge result.
    const verify = 'echo "checking in $(pwd)"; test -f one.txt && test -f two.txt || exit 3; grep -q green status.txt || { echo "status is not green"; exit 4; }';
    writeFileSync(join(w2.path, "two.txt"), "2\n");
    writeFileSync(join(w2.path, "status.txt"), "red\n");
    await commitAll(w2.path, "two, red");
    let steps = 0;
    const red = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w2.branch, verify, onStep: () => void steps++ });
    expect(red).toMatchObject({ state: "verify-failed", exitCode: 4, timedOut: false });
    if (red.state !== "verify-failed") throw new Error("unreachable");
    expect(red.tail).toContain("status is not green");
    expect(red.tail).toContain(`checking in ${join(t.workspace, ".worktrees", ".verify-claude-wrapper-software-engineer-2")}`);
    expect(steps).toBe(1);
    expect(tip(t)).toBe(afterFirst);
    // The scratch worktree is gone, from disk and from git's list.
    expect(worktreeDirs(t)).toEqual(["software-engineer-1", "software-engineer-2"]);
    expect((await listWorktrees(t.repo)).map((w) => w.path)).toEqual([t.root, w1.path, w2.path]);

    writeFileSync(join(w2.path, "status.txt"), "green\n");
    await commitAll(w2.path, "two, green");
    const green = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w2.branch, verify });
    expect(green).toMatchObject({ state: "merged", fastForward: false });
    if (green.state === "merged") expect(green.files.sort()).toEqual(["status.txt", "two.txt"]);
    expect(worktreeDirs(t)).toEqual(["software-engineer-1", "software-engineer-2"]);
    expect(checkoutState(t.root)).toEqual(before);
  });

  test("a merged branch is never merged twice (fast-forward or merge commit), and answers the commit that brought it in", async () => {
    const t = await project();
    const w1 = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "intern-1", from: t.integration });
    const w2 = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "intern-2", from: t.integration });
    writeFileSync(join(w1.path, "one.txt"), "1\n");
    writeFileSync(join(w2.path, "two.txt"), "2\n");
    await commitAll(w1.path, "one");
    await commitAll(w2.path, "two");
    const m1 = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w1.branch });
    const m2 = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w2.branch });
    const count = git(t.root, "rev-list", "--count", t.integration);
    const again1 = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w1.branch });
    const again2 = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w2.branch });
    expect(again1).toEqual({ ...m1, already: true } as typeof again1);
    expect(again2).toEqual({ ...m2, already: true } as typeof again2);
    expect(git(t.root, "rev-list", "--count", t.integration)).toBe(count);
    // A branch with no commits of its own is merged from the start.
    const w3 = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "intern-3", from: t.integration });
    expect(await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w3.branch })).toMatchObject({ state: "merged", already: true });
    expect(git(t.root, "rev-list", "--count", t.integration)).toBe(count);
  });

  test("a lock file a killed git left (older than a minute) is broken; a fresh one is someone at work", async () => {
    const t = await project();
    const w = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "intern-5", from: t.integration });
    const old = new Date(Date.now() - 5 * 60_000);
    const indexLock = join(t.repo.commonDir, "worktrees", "intern-5", "index.lock");
    writeFileSync(indexLock, "");
    writeFileSync(join(w.path, "x.txt"), "x\n");
    await expect(commitAll(w.path, "x")).rejects.toThrow(/index\.lock/);
    utimesSync(indexLock, old, old);
    expect((await commitAll(w.path, "x")).commit).toMatch(/^[0-9a-f]{40}$/);

    const refLock = join(t.repo.commonDir, "refs", "heads", `${t.integration}.lock`);
    writeFileSync(refLock, "");
    const opts = { repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w.branch, fastForward: false };
    await expect(mergeBranch(opts)).rejects.toThrow(/cannot lock ref/);
    expect(tip(t)).toBe(git(t.root, "rev-parse", "main"));
    utimesSync(refLock, old, old);
    expect((await mergeBranch(opts)).state).toBe("merged");
    expect(existsSync(refLock)).toBe(false);
  });

  test("a merge waits (blocked) while the team branch is checked out somewhere, rather than moving it under that checkout", async () => {
    const t = await project();
    const w1 = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-1", from: t.integration });
    writeFileSync(join(w1.path, "one.txt"), "1\n");
    await commitAll(w1.path, "one");
    const elsewhere = join(t.root, "..", `${relative(tmpdir(), t.root)}-look`);
    made.push(elsewhere);
    git(t.root, "worktree", "add", "-q", elsewhere, t.integration);
    const r = await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w1.branch });
    expect(r.state).toBe("blocked");
    if (r.state === "blocked") expect(r.reason).toContain(elsewhere);
    git(elsewhere, "switch", "-q", "--detach");
    expect((await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: w1.branch })).state).toBe("merged");
  });

  test("addWorktree is repeatable, repairs what a crash or a person left, and never re-forks a branch", async () => {
    const t = await project();
    const before = checkoutState(t.root);
    const opts = { repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-7", from: t.integration };
    const w = await addWorktree(opts);
    expect((await addWorktree(opts)).created).toBe(false);
    writeFileSync(join(w.path, "work.txt"), "committed work\n");
    const { commit } = await commitAll(w.path, "work");

    // Its dir deleted: git still lists it; re-adding checks the branch out again, commits kept.
    rmSync(w.path, { recursive: true, force: true });
    const again = await addWorktree(opts);
    expect(again).toMatchObject({ created: true, tip: commit! });
    expect(readFileSync(join(w.path, "work.txt"), "utf8")).toBe("committed work\n");

    // Locked by a person: theirs, left as it is.
    git(t.root, "worktree", "lock", "--reason", "mine", w.path);
    writeFileSync(join(w.path, "wip.txt"), "uncommitted\n");
    expect((await addWorktree(opts)).created).toBe(false);
    expect(readFileSync(join(w.path, "wip.txt"), "utf8")).toBe("uncommitted\n");
    git(t.root, "worktree", "unlock", w.path);
    rmSync(join(w.path, "wip.txt"));

    // Half made ("initializing" is git's own lock while a worktree is being added).
    git(t.root, "worktree", "lock", "--reason", "initializing", w.path);
    rmSync(join(w.path, "a.txt"));
    expect((await addWorktree(opts)).created).toBe(true);
    expect(existsSync(join(w.path, "a.txt"))).toBe(true);

    // A dir git does not know, holding something: set aside, not deleted.
    git(t.root, "worktree", "remove", "--force", w.path);
    mkdirSync(w.path);
    writeFileSync(join(w.path, "mine.txt"), "a person's file\n");
    expect((await addWorktree(opts)).created).toBe(true);
    const orphan = worktreeDirs(t).find((n) => n.startsWith("software-engineer-7.orphan-"));
    expect(orphan).toBeDefined();
    expect(readFileSync(join(worktreesDir(t.workspace), orphan!, "mine.txt"), "utf8")).toBe("a person's file\n");
    expect(tip(t, w.branch)).toBe(commit!);

    // On another branch: refused with the fix, nothing changed.
    git(w.path, "switch", "-q", "-c", "elsewhere");
    await expect(addWorktree(opts)).rejects.toThrow(/is on refs\/heads\/elsewhere, not claude-wrapper\/software-engineer-7/);
    expect(checkoutState(t.root)).toEqual(before);
  });

  test("removeWorktree keeps the branch, refuses to lose uncommitted work, and is repeatable", async () => {
    const t = await project();
    const w = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "intern-4", from: t.integration });
    writeFileSync(join(w.path, "draft.txt"), "not committed\n");
    await expect(removeWorktree(t.repo, w.path)).rejects.toBeInstanceOf(GitError);
    expect(existsSync(join(w.path, "draft.txt"))).toBe(true);
    const { commit } = await commitAll(w.path, "draft");
    git(t.root, "worktree", "lock", "--reason", "keep it", w.path);
    await expect(removeWorktree(t.repo, w.path)).rejects.toThrow(/is locked \(keep it\)/);
    git(t.root, "worktree", "unlock", w.path);
    expect(await removeWorktree(t.repo, w.path)).toEqual({ removed: true });
    expect(existsSync(w.path)).toBe(false);
    expect(worktreeDirs(t)).toEqual([]);
    expect(tip(t, w.branch)).toBe(commit!);
    expect((await listWorktrees(t.repo)).map((x) => x.path)).toEqual([t.root]);
    expect(await removeWorktree(t.repo, w.path)).toEqual({ removed: false });
  });

  test("leftovers are accounted for, and only merged branches checked out nowhere are deleted", async () => {
    const t = await project();
    const a = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "intern-1", from: t.integration });
    const b = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "intern-2", from: t.integration });
    writeFileSync(join(a.path, "a.txt"), "merged\n");
    writeFileSync(join(b.path, "b.txt"), "not merged\n");
    await commitAll(a.path, "a");
    await commitAll(b.path, "b");
    await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: a.branch });
    mkdirSync(join(worktreesDir(t.workspace), "intern-3.orphan-1"));
    rmSync(b.path, { recursive: true, force: true });
    const seen = await workspaceWorktrees(t.repo, t.workspace);
    expect(seen.map(({ name, kind, registered }) => ({ name, kind, registered }))).toEqual([
      { name: "intern-1", kind: "session", registered: true },
      { name: "intern-2", kind: "session", registered: true },
      { name: "intern-3.orphan-1", kind: "leftover", registered: false },
    ]);
    expect(await deleteBranchIfMerged(t.repo, a.branch, t.integration)).toBe("checked-out");
    expect(await deleteBranchIfMerged(t.repo, b.branch, t.integration)).toBe("unmerged");
    await removeWorktree(t.repo, a.path);
    expect(await deleteBranchIfMerged(t.repo, a.branch, t.integration)).toBe("deleted");
    expect(await deleteBranchIfMerged(t.repo, a.branch, t.integration)).toBe("absent");
    expect(show(t, "a.txt")).toBe("merged");
  });

  test("the project root in a subdirectory of the repository: the agent's cwd is the same place in its worktree", async () => {
    const t = await project();
    const workspace = join(t.root, "src", ".database");
    mkdirSync(workspace);
    const repo = findRepo(join(t.root, "src"))!;
    expect(repo).toMatchObject({ toplevel: t.root, prefix: "src" });
    const w = await addWorktree({ repo, workspace, sessionId: "software-engineer-9", from: t.integration });
    expect(w.cwd).toBe(join(w.path, "src"));
    expect(readFileSync(join(w.cwd, "keep.txt"), "utf8")).toBe("keep\n");
  });

  test("commits get an identity only where the repository has none", async () => {
    const t = await project({ identity: false });
    const home = mkdtempSync(join(tmpdir(), "cw-git-home-"));
    made.push(home);
    const env = { HOME: home, XDG_CONFIG_HOME: home, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: join(home, "none") };
    const w = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-3", from: t.integration });
    writeFileSync(join(w.path, "x.txt"), "x\n");
    const stepIn = (name: string, opts: Record<string, unknown>) => {
      const r = Bun.spawnSync([BUN, join(FIXTURES, "git-step.ts"), name, JSON.stringify(opts)], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(r.stderr.toString() + r.stdout.toString());
      return JSON.parse(r.stdout.toString());
    };
    const c = stepIn("commit", { root: t.root, worktree: w.path, message: "x" });
    expect(git(t.root, "log", "-1", "--format=%an <%ae>", c.commit)).toBe("claude-wrapper <claude-wrapper@localhost>");
    // With the repository's own identity, ours is never put in its place.
    git(t.root, "config", "user.name", "Repo Owner");
    git(t.root, "config", "user.email", "owner@example.com");
    writeFileSync(join(w.path, "y.txt"), "y\n");
    const d = stepIn("commit", { root: t.root, worktree: w.path, message: "y" });
    expect(git(t.root, "log", "-1", "--format=%an <%ae>", d.commit)).toBe("Repo Owner <owner@example.com>");
  });
});

describe("integrate: the steps the supervisor will drive", () => {
  const g = (over: Partial<SessionGit>): SessionGit => ({ branch: "b", worktree: "/w", cwd: "/w", forkedFrom: "f", merge: "unmerged", attempt: 0, ...over });
  test.each([
    ["no worktrees", { worktrees: false, complete: true, agentRunning: false, git: undefined }, "none"],
    ["claimed: worktree first", { worktrees: true, complete: false, agentRunning: false, git: undefined }, "worktree"],
    ["working", { worktrees: true, complete: false, agentRunning: true, git: g({}) }, "none"],
    ["complete, agent still ending its turn", { worktrees: true, complete: true, agentRunning: true, git: g({}) }, "none"],
    ["complete: merge", { worktrees: true, complete: true, agentRunning: false, git: g({}) }, "merge"],
    ["crashed mid-verify: merge again", { worktrees: true, complete: true, agentRunning: false, git: g({ merge: "verifying" }) }, "merge"],
    ["blocked: merge again", { worktrees: true, complete: true, agentRunning: false, git: g({ merge: "blocked" }) }, "merge"],
    ["conflict not yet told", { worktrees: true, complete: true, agentRunning: false, git: g({ merge: "conflict", attempt: 1 }) }, "reopen"],
    ["told, task half written (looks incomplete)", { worktrees: true, complete: false, agentRunning: false, git: g({ merge: "verify-failed", attempt: 2, reopened: 1 }) }, "reopen"],
    ["told, working on it", { worktrees: true, complete: false, agentRunning: true, git: g({ merge: "conflict", attempt: 1, reopened: 1 }) }, "none"],
    ["told, complete again: merge again", { worktrees: true, complete: true, agentRunning: false, git: g({ merge: "conflict", attempt: 1, reopened: 1 }) }, "merge"],
    ["merged: remove the worktree", { worktrees: true, complete: true, agentRunning: false, git: g({ merge: "merged" }) }, "remove-worktree"],
    ["merged and cleaned", { worktrees: true, complete: true, agentRunning: false, git: g({ merge: "merged", worktreeRemoved: true }) }, "none"],
  ] as const)("%s", (_what, input, expected) => {
    expect(nextGitStep(input as Parameters<typeof nextGitStep>[0])).toBe(expected);
  });

  test("a session's round trip: worktree, uncommitted work committed and merged, conflict told back, resolved, merged, cleaned", async () => {
    const t = await project();
    const before = checkoutState(t.root);
    const ctx = { repo: t.repo, workspace: t.workspace, integration: t.integration };
    const s1 = await ensureSessionWorktree(ctx, "software-engineer-1");
    const s2 = await ensureSessionWorktree(ctx, "software-engineer-2");
    expect(s1).toMatchObject({ branch: "claude-wrapper/software-engineer-1", merge: "unmerged", attempt: 0, forkedFrom: tip(t) });
    writeFileSync(join(s1.worktree, "a.txt"), "ONE\n");
    writeFileSync(join(s2.worktree, "a.txt"), "TWO\n");
    // Neither agent committed: the step commits what they left.
    const m1 = await integrateSession(ctx, "software-engineer-1", s1);
    expect(m1).toMatchObject({ merge: "merged", files: ["a.txt"] });
    expect(mergedNotice(m1, t.integration)).toBe(`Its branch ${s1.branch} is merged into ${t.integration} as ${m1.commit!.slice(0, 12)}, changing 1 file:\n- a.txt`);
    const m2 = await integrateSession(ctx, "software-engineer-2", s2);
    expect(m2).toMatchObject({ merge: "conflict", files: ["a.txt"], attempt: 1 });
    expect(nextGitStep({ worktrees: true, complete: true, agentRunning: false, git: m2 })).toBe("reopen");
    expect(reopenTaskTitle(m2)).toBe("Resolve the merge conflict with the integration branch (attempt 1)");
    const told = reopenInstructions(m2, t.integration);
    expect(told).toContain("`a.txt`");
    expect(told).toContain(`git merge ${t.integration}`);
    expect(told).toContain(s2.cwd);

    Bun.spawnSync(["git", "merge", "-q", t.integration], { cwd: s2.worktree, stdout: "ignore", stderr: "ignore" });
    writeFileSync(join(s2.worktree, "a.txt"), "ONE and TWO\n");
    const m3 = await integrateSession(ctx, "software-engineer-2", { ...m2, reopened: 1 });
    expect(m3).toMatchObject({ merge: "merged", attempt: 1 });
    expect(mergeLabel(m3)).toBe(`merged ${m3.commit!.slice(0, 12)}`);
    expect(mergeLabel(m2)).toBe("conflict");
    expect(show(t, "a.txt")).toBe("ONE and TWO");
    expect(nextGitStep({ worktrees: true, complete: true, agentRunning: false, git: m3 })).toBe("remove-worktree");
    expect(await removeSessionWorktree(t.repo, m3)).toMatchObject({ worktreeRemoved: true });
    expect(existsSync(s2.worktree)).toBe(false);
    expect(checkoutState(t.root)).toEqual(before);
  });
});

describe("the fake claude edits and commits in its cwd", () => {
  test("edit_file and commit_all from a behaviour script, run in a worktree", async () => {
    const t = await project();
    const w = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-5", from: t.integration });
    const dir = join(t.workspace, "software-engineer-5");
    const behaviours = join(t.root, "..", `${relative(tmpdir(), t.root)}-behaviours`);
    made.push(behaviours);
    mkdirSync(dir);
    mkdirSync(behaviours);
    writeFileSync(join(dir, "session.json"), `{\n  "name": "engineer-5",\n  "status": "active"\n}\n`);
    writeFileSync(join(behaviours, "engineer-5.sh"), 'edit_file src/new/feature.txt "a feature"\ncommit_all "Add the feature"\nresult 0.01\n');
    const r = Bun.spawnSync([join(FIXTURES, "claude"), "-p", "go"], {
      cwd: w.cwd,
      env: { ...process.env, FAKE_CLAUDE_DIR: behaviours, CLAUDE_WRAPPER_SESSION_DIR: dir, CLAUDE_WRAPPER_SESSION_ID: "software-engineer-5", CLAUDE_WRAPPER_WORKSPACE: t.workspace },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toContain('"type":"result"');
    expect(git(t.root, "log", "-1", "--format=%s", w.branch)).toBe("Add the feature");
    expect(show(t, "src/new/feature.txt", w.branch)).toBe("a feature");
    expect(git(w.path, "status", "--porcelain")).toBe("");
  });
});

describe("team start in a git project", () => {
  function gitSandbox(init: "commit" | "empty" | "none") {
    const sb = box();
    if (init !== "none") {
      git(sb.root, "init", "-q", "-b", "trunk");
      if (init === "commit") {
        writeFileSync(join(sb.root, "README.md"), "project\n");
        git(sb.root, "add", ".");
        git(sb.root, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first");
        writeFileSync(join(sb.root, "README.md"), "project, edited by the user\n");
      }
    }
    return sb;
  }

  test("creates the team branch from HEAD, records it, says its name, and leaves the checkout as it was", async () => {
    const sb = gitSandbox("commit");
    const before = checkoutState(sb.root);
    const head = git(sb.root, "rev-parse", "HEAD");
    const r = await run(sb, ["team", "start", "Ship it", "--engineers", "1", "--verify", "npm test"]);
    expect(r.code).toBe(0);
    const team = readJsonFile(join(sb.workspace, ".team.json"));
    expect(team).toMatchObject({ worktrees: true, branch: `claude-wrapper/${team.id}`, baseCommit: head, baseRef: "trunk", verify: "npm test" });
    expect(git(sb.root, "rev-parse", `refs/heads/${team.branch}`)).toBe(head);
    expect(r.stdout).toContain(`Team branch: ${team.branch}, from trunk at ${head.slice(0, 12)}`);
    expect(r.stdout).toContain(`git merge ${team.branch}`);
    expect(r.stdout).toContain("once `npm test` passes");
    expect(readFileSync(join(sb.workspace, ".gitignore"), "utf8")).toBe("*\n");
    expect(checkoutState(sb.root)).toEqual(before);

    const sb2 = gitSandbox("commit");
    const j = await run(sb2, ["team", "start", "Ship it", "--json", "--no-worktrees"]);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ worktrees: false, branch: null, verify: null });
    expect(readJsonFile(join(sb2.workspace, ".team.json")).worktrees).toBe(false);
    expect(git(sb2.root, "branch", "--list", "claude-wrapper/*")).toBe("");
  });

  test("a repository with no commit yet is refused in one line, before anything is written", async () => {
    const sb = gitSandbox("empty");
    const r = await run(sb, ["team", "start", "Ship it"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("has no commit yet");
    expect(r.stderr).toContain("--no-worktrees");
    expect(existsSync(sb.workspace)).toBe(false);
    expect((await run(sb, ["team", "start", "Ship it", "--no-worktrees"])).code).toBe(0);
  });

  test("a project that is not a git repository behaves as before; --verify there, or with --no-worktrees, is a usage mistake", async () => {
    const sb = gitSandbox("none");
    for (const args of [["--verify", "npm test"], ["--verify", "  "], ["--no-worktrees", "--verify", "true"]]) {
      const bad = await run(sb, ["team", "start", "Ship it", ...args]);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split("\n")).toHaveLength(1);
      expect(existsSync(sb.workspace)).toBe(false);
    }
    const r = await run(sb, ["team", "start", "Ship it", "--engineers", "2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Agents share the project root");
    expect(readJsonFile(join(sb.workspace, ".team.json")).worktrees).toBe(false);
    expect(readFileSync(join(sb.workspace, ".gitignore"), "utf8")).toBe("*\n");
  });
});
