import { defineCommand } from "citty";
import { relative } from "node:path";
import { paint } from "../core/cli/output";
import { tellSender, tellSession } from "../core/team/tell";
import { resolveWorkspace } from "../core/workspace/paths";
import { jsonArg, sharedArgs } from "./_shared";

export default defineCommand({
  meta: { name: "tell", description: "Give an agent new instructions (appended to its instructions.md; the orchestrator wakes it)" },
  args: {
    session: { type: "positional", description: "Session id, name (manager, engineer-1, …) or a unique prefix", required: true },
    message: { type: "positional", description: 'What to tell it (quote it; "-" reads stdin)', required: true },
    ...sharedArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const workspace = resolveWorkspace(args.workspace);
    // Unquoted words after the session are one message, not a silently dropped tail.
    let message = [args.message, ...args._.slice(2)].join(" ");
    if (message === "-") message = await Bun.stdin.text();

    // Run from an agent's shell, the block says which teammate it is from.
    const told = await tellSession(workspace, args.session, message, tellSender());

    if (args.json) {
      const { session: s } = told;
      console.log(JSON.stringify({ session: s.id, name: s.name, status: s.status, from: told.from, file: told.file, bytes: told.bytes, delivery: told.delivery }));
      return;
    }
    const s = told.session;
    const p = paint(process.stdout);
    console.log(`${p.green("✔")} Told ${s.name === s.id ? s.id : `${s.name} (${s.id})`}: appended ${told.bytes} bytes to ${relative(process.cwd(), told.file)}${told.from === "user" ? "" : ` (from ${told.from})`}`);
    console.log(p.dim(`  ${told.delivery}`));
  },
});
