/**
 * A crash (kill -9) at every core/git step, in a process doing just that step: running the step
 * again finishes it. Never a second merge, never a lost commit, no scratch worktree or verify
 * process left, the user's checkout byte-identical.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { mergeBranch } from "../core/git/merge";
import { addWorktree, commitAll, listWorktrees } from "../core/git/worktree";
import { processesOfWorkspace, waitFor } from "./helpers";
import { checkoutState, git, made, project, removeMade, step, tip, worktreeDirs } from "./helpers-git";

afterEach(removeMade);

describe("a crash (kill -9) at any step is finished by running the step again", () => {
  const POINTS: Array<[string, string]> = [
    ["worktree:branch", "add-worktree"],
    ["commit:staged", "commit"],
    ["merge:committed", "merge"],
    ["merge:verifying", "merge"],
    ["merge:updated", "merge"],
    ["worktree:trashed", "remove-worktree"],
  ];
  for (const [point, name] of POINTS) {
    test(point, async () => {
      const t = await project();
      const before = checkoutState(t.root);
      const base = { root: t.root, workspace: t.workspace };
      const sessionId = "software-engineer-2";
      const addOpts = { ...base, sessionId, from: t.integration };
      if (name !== "add-worktree") await step("add-worktree", addOpts);
      const other = await addWorktree({ repo: t.repo, workspace: t.workspace, sessionId: "software-engineer-1", from: t.integration });
      writeFileSync(join(other.path, "first.txt"), "merged first, so the next merge needs a merge commit\n");
      await commitAll(other.path, "first");
      await mergeBranch({ repo: t.repo, workspace: t.workspace, integration: t.integration, branch: other.branch });

      const path = join(t.workspace, ".worktrees", sessionId);
      const branch = `claude-wrapper/${sessionId}`;
      const mark = join(t.root, "..", `${relative(tmpdir(), t.root)}.verify-ran`);
      const pidFile = `${mark}.pid`;
      made.push(mark, pidFile);
      // The first run (killed mid-verify) leaves this running; the rerun must stop it.
      const verify = `if [ -f '${mark}' ]; then exit 0; fi; touch '${mark}'; echo $$ > '${pidFile}'; exec sleep 120`;
      const mergeOpts = { ...base, integration: t.integration, branch, verify: point === "merge:verifying" ? verify : undefined };

      if (name !== "add-worktree" && name !== "commit") {
        writeFileSync(join(path, "second.txt"), "2\n");
        await step("commit", { ...base, worktree: path, message: "second" });
      }
      if (name === "commit") writeFileSync(join(path, "second.txt"), "2\n");
      if (name === "remove-worktree") await step("merge", mergeOpts);

      const opts = name === "add-worktree" ? addOpts : name === "commit" ? { ...base, worktree: path, message: "second" } : name === "merge" ? mergeOpts : { ...base, path };
      const crashed = await step(name, opts, point);
      expect(crashed.signal).toBe("SIGKILL");
      // The killed run's verify command lives on (its own process group); the rerun must stop it.
      if (point === "merge:verifying") await waitFor("the killed run's verify command to start", () => existsSync(pidFile));
      const again = await step(name, opts);
      expect(again.code).toBe(0);

      if (name === "add-worktree") {
        expect(again.out).toMatchObject({ created: true, branch });
        expect(git(path, "rev-parse", "--abbrev-ref", "HEAD")).toBe(branch);
      }
      if (name === "commit") {
        expect(git(t.root, "show", `${branch}:second.txt`)).toBe("2");
        expect(git(path, "status", "--porcelain")).toBe("");
      }
      if (name === "merge") {
        expect(again.out).toMatchObject({ state: "merged", files: ["second.txt"], fastForward: false, already: point === "merge:updated" });
        expect(tip(t)).toBe(again.out.commit);
        // One merge commit for this branch, whatever the crash.
        const merges = git(t.root, "rev-list", "--merges", t.integration).split("\n").filter(Boolean);
        expect(merges).toEqual([again.out.commit]);
        expect(worktreeDirs(t)).toEqual(["software-engineer-1", sessionId]);
      }
      if (point === "merge:verifying") {
        const orphan = Number(readFileSync(pidFile, "utf8"));
        await waitFor("the killed run's verify command to be stopped", () => !existsSync(`/proc/${orphan}`) || readFileSync(`/proc/${orphan}/stat`, "utf8").split(") ")[1]!.startsWith("Z"));
      }
      if (name === "remove-worktree") {
        expect(again.out).toEqual({ removed: true });
        expect(existsSync(path)).toBe(false);
        expect(worktreeDirs(t)).toEqual(["software-engineer-1"]);
        expect(tip(t, branch)).toMatch(/^[0-9a-f]{40}$/);
        expect((await listWorktrees(t.repo)).map((w) => w.path)).toEqual([t.root, other.path]);
      }
      expect(processesOfWorkspace(t.workspace)).toEqual([]);
      expect(checkoutState(t.root)).toEqual(before);
    });
  }
});
