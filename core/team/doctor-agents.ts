/**
 * `doctor`'s agent checks: one per agent CLI the team's personas (and `team start --agent`) use.
 * Each says whether the CLI is on PATH, which version answers, and whether it is logged in, all
 * asked without a turn, so nothing is spent.
 */
import { join } from "node:path";
import { agentsInUse } from "../agents/choose";
import { firstLine, runProbe, whichOn } from "../agents/probe";
import type { AgentRunner, LoginState } from "../agents/types";
import { errorMessage } from "../base/errors";
import { lstatOrUndefined, readJson } from "../base/fsx";
import { loadPersonas } from "../workspace/personas";
import { readTeam } from "../workspace/team-file";
import type { Check } from "./doctor";

export interface AgentCheckOptions {
  workspace: string;
  /** The workspace exists (else only claude, the default, is checked). */
  exists: boolean;
  env: Record<string, string | undefined>;
  home: string;
  projectRoot: string;
  /** How long `--version` and a login probe may take. */
  timeoutMs?: number;
}

/** The agent CLIs to check: what the personas and the team choose (claude when nothing says otherwise). */
export function agentsToCheck(workspace: string, exists: boolean): AgentRunner[] {
  if (!exists) return agentsInUse([]);
  return agentsInUse(loadPersonas(workspace).values(), readTeam(workspace));
}

export async function checkAgents(o: AgentCheckOptions): Promise<Check[]> {
  return await Promise.all(agentsToCheck(o.workspace, o.exists).map((r) => checkAgent(r, o)));
}

async function checkAgent(runner: AgentRunner, o: AgentCheckOptions): Promise<Check> {
  const id = runner.name;
  const title = runner.name;
  const exe = runner.executable();
  if (!exe) return { id, title, status: "ok", detail: "built in (no CLI, no account)" };
  const path = whichOn(exe, o.env);
  const install = runner.install ? `install it (\`${runner.install}\`)` : `install ${exe}`;
  if (!path) return { id, title, status: "fail", detail: `${exe} is not on PATH`, fix: `${install} or put its directory on PATH` };

  const timeoutMs = o.timeoutMs ?? 10_000;
  let version: string;
  try {
    const r = await runProbe([path, "--version"], o.env, timeoutMs);
    if (r.timedOut) return { id, title, status: "fail", detail: `${path} --version did not answer within ${Math.round(timeoutMs / 1000)} s`, fix: `run \`${exe} --version\` by hand to see what it waits for` };
    const line = firstLine(r.stdout);
    if (r.code !== 0 || !/\d+\.\d+\.\d+/.test(line)) {
      const said = firstLine(r.stderr || r.stdout);
      return { id, title, status: "fail", detail: `${path} --version failed (exit ${r.code})${said ? `: ${said}` : ""}`, fix: `re${install}` };
    }
    version = line;
  } catch (err) {
    return { id, title, status: "fail", detail: `${path} could not be run: ${errorMessage(err)}`, fix: `re${install}` };
  }

  const where = `${version} at ${path}`;
  let login: LoginState | undefined;
  try {
    login = await runner.login?.({ env: o.env, cwd: o.projectRoot, timeoutMs });
  } catch {
    login = undefined;
  }
  if (!login && runner.name === "claude") return fromGuess(where, guessClaudeLogin(o.env, o.home));
  if (!login) return { id, title, status: "unknown", detail: `${where}; whether it is logged in cannot be told without a turn` };
  if (!login.ok) return { id, title, status: "fail", detail: `${where}; ${login.detail}`, fix: login.fix };
  return { id, title, status: "ok", detail: `${where}; ${login.detail}` };
}

function fromGuess(where: string, guess: Omit<Check, "id" | "title">): Check {
  return { id: "claude", title: "claude", ...guess, detail: `${where}; ${guess.detail}` };
}

/**
 * Login state of a claude without `auth status` (older versions), as far as files and env tell.
 * Never "fail": a login may live where this cannot look (the macOS Keychain).
 */
export function guessClaudeLogin(env: Record<string, string | undefined>, home: string, platform = process.platform): Omit<Check, "id" | "title"> {
  const set = (k: string) => Boolean(env[k]?.trim());
  if (set("ANTHROPIC_API_KEY")) return { status: "ok", detail: "ANTHROPIC_API_KEY is set (not verified: a wrong key fails on the first turn)" };
  if (set("ANTHROPIC_AUTH_TOKEN")) return { status: "ok", detail: "ANTHROPIC_AUTH_TOKEN is set (not verified)" };
  if (set("CLAUDE_CODE_OAUTH_TOKEN")) return { status: "ok", detail: "CLAUDE_CODE_OAUTH_TOKEN is set (not verified)" };
  if (set("CLAUDE_CODE_USE_BEDROCK") || set("CLAUDE_CODE_USE_VERTEX") || set("CLAUDE_CODE_USE_FOUNDRY")) {
    return { status: "unknown", detail: "a cloud provider (Bedrock/Vertex/Foundry) is selected; its credentials are not checked here" };
  }
  const configDir = env.CLAUDE_CONFIG_DIR || join(home, ".claude");
  const creds = join(configDir, ".credentials.json");
  if (lstatOrUndefined(creds)?.isFile()) return { status: "ok", detail: `logged in: ${creds} exists (not verified: an expired login fails on the first turn)` };
  for (const file of [join(env.CLAUDE_CONFIG_DIR || home, ".claude.json"), join(configDir, ".claude.json")]) {
    const cfg = readJson<Record<string, unknown>>(file);
    if (cfg && typeof cfg === "object" && cfg.oauthAccount) return { status: "ok", detail: `logged in: ${file} names an account (not verified)` };
  }
  const settings = readJson<Record<string, unknown>>(join(configDir, "settings.json"));
  if (settings && typeof settings === "object" && settings.apiKeyHelper) return { status: "ok", detail: "an apiKeyHelper is configured in settings.json (not verified)" };
  const where = platform === "darwin" ? " (on macOS a login lives in the Keychain, which is not read here)" : "";
  return {
    status: "unknown",
    detail: `this claude has no \`auth status\`; no ANTHROPIC_API_KEY and no stored login found${where}`,
    fix: "if agents fail with \"Not logged in\": run `claude` and /login, or set ANTHROPIC_API_KEY",
  };
}
