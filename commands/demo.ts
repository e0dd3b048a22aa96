import { defineCommand } from "citty";
import { resolve } from "node:path";
import { UserError } from "../core/base/errors";
import { banner, log } from "../core/cli/output";
import { createEmitter, createWarn } from "../core/supervisor/events";
import { DEMO_GOAL, SLOW_PACE, newDemoWorkspace, runDemo, selfCommand, shellQuote } from "../core/team/demo";
import { formatCost } from "../core/base/format";

export default defineCommand({
  meta: { name: "demo", description: "Watch a whole team lifecycle with simulated agents (no API key needed), in a temp workspace" },
  args: {
    slow: { type: "boolean", description: "Pace the simulated agents (about a minute) so `track` can follow along" },
    workspace: { type: "string", alias: "w", description: "Run in this workspace instead of a new temp one (it must not hold a live team)", valueHint: "dir" },
    timeout: { type: "string", description: "Give up after this many seconds (default: 60, with --slow 300)", valueHint: "s" },
    json: { type: "boolean", description: "Print the orchestrator's events as JSON lines, then a JSON summary" },
  },
  async run({ args }) {
    const seconds = args.timeout === undefined ? (args.slow ? 300 : 60) : Number(args.timeout);
    if (!(seconds > 0)) throw new UserError(`--timeout must be a number of seconds > 0, got "${args.timeout}"`);
    const workspace = args.workspace ? resolve(args.workspace) : newDemoWorkspace();
    const self = selfCommand();
    const ws = shellQuote(workspace);

    if (!args.json) {
      banner(
        `claude-wrapper demo\n\nGoal: "${DEMO_GOAL}"\nA manager and an architect start; the manager asks for an engineer, the engineer for an intern.\nThe agents are simulated (the binary re-runs itself), the orchestrator and files are real.`,
      );
      process.stdout.write(`Workspace: ${workspace}\nWatch it from another terminal:\n  ${self} track -w ${ws}\n\n`);
    }

    const result = await runDemo({
      emit: createEmitter(!!args.json),
      warn: createWarn(!!args.json),
      timeoutMs: seconds * 1000,
      workspace,
      pace: args.slow ? SLOW_PACE : undefined,
    });

    if (args.json) {
      console.log(JSON.stringify({ summary: result }));
    } else {
      const what = `${result.archived} sessions archived, ${formatCost(result.costUsd)} simulated cost, ${result.seconds.toFixed(1)} s`;
      if (result.finished) log().success(`Done: ${what}`);
      else log().warn(`Stopped at the time limit: ${what}`);
      process.stdout.write(
        [
          "",
          `The workspace is kept at ${result.workspace}`,
          "Look inside:",
          `  ${self} team status -w ${ws}`,
          `  ${self} attach --list --all -w ${ws}`,
          `  ${self} logs manager -w ${ws}`,
          `  ${self} attach manager -w ${ws}`,
          "",
        ].join("\n"),
      );
    }
    process.exit(result.finished ? 0 : 1);
  },
});
