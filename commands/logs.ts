import { defineCommand } from "citty";
import { paint } from "../core/cli/output";
import { showSessionLog } from "../core/views/logview";
import { findSession } from "../core/views/lookup";
import { requireWorkspace, resolveWorkspace } from "../core/workspace/paths";
import { sharedArgs } from "./_shared";

export default defineCommand({
  meta: { name: "logs", description: "Show what an agent did: its messages, tool calls, results and cost (agent.jsonl)" },
  args: {
    session: { type: "positional", description: "Session id, name (manager, engineer-1, …) or a unique prefix; archived ones too", required: true },
    follow: { type: "boolean", alias: "f", description: "Keep printing as the agent works, until its session completes (Ctrl-C to stop)" },
    ...sharedArgs,
    json: { type: "boolean", description: "Print the raw stream-json lines (one JSON object per line)" },
  },
  async run({ args }) {
    const workspace = resolveWorkspace(args.workspace);
    requireWorkspace(workspace);
    const row = findSession(workspace, args.session);

    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);

    const ended = await showSessionLog({
      row,
      workspace,
      follow: Boolean(args.follow),
      json: Boolean(args.json),
      write: (text) => process.stdout.write(text),
      note: (text) => process.stderr.write(`${text}\n`),
      render: { palette: paint(process.stdout), cwd: process.cwd() },
      signal: stop.signal,
    });

    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (ended === "archived" || ended === "completed") process.stderr.write(`${row.id} ${ended}; stopped following\n`);
    if (ended === "gone") process.stderr.write(`${row.id} is gone from the workspace; stopped following\n`);
  },
});
