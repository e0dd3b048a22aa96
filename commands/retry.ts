import { defineCommand } from "citty";
import { type ResumeReport, retrySession } from "../core/team/resume";
import { resolveWorkspace } from "../core/workspace/paths";
import { jsonArg, sharedArgs } from "./_shared";

export function describeResume(head: string, r: ResumeReport): string {
  const names = r.sessions.map((s) => (s.name === s.id ? s.id : `${s.name} (${s.id}, was ${s.was})`)).join(", ");
  const when = r.orchestrator
    ? `the orchestrator (PID ${r.orchestrator.pid}) resumes them now`
    : "no orchestrator is running: they resume when `claude-wrapper orchestrate` starts";
  return `✔ ${head}: ${names}\n  ${when}`;
}

export default defineCommand({
  meta: { name: "retry", description: "Run a failed or stopped session again, continuing its conversation" },
  args: {
    session: { type: "positional", description: "Session id, name (manager, engineer-1, …) or a unique prefix", required: true },
    ...sharedArgs,
    ...jsonArg,
  },
  run({ args }) {
    const r = retrySession(resolveWorkspace(args.workspace), args.session);
    if (args.json) {
      console.log(JSON.stringify(r, null, 2));
      return;
    }
    console.log(describeResume("Retrying", r));
  },
});
