import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../core/base/errors";
import { jsonLines, plural, writeStdout } from "../core/base/format";
import { listJson, listedEntries, matchesFilter, rowsFor } from "../core/views/listing";
import { WORKSPACE_ENV, requireWorkspace, resolveWorkspace } from "../core/workspace/paths";
import { jsonArg, sharedArgs } from "./_shared";

export default defineCommand({
  meta: {
    name: "attach",
    description: "Open a shell in a session's directory (the manager's by default), or list sessions with --list",
  },
  args: {
    session: { type: "positional", description: "Session id, name (manager, engineer-1, …) or a unique prefix", required: false },
    list: { type: "boolean", alias: "l", description: "List sessions grouped by persona instead of attaching" },
    filter: { type: "string", description: "With --list: only personas or names holding these dash-separated words", valueHint: "words" },
    all: { type: "boolean", alias: "a", description: "With --list: include archived (completed) sessions and earlier teams' sessions" },
    ...sharedArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const workspace = resolveWorkspace(args.workspace);
    const listing = args.list || args.filter !== undefined || args.all || args.json;
    if (listing && args.session) {
      throw new UserError(`attach --list lists sessions; to attach to ${args.session} drop --list/--filter/--all/--json`);
    }
    requireWorkspace(workspace);

    if (listing) {
      // The current team's sessions; --all: archived ones and earlier teams' too.
      const { shown, earlier } = listedEntries(workspace, { all: args.all });
      let rows = rowsFor(workspace, shown);
      if (args.filter !== undefined) rows = rows.filter((r) => matchesFilter(r, args.filter!));
      if (args.json) {
        await writeStdout(jsonLines(rows.map(listJson)));
        return;
      }
      // Human output only: the palette loads consola, which --json never pays for.
      const [{ paint }, { renderList }] = await Promise.all([import("../core/cli/output"), import("../core/views/team-view")]);
      const p = paint(process.stdout);
      const hidden = earlier ? [p.dim(`${plural(earlier, "session")} of earlier teams not shown; --all includes them`)] : [];
      if (!rows.length) {
        const why = args.filter !== undefined ? `match "${args.filter}"` : `in ${workspace}${args.all ? "" : " (--all includes archived ones)"}`;
        process.stdout.write(`${[`No sessions ${why}.`, ...hidden].join("\n")}\n`);
        return;
      }
      process.stdout.write(`${[...renderList(rows, p), ...(hidden.length ? ["", ...hidden] : [])].join("\n")}\n`);
      return;
    }

    // Loaded here, not at the top: `--list` is the common call and starts faster without them
    // (the shell module pulls in node:os).
    const [{ findSession }, { runShell, visibleFiles }, { readTasks }, { renderAttachBanner }, { paint }] = await Promise.all([
      import("../core/views/lookup"),
      import("../core/views/shell"),
      import("../core/workspace/tasks"),
      import("../core/views/team-view"),
      import("../core/cli/output"),
    ]);
    const row = findSession(workspace, args.session);
    const tasks = readTasks(join(row.dir, "tasks.md"));
    process.stderr.write(`${renderAttachBanner(row, tasks, visibleFiles(row.dir), paint(process.stderr)).join("\n")}\n`);

    // In its git worktree when it has one: that is where its work is (the session dir is in the env).
    const worktree = row.worktree && existsSync(row.worktree) ? row.worktree : undefined;
    const env: Record<string, string | undefined> = {
      ...process.env,
      CLAUDE_WRAPPER_SESSION_ID: row.id,
      CLAUDE_WRAPPER_SESSION_DIR: row.dir,
      // So claude-wrapper run inside the session dir still finds this workspace.
      [WORKSPACE_ENV]: workspace,
    };
    // A shell is not an agent: nothing may take it for one (team stop's sweep looks for this).
    delete env.CLAUDE_WRAPPER_PERSONA;
    process.exit(await runShell(worktree ?? row.dir, env));
  },
});
