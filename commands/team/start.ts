import { defineCommand } from "citty";
import { relative } from "node:path";
import { validateAgent, validateModel } from "../../core/agents/choose";
import { flagValues } from "../../core/cli/flags";
import { parseCount, parseModelFor, startTeam, validateGoal } from "../../core/team/start";
import { loadPersonas } from "../../core/workspace/personas";
import { paint } from "../../core/cli/output";
import { probeRepo } from "../../core/git/repo";
import { projectRoot, resolveWorkspace } from "../../core/workspace/paths";
import { readTeam } from "../../core/workspace/team-file";
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
    worktrees: {
      type: "boolean",
      default: true,
      description: "In a git project, each agent that edits works in its own worktree and branch (--no-worktrees: all share the project root)",
    },
    verify: { type: "string", description: "Command run on each merge into the team's branch before it lands, e.g. \"npm test\"", valueHint: "cmd" },
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

    const created = await startTeam(workspace, goal, engineers, interns, { fresh: args.new, modelFor, agent, model, worktrees: args.worktrees !== false, verify: args.verify });
    const team = readTeam(workspace);

    if (args.json) {
      const git = { worktrees: team?.worktrees ?? false, branch: team?.branch ?? null, baseCommit: team?.baseCommit ?? null, verify: team?.verify ?? null };
      console.log(JSON.stringify({ workspace, goal, ...(agent ? { agent } : {}), ...(model ? { model } : {}), ...git, sessions: created }, null, 2));
      return;
    }
    const p = paint(process.stdout);
    const lines = [`${p.green("✔")} Team created in ${relative(process.cwd(), workspace) || "."}`];
    if (agent || model) lines.push(`  agents: ${agent ?? "each persona's"}${model ? `, model ${model}` : ""}`);
    for (const s of created) lines.push(`  ${s.name.padEnd(14)} ${s.id.padEnd(34)} ${s.model ?? "default model"}`);
    lines.push("");
    if (team?.branch) {
      const check = team.verify ? ` once \`${team.verify}\` passes on it` : "";
      lines.push(`Team branch: ${team.branch}, from ${team.baseRef ?? "HEAD"} at ${team.baseCommit?.slice(0, 12)}. Each agent works in its`);
      lines.push(`own git worktree and branch; finished work is merged into the team branch${check}. Your checkout is`);
      lines.push(`left alone: take the work with \`git merge ${team.branch}\`.`);
    } else {
      const why = args.worktrees === false ? "--no-worktrees" : (probeRepo(projectRoot(workspace)).reason ?? "no git repository");
      lines.push(`Agents share the project root (${why}): two agents that edit at once may step on each other's changes.`);
    }
    lines.push("", "Next: `claude-wrapper orchestrate` starts the agents; `claude-wrapper attach --list` shows them.");
    console.log(lines.join("\n"));
  },
});
