import { defineCommand } from "citty";
import { jsonDocument, paint, wantColor, writeStdout } from "../../core/views/format";
import { teamSnapshot } from "../../core/views/status";
import { renderStatus } from "../../core/views/team-view";
import { requireWorkspace, resolveWorkspace } from "../../core/workspace/paths";
import { jsonArg, sharedArgs } from "../_shared";

export default defineCommand({
  meta: { name: "status", description: "The team at a glance: orchestrator, sessions by status, tasks, cost" },
  args: { ...sharedArgs, ...jsonArg },
  async run({ args }) {
    const workspace = resolveWorkspace(args.workspace);
    requireWorkspace(workspace);

    const snapshot = teamSnapshot(workspace);

    if (args.json) {
      await writeStdout(jsonDocument({ ...snapshot }, ["sessions"]));
      return;
    }
    process.stdout.write(`${renderStatus(snapshot, paint(wantColor())).join("\n")}\n`);
  },
});
