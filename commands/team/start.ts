import { defineCommand } from "citty";
import { relative } from "node:path";
import { validateAgent, validateModel } from "../../core/agents/choose";
import { flagValues } from "../../core/cli/flags";
import { parseCount, parseModelFor, startTeam, validateGoal } from "../../core/team/start";
import { loadPersonas } from "../../core/workspace/personas";
import { paint } from "../../core/cli/output";
import { resolveWorkspace } from "../../core/workspace/paths";
import { jsonArg, sharedArgs } from "../_shared";

export default defineCommand({
  meta: { name: "start", description: "Lay out a new team in the workspace: manager, architect, engineers, interns" },
  args: {
    goal: { type: "positional", description: "What the team should build", required: true },
    engineers: { type: "string", description: "Software engineers to start with (0-20)", default: "0", valueHint: "n" },
    interns: { type: "string", description: "Interns to start with (0-20)", default: "0", valueHint: "n" },
    new: { type: "boolean", description: "Start a fresh team although the workspace holds a paused one (it stays on disk)" },
    "model-for": {
      type: "string",
      description: "Model for one persona, over its default (e.g. intern=haiku; repeat it or separate with commas)",
      valueHint: "persona=model",
    },
    agent: { type: "string", description: "Agent CLI for the team: claude, codex, gemini (a persona file's `agent:` still wins)", valueHint: "name" },
    model: { type: "string", description: "Model for the team's agent CLI (a persona file's `model:` still wins)", valueHint: "name" },
    ...sharedArgs,
    ...jsonArg,
  },
  async run({ args, rawArgs }) {
    const goal = validateGoal(args.goal);
    const engineers = parseCount("engineers", args.engineers);
    const interns = parseCount("interns", args.interns);
    const agent = validateAgent("agent", args.agent);
    const model = validateModel("model", args.model);
    const workspace = resolveWorkspace(args.workspace);
    const modelFor = parseModelFor(flagValues(rawArgs, "model-for"), loadPersonas(workspace));

    const created = await startTeam(workspace, goal, engineers, interns, { fresh: args.new, modelFor, agent, model });

    if (args.json) {
      console.log(JSON.stringify({ workspace, goal, ...(agent ? { agent } : {}), ...(model ? { model } : {}), sessions: created }, null, 2));
      return;
    }
    const p = paint(process.stdout);
    const lines = [`${p.green("✔")} Team created in ${relative(process.cwd(), workspace) || "."}`];
    if (agent || model) lines.push(`  agents: ${agent ?? "each persona's"}${model ? `, model ${model}` : ""}`);
    for (const s of created) lines.push(`  ${s.name.padEnd(14)} ${s.id.padEnd(34)} ${s.model ?? "default model"}`);
    lines.push("", "Next: `claude-wrapper orchestrate` starts the agents; `claude-wrapper attach --list` shows them.");
    console.log(lines.join("\n"));
  },
});
