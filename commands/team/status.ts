import { defineCommand } from "citty";
import { jsonDocument, writeStdout } from "../../core/base/format";
import { teamSnapshot } from "../../core/views/status";
import { requireWorkspace, resolveWorkspace } from "../../core/workspace/paths";
import { allTeamsArg, jsonArg, sharedArgs } from "../_shared";

export default defineCommand({
  meta: { name: "status", description: "The team at a glance: goal, orchestrator, sessions by status, tasks, cost" },
  args: { ...allTeamsArg, ...sharedArgs, ...jsonArg },
  async run({ args }) {
    const workspace = resolveWorkspace(args.workspace);
    requireWorkspace(workspace);

    const snapshot = teamSnapshot(workspace, { all: args.all });

    if (args.json) {
      await writeStdout(jsonDocument({ ...snapshot }, ["sessions"]));
      return;
    }
    // Human output only: the palette loads consola, which --json never pays for.
    const [{ paint }, { renderStatus }] = await Promise.all([import("../../core/cli/output"), import("../../core/views/team-view")]);
    process.stdout.write(`${renderStatus(snapshot, paint(process.stdout)).join("\n")}\n`);
  },
});
