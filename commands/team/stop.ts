import { defineCommand } from "citty";
import { UserError } from "../../core/base/errors";
import { paint } from "../../core/cli/output";
import { plural } from "../../core/base/format";
import { nothingStopped, stopTeam } from "../../core/team/stop";
import { resolveWorkspace } from "../../core/workspace/paths";
import { jsonArg, sharedArgs } from "../_shared";

export default defineCommand({
  meta: {
    name: "stop",
    description: "Stop the orchestrator and every agent of the workspace (also ones a crashed orchestrator left), mark sessions stopped",
  },
  args: { ...sharedArgs, ...jsonArg },
  async run({ args }) {
    const workspace = resolveWorkspace(args.workspace);

    const report = await stopTeam(workspace);

    if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      const p = paint(process.stdout);
      const lines: string[] = [];
      if (report.staleOrchestrator) lines.push(p.dim(`Removed the record of an orchestrator that was already gone (PID ${report.staleOrchestrator.pid}).`));
      if (nothingStopped(report)) lines.push(`Nothing to stop in ${workspace}.`);
      if (report.orchestrator) {
        const how = report.orchestrator.killed ? " (it ignored SIGTERM: killed)" : "";
        lines.push(`Stopped the orchestrator (PID ${report.orchestrator.pid})${how}.`);
      }
      if (report.agents.length) {
        lines.push(`Stopped ${plural(report.agents.length, "agent")} left running: ${report.agents.map((a) => `${a.id} (PID ${a.pid})`).join(", ")}.`);
      }
      if (report.marked.length) lines.push(`Marked ${plural(report.marked.length, "session")} stopped.`);
      for (const u of report.unreadable) lines.push(p.yellow(`Left ${u.id} as it is: ${u.error} (see \`claude-wrapper doctor\`).`));
      process.stdout.write(`${lines.join("\n")}\n`);
    }
    if (report.left.length) {
      throw new UserError(`still running after SIGKILL: PID ${report.left.join(", ")}; check them with \`ps -o pid,stat,cmd -p ${report.left.join(",")}\``, 1);
    }
  },
});
