import { defineCommand } from "citty";
import { paint } from "../../core/cli/output";
import { cleanWorkspace } from "../../core/team/clean";
import { plural } from "../../core/base/format";
import { requireWorkspace, resolveWorkspace } from "../../core/workspace/paths";
import { jsonArg, sharedArgs } from "../_shared";

export default defineCommand({
  meta: {
    name: "clean",
    description: "Remove worktrees finished sessions left and delete session branches merged into a team branch (never unmerged work)",
  },
  args: {
    "dry-run": { type: "boolean", alias: "n", description: "Say what would be removed, remove nothing" },
    ...sharedArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const workspace = resolveWorkspace(args.workspace);
    requireWorkspace(workspace);

    const report = await cleanWorkspace(workspace, { dryRun: !!args["dry-run"] });

    if (args.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const p = paint(process.stdout);
    if (!report.repository) {
      process.stdout.write(`Nothing to clean: the project of ${workspace} is not a git repository.\n`);
      return;
    }
    const verb = args["dry-run"] ? "Would remove" : "Removed";
    const lines: string[] = [];
    for (const r of report.removed) lines.push(`${verb} ${r.kind === "branch" ? "branch" : r.kind} ${r.what} (${r.why})`);
    for (const k of report.kept) lines.push(p.yellow(`Kept ${k.kind === "branch" ? "branch" : k.kind} ${k.what}: ${k.why}`));
    if (!lines.length) lines.push("Nothing to clean: no leftover worktree, and no merged session branch.");
    else lines.push(p.dim(`${plural(report.removed.length, "item")} ${args["dry-run"] ? "to remove" : "removed"}, ${report.kept.length} kept. Team branches are never removed.`));
    process.stdout.write(`${lines.join("\n")}\n`);
  },
});
