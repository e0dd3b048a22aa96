import { defineCommand } from "citty";
import { knownRunners } from "../core/agents/index";
import { UserError } from "../core/base/errors";
import { log } from "../core/cli/output";
import { createEmitter, createWarn } from "../core/supervisor/events";
import { Orchestrator } from "../core/supervisor/orchestrator";
import { requireWorkspace, resolveWorkspace } from "../core/workspace/paths";
import { sharedArgs } from "./_shared";

function parseLimit(flag: string, raw: string | undefined, integer: boolean): number {
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new UserError(`--${flag} must be ${integer ? "a whole number" : "a number"} ≥ 0, got "${raw}"`);
  }
  return n;
}

export default defineCommand({
  meta: { name: "orchestrate", description: "Supervise the team: claim requests, run one agent per session, archive finished ones" },
  args: {
    "max-agents": { type: "string", description: "Run at most N agents at once; the rest wait as queued (0 = no limit)", valueHint: "n" },
    "budget-usd": { type: "string", description: "Stop starting or resuming agents once the team has spent this much", valueHint: "usd" },
    agent: { type: "enum", options: knownRunners(), description: "Run every session with this agent CLI, over persona files and `team start --agent`" },
    "dangerously-skip-permissions": { type: "boolean", description: "Agents run unattended with no permission checks (claude --dangerously-skip-permissions, codex --dangerously-bypass-approvals-and-sandbox, gemini --approval-mode=yolo)" },
    "exit-when-done": { type: "boolean", description: "Exit (0) once the manager's session completes, pausing whatever still runs" },
    json: { type: "boolean", description: "Print one JSON event per line" },
    ...sharedArgs,
  },
  async run({ args }) {
    const maxAgents = parseLimit("max-agents", args["max-agents"], true);
    const budgetUsd = parseLimit("budget-usd", args["budget-usd"], false);
    const workspace = resolveWorkspace(args.workspace);
    requireWorkspace(workspace);

    const orchestrator = new Orchestrator({
      workspace,
      maxAgents,
      budgetUsd,
      skipPermissions: !!args["dangerously-skip-permissions"],
      agent: args.agent,
      exitWhenDone: !!args["exit-when-done"],
      emit: createEmitter(!!args.json),
      warn: createWarn(!!args.json),
    });

    let signals = 0;
    const stop = async (signal: NodeJS.Signals) => {
      if (++signals > 1) process.exit(130);
      if (!args.json) log().log(`🛑 ${signal}: stopping the team's agents…`);
      await orchestrator.shutdown();
      process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    process.on("SIGHUP", stop);

    await orchestrator.start();
    // Runs until a signal, or until it ends by itself (team done with --exit-when-done, or the
    // workspace removed under it).
    process.exit(await orchestrator.finished);
  },
});
