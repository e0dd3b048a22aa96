import { defineCommand } from "citty";
import { basename, dirname, resolve } from "node:path";
import { SIM_PROMPT_ENV } from "../core/agents/sim";
import { UserError } from "../core/base/errors";
import { runSimTurn, stdoutWriter } from "../core/agents/simulate";
import { parseSessionId } from "../core/workspace/paths";

export default defineCommand({
  meta: {
    name: "sim-agent",
    description: "Act out one simulated agent turn in $CLAUDE_WRAPPER_SESSION_DIR (used by `demo`)",
    hidden: true,
  },
  args: {
    sessionId: { type: "string", description: "Start this conversation (first run)", valueHint: "uuid" },
    resume: { type: "string", description: "Resume this conversation", valueHint: "uuid" },
  },
  async run({ args }) {
    const dirEnv = process.env.CLAUDE_WRAPPER_SESSION_DIR;
    if (!dirEnv) throw new UserError("sim-agent runs inside a session: set CLAUDE_WRAPPER_SESSION_DIR (the orchestrator does)");
    if (!args.sessionId === !args.resume) throw new UserError("sim-agent needs exactly one of --session-id <uuid> or --resume <uuid>");
    const sessionDir = resolve(dirEnv);
    const sessionId = process.env.CLAUDE_WRAPPER_SESSION_ID || basename(sessionDir);
    const persona = process.env.CLAUDE_WRAPPER_PERSONA || parseSessionId(sessionId)?.persona || "";

    const code = await runSimTurn({
      sessionId,
      sessionDir,
      workspace: resolve(process.env.CLAUDE_WRAPPER_WORKSPACE || dirname(sessionDir)),
      persona,
      agentSessionId: (args.sessionId || args.resume)!,
      first: Boolean(args.sessionId),
      prompt: process.env[SIM_PROMPT_ENV] ?? "",
      pace: Number(process.env.CLAUDE_WRAPPER_SIM_PACE ?? 1) || 0,
      fail: process.env.CLAUDE_WRAPPER_SIM_FAIL,
      write: stdoutWriter,
    });
    process.exit(code);
  },
});
