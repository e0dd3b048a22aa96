import { defineCommand } from "citty";
import { type Check, runDoctor } from "../core/team/doctor";
import { UserError } from "../core/base/errors";
import { paint } from "../core/cli/output";
import { plural } from "../core/base/format";
import { resolveWorkspace } from "../core/workspace/paths";
import { jsonArg, sharedArgs } from "./_shared";

const MARK: Record<Check["status"], string> = { ok: "✔", warn: "!", fail: "✖", unknown: "?" };

export default defineCommand({
  meta: { name: "doctor", description: "Check each agent CLI the team uses (on PATH, version, logged in), file-watch limits and the workspace; exit 1 if something is broken" },
  args: {
    agents: { type: "string", description: "Agents you plan to run at once (default: the live sessions, at least 4)", valueHint: "n" },
    ...sharedArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const workspace = resolveWorkspace(args.workspace);
    let plannedAgents: number | undefined;
    if (args.agents !== undefined) {
      if (!/^\d+$/.test(String(args.agents).trim())) throw new UserError(`--agents must be a whole number, got "${args.agents}"`);
      plannedAgents = Number(args.agents);
    }

    const report = await runDoctor({ workspace, plannedAgents });

    if (args.json) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      const p = paint(process.stdout);
      const mark = { ok: p.green, warn: p.bold, fail: p.red, unknown: p.dim } as const;
      for (const c of report.checks) {
        console.log(`${mark[c.status](MARK[c.status])} ${c.title.padEnd(12)} ${c.detail}`);
        if (c.fix && c.status !== "ok") console.log(`  ${" ".repeat(12)} fix: ${c.fix}`);
      }
      const failed = report.checks.filter((c) => c.status === "fail").length;
      console.log(failed ? p.red(`\n${plural(failed, "check")} failed`) : p.green("\nAll checks passed"));
    }
    if (!report.ok) process.exitCode = 1;
  },
});
