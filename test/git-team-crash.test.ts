/**
 * kill -9 of the orchestrator at every git step (each point core/git/crash.ts declares, read from
 * the source so a new one is covered), in a team whose run passes every one of them: worktrees
 * made, work left uncommitted, a fast-forward, a conflict sent back and resolved, a merge commit,
 * a verify command, merged worktrees removed. The next orchestrator converges: every branch
 * merged exactly once, no commit lost, nothing left behind, the user's checkout byte-identical.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type OrchestratorProc, type Sandbox, orchestratorPool, processesOfWorkspace, waitFor } from "./helpers";
import { checkoutState, git, gitSandbox, recordOf, resolveConflictBy, startGitTeam, worktreeNames } from "./helpers-git-team";

setDefaultTimeout(60_000);

const POINTS = [...readFileSync(join(import.meta.dir, "../core/git/crash.ts"), "utf8").matchAll(/^\s*\|\s*"([a-z-]+:[a-z-]+)"/gm)].map((m) => m[1]!);

let sb: Sandbox | undefined;
const pool = orchestratorPool();
afterEach(async () => {
  await pool.teardown(sb);
  sb = undefined;
});

const MEMBERS = ["manager", "architect", "engineer-1", "engineer-2"];

/**
 * Both engineers edit line two of a.txt: engineer one leaves its edit uncommitted and finishes
 * first; engineer two commits. Whichever is merged second conflicts and resolves it by merging
 * the team branch in. The manager, told of all three, writes a summary it does not commit: its
 * merge is a merge commit (the team branch moved since it forked), verified like every merge.
 */
function behave(s: Sandbox): void {
  const done = `"$CLAUDE_WRAPPER_WORKSPACE/.mark-e1-done"`;
  s.behave(
    "software-engineer",
    `${resolveConflictBy("line one\\nRESOLVED\\nline three\\n")}
if [ "$name" = "engineer-1" ]; then
  edit_file a.txt "$(printf 'line one\\nONE\\nline three')"
  complete_all_tasks; touch ${done}; result 0.02; exit 0
fi
while [ ! -f ${done} ]; do sleep 0.05; done
edit_file a.txt "$(printf 'line one\\nTWO\\nline three')"
commit_all "two"
complete_all_tasks; result 0.02`,
  );
  s.behave("solutions-architect", "complete_all_tasks; result 0.01");
  s.behave("engineering-manager", `[ "$(grep -c 'completed all its tasks' "$dir/instructions.md")" -ge 3 ] && { edit_file SUMMARY.md "the team's summary"; complete_all_tasks; }; result 0.01`);
}

async function died(o: OrchestratorProc, what: string): Promise<string | null> {
  await waitFor(what, () => o.proc.exitCode !== null || o.proc.signalCode !== null, 30_000);
  return o.proc.signalCode as string | null;
}

describe("kill -9 of the orchestrator at each git step, then a restart: it converges", () => {
  test("core/git/crash.ts declares the points, the orchestrator's own among them", () => {
    expect(POINTS).toEqual(expect.arrayContaining(["worktree:branch", "worktree:added", "commit:staged", "merge:committed", "merge:verifying", "merge:updated", "merge:recorded", "reopen:instructed", "reopen:tasked", "worktree:trashed"]));
  });

  test.each(POINTS)("SIGKILL at %s", async (point) => {
    const s = (sb = gitSandbox("cw-git-crash-"));
    behave(s);
    const before = checkoutState(s.root);
    const team = await startGitTeam(s, ["--engineers", "2", "--verify", "test -f a.txt"]);
    const crashing = pool.start({ ...s, env: { ...s.env, CLAUDE_WRAPPER_CRASH_AT: point } });
    expect(await died(crashing, `the orchestrator to die at ${point}`)).toBe("SIGKILL");
    const o = pool.start(s);
    await o.waitEvent((e) => e.event === "team-done", "team done", 45_000);

    // Every session merged and archived, its worktree gone, its branch in the team branch.
    for (const name of MEMBERS) {
      const rec = recordOf(s, name);
      expect({ name, status: rec.status, merge: rec.git?.merge, removed: rec.git?.worktreeRemoved }).toEqual({ name, status: "completed", merge: "merged", removed: true });
      git(s.root, "merge-base", "--is-ancestor", rec.git.branch, team);
    }
    expect(worktreeNames(s)).toEqual([]);
    // The work, nothing lost: engineer one's uncommitted edit was committed (and resolved against),
    // the manager's summary too.
    expect(git(s.root, "show", `${team}:a.txt`)).toBe("line one\nRESOLVED\nline three");
    expect(git(s.root, "show", `${team}:SUMMARY.md`)).toBe("the team's summary");
    const e1 = recordOf(s, "engineer-1");
    expect(git(s.root, "log", "--format=%s", e1.git.branch)).toContain("Work left uncommitted by");
    // Merged exactly once each: the team branch moved three times after its creation (engineer,
    // engineer, manager: the architect changed nothing), one of them a merge commit.
    expect(git(s.root, "reflog", "show", "--format=%H", team).split("\n")).toHaveLength(4);
    const ours = git(s.root, "log", "--merges", "--first-parent", "--format=%s", team).split("\n").filter((l) => l.endsWith(` into ${team}`));
    expect(ours).toEqual([`Merge branch '${recordOf(s, "manager").git.branch}' into ${team}`]);
    // The loser of the race was sent back exactly once, its task and instructions written once.
    const reopened = ["engineer-1", "engineer-2"].map((n) => recordOf(s, n)).filter((r) => r.git.attempt > 0);
    expect(reopened.map((r) => r.git.attempt)).toEqual([1]);
    const dir = join(s.workspace, `${reopened[0].id}-completed`);
    expect(readFileSync(join(dir, "tasks.md"), "utf8").match(/## Task: Resolve the merge conflict/g)).toHaveLength(1);
    expect(readFileSync(join(dir, "instructions.md"), "utf8").match(/could not be merged into/g)).toHaveLength(1);

    expect(checkoutState(s.root)).toEqual(before);
    await waitFor("no agent or verify process left", () => processesOfWorkspace(s.workspace).every((p) => p === o.proc.pid));
  });
});
