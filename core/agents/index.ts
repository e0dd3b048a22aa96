import { UserError } from "../base/errors";
import { claudeRunner } from "./claude";
import { simRunner } from "./sim";
import type { AgentRunner } from "./types";

export type { AgentRunner, AgentTurn } from "./types";

const RUNNERS: Record<string, AgentRunner> = {
  claude: claudeRunner,
  sim: simRunner,
};

export function knownRunners(): string[] {
  return Object.keys(RUNNERS);
}

/** The runner for a persona's `agent:` (`claude`, `sim`); anything else is the user's mistake. */
export function runnerFor(name: string): AgentRunner {
  const runner = Object.hasOwn(RUNNERS, name) ? RUNNERS[name] : undefined;
  if (!runner) throw new UserError(`unknown agent "${name}" (known agents: ${knownRunners().join(", ")})`);
  return runner;
}
