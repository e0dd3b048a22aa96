import { defineCommand } from "citty";
import { consola } from "consola";
import { DEMO_GOAL, runDemo } from "../core/team/demo";
import { createEmitter } from "../core/supervisor/events";

export default defineCommand({
  meta: { name: "demo", description: "Watch a whole team lifecycle in a temp workspace, with a simulated agent (no API key needed)" },
  args: {
    json: { type: "boolean", description: "Print the orchestrator's events as JSON lines, then a JSON summary" },
    timeout: { type: "string", description: "Give up after this many seconds", default: "60", valueHint: "s" },
  },
  async run({ args }) {
    const timeoutMs = Math.max(1, Number(args.timeout) || 60) * 1000;
    if (!args.json) {
      consola.box(`claude-wrapper demo\n\nGoal: "${DEMO_GOAL}"\nA manager and an architect start; the manager asks for an engineer, the engineer for an intern.\nThe agents are simulated (the binary re-runs itself), the orchestrator and files are real.`);
    }

    const result = await runDemo({
      emit: createEmitter(!!args.json),
      warn: (m) => (args.json ? process.stderr.write(`${m}\n`) : consola.warn(m)),
      timeoutMs,
    });

    if (args.json) {
      console.log(JSON.stringify({ summary: result }));
    } else {
      const ws = JSON.stringify(result.workspace);
      (result.finished ? consola.success : consola.warn)(
        `${result.finished ? "Done" : "Stopped at the time limit"}: ${result.archived} sessions archived, $${result.costUsd.toFixed(4)} simulated cost, ${result.seconds.toFixed(1)} s`,
      );
      consola.log(`\nThe workspace is kept at ${result.workspace}\nLook inside:\n  claude-wrapper attach --list --all --workspace ${ws}\n  claude-wrapper team status --workspace ${ws}\n  claude-wrapper logs <session-id> --workspace ${ws}\n  claude-wrapper attach <session-id> --workspace ${ws}\n`);
    }
    process.exit(result.finished ? 0 : 1);
  },
});
