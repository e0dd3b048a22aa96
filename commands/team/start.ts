import { defineCommand } from "citty";
import { relative } from "node:path";
import { paint } from "../../core/cli/output";
import { parseCount, startTeam, validateGoal } from "../../core/team/start";
import { resolveWorkspace } from "../../core/workspace/paths";
import { jsonArg, sharedArgs } from "../_shared";

export default defineCommand({
  meta: { name: "start", description: "Lay out a new team in the workspace: manager, architect, engineers, interns" },
  args: {
    goal: { type: "positional", description: "What the team should build", required: true },
    engineers: { type: "string", description: "Software engineers to start with (0-20)", default: "0", valueHint: "n" },
    interns: { type: "string", description: "Interns to start with (0-20)", default: "0", valueHint: "n" },
    ...sharedArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const goal = validateGoal(args.goal);
    const engineers = parseCount("engineers", args.engineers);
    const interns = parseCount("interns", args.interns);
    const workspace = resolveWorkspace(args.workspace);

    const created = await startTeam(workspace, goal, engineers, interns);

    if (args.json) {
      console.log(JSON.stringify({ workspace, goal, sessions: created }, null, 2));
      return;
    }
    const p = paint(process.stdout);
    const lines = [`${p.green("✔")} Team created in ${relative(process.cwd(), workspace) || "."}`];
    for (const s of created) lines.push(`  ${s.name.padEnd(14)} ${s.id}`);
    lines.push("", "Next: `claude-wrapper orchestrate` starts the agents; `claude-wrapper attach --list` shows them.");
    console.log(lines.join("\n"));
  },
});
