import { defineCommand } from "citty";
import { jsonDocument, writeStdout } from "../core/base/format";
import { teamSnapshot } from "../core/views/status";
import { requireWorkspace, resolveWorkspace } from "../core/workspace/paths";
import { allTeamsArg, jsonArg, sharedArgs } from "./_shared";

export default defineCommand({
  meta: {
    name: "track",
    description: "Live dashboard of the team: status, task progress, cost, runtime, last activity (redraws on changes)",
  },
  args: { ...allTeamsArg, ...sharedArgs, ...jsonArg },
  async run({ args }) {
    const workspace = resolveWorkspace(args.workspace);
    requireWorkspace(workspace);
    const snapshot = () => teamSnapshot(workspace, { activity: true, all: args.all });

    if (args.json) {
      await writeStdout(jsonDocument({ ...snapshot() }, ["sessions"]));
      return;
    }
    const [{ paint }, { renderDashboard }] = await Promise.all([import("../core/cli/output"), import("../core/views/team-view")]);
    // Not a terminal (a pipe, a file, CI): one frame, then exit.
    if (!process.stdout.isTTY) {
      process.stdout.write(`${renderDashboard(snapshot(), paint(false)).join("\n")}\n`);
      return;
    }
    const { runLiveView } = await import("../core/views/live-view");
    const p = paint(process.stdout);
    await runLiveView(workspace, (size) => renderDashboard(snapshot(), p, size));
  },
});
