/**
 * A team in a git project, end to end through real processes (the CLI, the orchestrator, the
 * fake `claude` editing and committing in its cwd): each agent in its own worktree and branch,
 * finished work merged into the team branch one at a time, conflicts and red verify runs sent
 * back to the author and merged once resolved, the user's checkout byte-identical throughout,
 * `team clean` after. A non-git project runs as before. Crashes at each step: git-team-crash.test.ts.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkPersona, loadPersonas } from "../core/workspace/personas";
import { type Sandbox, fakeCalls, orchestratorPool, run, sandbox, sessionByName, waitFor } from "./helpers";
import { checkoutState, git, gitSandbox, inotifyWatches, managerWaitsFor, ourBranches, recordOf, resolveConflictBy, startGitTeam, worktreeNames } from "./helpers-git-team";

setDefaultTimeout(60_000);

let sb: Sandbox | undefined;
const pool = orchestratorPool();
afterEach(async () => {
  await pool.teardown(sb);
  sb = undefined;
});

const mark = (name: string) => `"$CLAUDE_WRAPPER_WORKSPACE/.mark-${name}"`;
const waitMark = (name: string) => `while [ ! -f ${mark(name)} ]; do sleep 0.05; done`;
const idOf = (s: Sandbox, name: string) => recordOf(s, name).id as string;

/** Directories below `dir`, not descending into `skip`. */
function dirsBelow(dir: string, skip: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name === skip) continue;
    n += 1 + dirsBelow(join(dir, e.name), skip);
  }
  return n;
}

describe("a team in a git project", () => {
  test("two engineers editing different files: each works in its own worktree, both are merged in order, the user's checkout is untouched", async () => {
    const s = (sb = gitSandbox());
    s.behave("engineering-manager", managerWaitsFor(3));
    s.behave("solutions-architect", "complete_all_tasks; result 0.01");
    // Engineer one commits its work, after churning dirs in its worktree (which the orchestrator
    // must not watch) and waiting to be looked at; engineer two leaves its edit uncommitted.
    s.behave(
      "engineer-1",
      `echo "$PWD|$CLAUDE_WRAPPER_WORKTREE|$CLAUDE_WRAPPER_BRANCH" > "$dir/where.txt"
edit_file one.txt "from engineer one"
for i in $(seq 1 40); do mkdir -p "churn/d$i/x"; touch "churn/d$i/x/f"; done
touch ${mark("e1-churned")}
${waitMark("release-e1")}
rm -rf churn
commit_all "engineer one's work"
complete_all_tasks; touch ${mark("e1-done")}; result 0.02`,
    );
    s.behave("engineer-2", `${waitMark("e1-done")}\nedit_file lib/two.txt "from engineer two"\ncomplete_all_tasks; result 0.02`);
    // A variable that points git at the user's checkout, inherited from the user's shell: an
    // agent's commit must still land on its own branch, never on the user's.
    s.env.GIT_DIR = join(s.root, ".git");
    const before = checkoutState(s.root);
    const team = await startGitTeam(s, ["--engineers", "2"]);
    expect(team).toMatch(/^claude-wrapper\/\d+$/);

    // The persona text names the worktree, the branch and the team branch, and requests by absolute path.
    const e1 = idOf(s, "engineer-1");
    const worktree = join(realpathSync(s.workspace), ".worktrees", e1);
    const persona = readFileSync(join(s.workspace, e1, "persona-instructions.md"), "utf8");
    expect(persona).toContain(`git worktree of your own, \`${worktree}\``);
    expect(persona).toContain(`\`claude-wrapper/${e1}\``);
    expect(persona).toContain(`git merge ${team}`);
    expect(persona).toContain(`mkdir -p '${s.workspace}/intern-request-<short-name>'`);
    expect(readFileSync(join(s.workspace, idOf(s, "manager"), "persona-instructions.md"), "utf8")).toContain(`takes all of it with \`git merge ${team}\``);

    const o = pool.start(s);
    await waitFor("engineer one's churn in its worktree", () => existsSync(join(s.workspace, ".mark-e1-churned")), 20_000);
    // Its 80 new dirs cost the orchestrator no inotify watch: the worktrees dir is not watched.
    const outside = dirsBelow(s.workspace, ".worktrees");
    const watches = inotifyWatches(o.proc.pid);
    expect(watches).toBeGreaterThan(0);
    // One per dir for the tree watcher, one more for the top level's uncoalesced watch (and one
    // per request being written: none now).
    expect(watches).toBeLessThanOrEqual(outside + 2);
    // `attach` opens the shell where the work is: the engineer's worktree, the session dir in the env.
    const shell = await run({ root: s.root, env: { ...s.env, SHELL: "/bin/sh" } }, ["attach", "engineer-1"], { stdin: 'echo "$PWD|$CLAUDE_WRAPPER_SESSION_DIR"\nexit 0\n' });
    expect(shell.code).toBe(0);
    expect(shell.stdout.trim()).toBe(`${worktree}|${join(s.workspace, e1)}`);
    expect(shell.stderr).toContain(`worktree ${worktree} (branch claude-wrapper/${e1}, unmerged)`);
    writeFileSync(join(s.workspace, ".mark-release-e1"), "");

    const done = await o.waitEvent((e) => e.event === "team-done", "team done", 40_000);
    expect(done.event).toBe("team-done");
    expect(readFileSync(join(s.workspace, e1 + "-completed", "where.txt"), "utf8").trim()).toBe(`${worktree}|${worktree}|claude-wrapper/${e1}`);

    // Merged one at a time, oldest completion first: engineer one (a fast-forward), then engineer
    // two (a merge commit on top, with the edit it left uncommitted committed on its branch).
    const merged = o.events.filter((e) => e.event === "merged");
    expect(merged.map((e) => e.name).filter((n) => n.startsWith("engineer"))).toEqual(["engineer-1", "engineer-2"]);
    const [m1, m2] = [merged.find((e) => e.name === "engineer-1")!, merged.find((e) => e.name === "engineer-2")!];
    expect(m1).toMatchObject({ branch: `claude-wrapper/${e1}`, into: team, files: ["one.txt"] });
    expect(m2).toMatchObject({ into: team, files: ["lib/two.txt"] });
    expect(git(s.root, "show", `${team}:one.txt`)).toBe("from engineer one");
    expect(git(s.root, "show", `${team}:lib/two.txt`)).toBe("from engineer two");
    expect(git(s.root, "rev-list", "--parents", "-n", "1", m2.commit).split(" ")[1]).toBe(m1.commit);
    expect(git(s.root, "log", "-1", "--format=%s", `claude-wrapper/${idOf(s, "engineer-2")}`)).toStartWith("Work left uncommitted by");
    expect(git(s.root, "ls-tree", "-r", "--name-only", team)).not.toContain("churn/d1/x/f");

    // The manager was told of each merge: commit and files.
    const told = readFileSync(join(s.workspace, `${idOf(s, "manager")}-completed`, "instructions.md"), "utf8");
    expect(told).toContain(`Its branch claude-wrapper/${e1} is merged into ${team} as ${m1.commit.slice(0, 12)}, changing 1 file:\n- one.txt`);
    expect(told).toContain(`as ${m2.commit.slice(0, 12)}, changing 1 file:\n- lib/two.txt`);

    // Every worktree removed once merged, every branch kept; the user's checkout byte-identical.
    expect(worktreeNames(s)).toEqual([]);
    expect(recordOf(s, "engineer-1").git).toMatchObject({ merge: "merged", commit: m1.commit, worktreeRemoved: true, attempt: 0 });
    expect(ourBranches(s)).toHaveLength(5);
    expect(checkoutState(s.root)).toEqual(before);

    // Branch and merge state in the views, and in the roster the agents read.
    expect(readFileSync(join(s.workspace, "ROSTER.md"), "utf8")).toContain(`| claude-wrapper/${e1} |`);
    const rows: any[] = JSON.parse((await run(s, ["attach", "--list", "--all", "--json"])).stdout);
    expect(rows.find((r) => r.name === "engineer-2")).toMatchObject({ branch: `claude-wrapper/${idOf(s, "engineer-2")}`, merge: `merged ${m2.commit.slice(0, 12)}`, worktree: null });
    const status = JSON.parse((await run(s, ["team", "status", "--json"])).stdout);
    expect(status.sessions.find((r: any) => r.name === "engineer-1").merge).toBe(`merged ${m1.commit.slice(0, 12)}`);

    // A worktree left behind (here: put back by hand): doctor reports it, team clean removes it,
    // and the merged session branches; the team branch stays; the checkout still untouched.
    await o.stop();
    delete s.env.GIT_DIR;
    git(s.root, "worktree", "add", "-q", worktree, `claude-wrapper/${e1}`);
    const doctor = JSON.parse((await run(s, ["doctor", "--json"])).stdout);
    expect(doctor.checks.find((c: any) => c.id === "worktrees")).toMatchObject({ status: "warn", detail: expect.stringContaining(`1 stale worktree (${worktree})`) });
    const clean = await run(s, ["team", "clean", "--json"]);
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.stdout);
    expect(report.removed.map((r: any) => r.kind)).toEqual(["worktree", "branch", "branch", "branch", "branch"]);
    expect(worktreeNames(s)).toEqual([]);
    expect(report.kept).toEqual([]);
    expect(ourBranches(s)).toEqual([team]);
    expect(checkoutState(s.root)).toEqual(before);
  });

  test("two engineers editing the same line: the second is sent back with the conflict, resolves it by merging the team branch in, and is merged", async () => {
    const s = (sb = gitSandbox());
    s.behave("engineering-manager", managerWaitsFor(3));
    s.behave("solutions-architect", "complete_all_tasks; result 0.01");
    s.behave("engineer-1", `edit_file a.txt "$(printf 'line one\\nONE\\nline three')"\ncommit_all "one"\ncomplete_all_tasks; touch ${mark("e1-done")}; result 0.02`);
    s.behave(
      "engineer-2",
      `${resolveConflictBy("line one\\nONE and TWO\\nline three\\n")}
${waitMark("e1-done")}
edit_file a.txt "$(printf 'line one\\nTWO\\nline three')"
commit_all "two"
complete_all_tasks; result 0.02`,
    );
    const before = checkoutState(s.root);
    const team = await startGitTeam(s, ["--engineers", "2"]);
    const o = pool.start(s);
    await o.waitEvent((e) => e.event === "team-done", "team done", 40_000);
    const e2 = idOf(s, "engineer-2");

    const conflict = o.events.find((e) => e.event === "merge-conflict")!;
    expect(conflict).toMatchObject({ name: "engineer-2", files: ["a.txt"], into: team, attempt: 1 });
    const merged = o.events.filter((e) => e.event === "merged" && e.name === "engineer-2");
    expect(merged).toHaveLength(1);
    expect(o.events.indexOf(merged[0]!)).toBeGreaterThan(o.events.indexOf(conflict));
    expect(git(s.root, "show", `${team}:a.txt`)).toBe("line one\nONE and TWO\nline three");

    // Reopened once: the conflict's task and instructions, then resumed (the same conversation).
    const dir = join(s.workspace, `${e2}-completed`);
    const calls = fakeCalls(dir);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.argv).toContain("--resume");
    expect(calls[1]!.argv.at(-1)).toContain("could not be merged into");
    const tasks = readFileSync(join(dir, "tasks.md"), "utf8");
    expect(tasks.match(/## Task: Resolve the merge conflict with the integration branch \(attempt 1\)\n- \*\*Status\*\*: completed/g)).toHaveLength(1);
    expect(readFileSync(join(dir, "instructions.md"), "utf8").match(/could not be merged into/g)).toHaveLength(1);
    expect(recordOf(s, "engineer-2").git).toMatchObject({ merge: "merged", attempt: 1, reopened: 1, worktreeRemoved: true });
    expect(checkoutState(s.root)).toEqual(before);
  });

  test("--verify: a red run sends the work back with the output's tail; green, it is merged", async () => {
    const s = (sb = gitSandbox());
    s.behave("engineering-manager", managerWaitsFor(3));
    s.behave("solutions-architect", "complete_all_tasks; result 0.01");
    s.behave(
      "engineer-1",
      `if grep -q "verify command" "$dir/instructions.md"; then edit_file ok.txt ok; commit_all "make verify pass"; complete_all_tasks; result 0.02; exit 0; fi
edit_file feature.txt "a feature"
commit_all "feature"
complete_all_tasks; result 0.02`,
    );
    // An intern whose persona opts out of worktrees runs in the project root.
    s.behave("intern", "complete_all_tasks; result 0.01");
    const before = checkoutState(s.root);
    mkdirSync(join(s.workspace, "personas"), { recursive: true });
    writeFileSync(join(s.workspace, "personas", "intern.md"), "---\nlabel: intern\nworktree: false\n---\nYou are {{sessionId}}. {{workplace}}\n");
    const team = await startGitTeam(s, ["--engineers", "1", "--interns", "1", "--verify", "test -f ok.txt || { echo 'ok.txt is missing'; exit 3; }"]);
    const o = pool.start(s);
    await o.waitEvent((e) => e.event === "team-done", "team done", 40_000);

    const red = o.events.find((e) => e.event === "verify-failed")!;
    expect(red).toMatchObject({ name: "engineer-1", into: team, attempt: 1 });
    expect(red.tail).toContain("ok.txt is missing");
    const green = o.events.find((e) => e.event === "merged" && e.name === "engineer-1")!;
    expect(green.files.sort()).toEqual(["feature.txt", "ok.txt"]);
    expect(git(s.root, "show", `${team}:ok.txt`)).toBe("ok");
    const dir = join(s.workspace, `${idOf(s, "engineer-1")}-completed`);
    expect(readFileSync(join(dir, "instructions.md"), "utf8")).toContain("ok.txt is missing");
    expect(readFileSync(join(dir, "verify.log"), "utf8")).toBe("");
    expect(worktreeNames(s)).toEqual([]);
    const intern = recordOf(s, "intern-1");
    expect(intern.git ?? null).toBeNull();
    expect(fakeCalls(join(s.workspace, `${intern.id}-completed`)).map((c) => c.cwd)).toEqual([s.root]);
    expect(readFileSync(join(s.workspace, `${intern.id}-completed`, "persona-instructions.md"), "utf8")).toContain(`You work in the project root \`${s.root}\``);
    expect(checkoutState(s.root)).toEqual(before);
  });
});

describe("many sessions at once", () => {
  test("twenty-two sessions starting together each get their worktree without a failed try (git races two worktree adds), and all are merged", async () => {
    const s = (sb = gitSandbox());
    s.behave("engineering-manager", managerWaitsFor(21));
    s.behave("solutions-architect", "complete_all_tasks; result 0.01");
    s.behave("intern", `edit_file "$name.txt" "$name"\ncomplete_all_tasks; result 0.01`);
    const team = await startGitTeam(s, ["--interns", "20"]);
    const o = pool.start(s);
    await o.waitEvent((e) => e.event === "team-done", "team done", 50_000);
    expect(o.stderr()).not.toContain("failed");
    expect(o.events.filter((e) => e.event === "merged")).toHaveLength(22);
    expect(git(s.root, "ls-tree", "--name-only", team).split("\n").filter((f) => f.startsWith("intern-"))).toHaveLength(20);
    expect(worktreeNames(s)).toEqual([]);
  });
});

describe("stopping the orchestrator mid-merge", () => {
  test("SIGTERM while the verify command runs stops it too, records nothing, and the next orchestrator merges", async () => {
    const s = (sb = gitSandbox());
    const slow = join(s.workspace, ".mark-slow-verify");
    s.env.CW_TEST_SLOW_VERIFY = slow;
    s.behave("engineering-manager", managerWaitsFor(2));
    s.behave("solutions-architect", "complete_all_tasks; result 0.01");
    // The engineer ends after the architect is archived, so the merge held up by the slow verify
    // is the engineer's alone and the manager has had its turn on the architect's end.
    s.behave("engineer-1", `edit_file one.txt one\ncommit_all one\nuntil ls "$dir/.." | grep -q '^solutions-architect-.*-completed$'; do sleep 0.05; done\ncomplete_all_tasks; result 0.02`);
    const team = await startGitTeam(s, ["--engineers", "1", "--verify", 'if [ -f "$CW_TEST_SLOW_VERIFY" ]; then echo $$ > "$CW_TEST_SLOW_VERIFY.pid"; exec sleep 60; fi']);
    writeFileSync(slow, "");
    const a = pool.start(s);
    await waitFor("the slow verify running", () => existsSync(`${slow}.pid`), 20_000);
    const verifyPid = Number(readFileSync(`${slow}.pid`, "utf8"));
    expect(recordOf(s, "engineer-1").git.merge).toBe("verifying");
    // The manager's turn on the architect's end is over first: a SIGTERM pauses a running agent
    // (kept for `team resume`), and this test is about the merge, not about that.
    const mgr = sessionByName(s.workspace, "manager")!;
    await waitFor("the manager told of the architect, and idle", () => {
      const text = readFileSync(join(mgr, "instructions.md"), "utf8");
      const handed = JSON.parse(readFileSync(join(mgr, "tracker.json"), "utf8")).instructionsOffset;
      return text.includes("completed all its tasks") && handed >= Buffer.byteLength(text) && recordOf(s, "manager").status === "idle";
    }, 20_000);
    expect(await a.stop("SIGTERM")).toBe(0);
    const gone = (pid: number) => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.startsWith("Z");
    await waitFor("the verify command stopped", () => gone(verifyPid), 10_000);
    expect(a.events.filter((e) => e.event === "verify-failed")).toEqual([]);
    expect(recordOf(s, "engineer-1").git.merge).toBe("verifying");

    rmSync(slow);
    const b = pool.start(s);
    await b.waitEvent((e) => e.event === "merged" && e.name === "engineer-1", "merged by the next orchestrator", 20_000);
    await b.waitEvent((e) => e.event === "team-done", "team done", 20_000);
    expect(git(s.root, "show", `${team}:one.txt`)).toBe("one");
    expect(worktreeNames(s)).toEqual([]);
  });
});

describe("a team branch checked out somewhere", () => {
  test("merges into it wait (said once) and go through once that checkout lets go of it", async () => {
    const s = (sb = gitSandbox());
    s.env.CLAUDE_WRAPPER_FAULT_BACKOFF_MS = "100";
    s.behave("engineering-manager", managerWaitsFor(2));
    s.behave("solutions-architect", "complete_all_tasks; result 0.01");
    s.behave("engineer-1", `edit_file one.txt one\ncommit_all one\ncomplete_all_tasks; result 0.02`);
    const team = await startGitTeam(s, ["--engineers", "1"]);
    const holder = join(s.workspace, "holder");
    git(s.root, "worktree", "add", "-q", holder, team);
    const o = pool.start(s);
    await waitFor("the blocked merge reported", () => o.stderr().includes(`${team} is checked out in ${realpathSync(holder)}`), 20_000);
    expect(o.events.filter((e) => e.event === "merged" && e.name === "engineer-1")).toEqual([]);
    expect(recordOf(s, "engineer-1").git.merge).toBe("blocked");
    git(s.root, "worktree", "remove", holder);
    await o.waitEvent((e) => e.event === "merged" && e.name === "engineer-1", "merged once unblocked", 20_000);
    await o.waitEvent((e) => e.event === "team-done", "team done", 20_000);
    expect(o.stderr().match(/is checked out in/g)).toHaveLength(1);
    expect(git(s.root, "show", `${team}:one.txt`)).toBe("one");
  });
});

describe("a project that is not a git repository", () => {
  test("agents share the project root as before, and two that edit at once are warned of, once", async () => {
    const s = (sb = sandbox("cw-git-none-"));
    s.behave("engineering-manager", managerWaitsFor(3));
    s.behave("solutions-architect", "complete_all_tasks; result 0.01");
    // Both engineers run at once: each waits for the other to have started.
    s.behave("software-engineer", `touch ${mark("started-$name")}\n${waitMark("started-engineer-1")}\n${waitMark("started-engineer-2")}\nedit_file "$name.txt" done\ncomplete_all_tasks; result 0.02`);
    const start = JSON.parse((await run(s, ["team", "start", "Build it", "--engineers", "2", "--json"])).stdout);
    expect(start).toMatchObject({ worktrees: false, branch: null });
    expect(readFileSync(join(s.workspace, idOf(s, "engineer-1"), "persona-instructions.md"), "utf8")).toContain(`You work in the project root \`${s.root}\``);
    const o = pool.start(s);
    await o.waitEvent((e) => e.event === "team-done", "team done", 40_000);

    for (const name of ["engineer-1", "engineer-2", "manager"]) {
      const cwds = fakeCalls(sessionByName(s.workspace, name)!).map((c) => c.cwd);
      expect(cwds.length).toBeGreaterThan(0);
      expect(cwds.every((c) => c === s.root)).toBe(true);
      expect(recordOf(s, name).git ?? null).toBeNull();
    }
    expect(readFileSync(join(s.root, "engineer-1.txt"), "utf8")).toBe("done\n");
    expect(existsSync(join(s.workspace, ".worktrees"))).toBe(false);
    expect(o.events.filter((e) => ["merged", "merge-conflict", "verify-failed"].includes(e.event))).toEqual([]);
    expect(o.stderr().match(/running at once in the shared project root/g)).toHaveLength(1);
    const rows: any[] = JSON.parse((await run(s, ["attach", "--list", "--all", "--json"])).stdout);
    expect(rows.every((r) => r.branch === null && r.merge === null)).toBe(true);
    expect((await run(s, ["team", "clean"])).stdout).toContain("not a git repository");
    expect(statSync(s.workspace).isDirectory()).toBe(true);
  });
});

describe("which personas get a worktree", () => {
  test("every persona by default; `worktree: false` opts out; anything but a boolean is a mistake naming the field", () => {
    expect([...loadPersonas("/nonexistent").values()].map((p) => [p.name, p.worktree])).toEqual([
      ["engineering-manager", true],
      ["solutions-architect", true],
      ["software-engineer", true],
      ["intern", true],
    ]);
    expect(checkPersona("ops", "---\nworktree: false\n---\nbody", "workspace").persona?.worktree).toBe(false);
    expect(checkPersona("ops", "---\nworktree: no way\n---\nbody", "workspace").errors).toEqual(['worktree must be true or false, got "no way"']);
  });
});
