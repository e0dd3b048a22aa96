/**
 * Can the team's agent CLIs run? Each is asked without spending anything (see each runner's
 * `login`), all at once. `orchestrate` refuses to start agents when one cannot; `doctor` reports.
 */
import { UserError } from "../base/errors";
import type { AgentRunner, LoginProbe, LoginState } from "./types";

export interface AgentLogin {
  agent: string;
  /** undefined: it cannot be told from outside (then the first turn will tell). */
  state: LoginState | undefined;
}

export async function checkAgentLogins(runners: readonly AgentRunner[], env: Record<string, string | undefined>, opts: Omit<LoginProbe, "env"> = {}): Promise<AgentLogin[]> {
  return await Promise.all(
    runners.map(async (r) => {
      let state: LoginState | undefined;
      try {
        state = await r.login?.({ env, ...opts });
      } catch {
        state = undefined;
      }
      return { agent: r.name, state };
    }),
  );
}

/** The first CLI that cannot run, as the one line `orchestrate` refuses with (exit 1). */
export async function requireAgentLogins(runners: readonly AgentRunner[], env: Record<string, string | undefined>, opts: Omit<LoginProbe, "env"> = {}): Promise<void> {
  for (const { agent, state } of await checkAgentLogins(runners, env, opts)) {
    if (state && !state.ok) throw new UserError(`${agent} cannot run: ${state.detail}; ${state.fix ?? "log it in"}, then start \`claude-wrapper orchestrate\` again`, 1);
  }
}
