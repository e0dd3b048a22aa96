/**
 * Whether Gemini CLI can run, told without running it: it has no `auth status` command, so this
 * follows what gemini 0.61.0 does before a headless turn (validateNonInteractiveAuth): the auth
 * type from `security.auth.selectedType` in its settings, else from the environment (GCA, Vertex,
 * a gateway base URL, GEMINI_API_KEY), where a `.env` file it loads counts as environment too.
 */
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { lstatOrUndefined, readJson } from "../base/fsx";
import { readText } from "../base/read-text";
import type { LoginProbe, LoginState } from "./types";

const FIX = "set GEMINI_API_KEY (or GOOGLE_GENAI_USE_VERTEXAI=true / GOOGLE_GENAI_USE_GCA=true), or run `gemini` once and choose how to log in";

const AUTH_KEYS = [
  "GEMINI_API_KEY",
  "GOOGLE_GENAI_USE_GCA",
  "GOOGLE_GENAI_USE_VERTEXAI",
  "GOOGLE_GEMINI_BASE_URL",
  "GOOGLE_CLOUD_PROJECT",
  "GOOGLE_CLOUD_LOCATION",
  "GOOGLE_API_KEY",
  "CLOUD_SHELL",
  "GEMINI_CLI_USE_COMPUTE_ADC",
];

/** The `.env` file gemini loads: `.gemini/.env` or `.env` from the project upward, else in home. */
export function geminiEnvFile(cwd: string | undefined, home: string): string | undefined {
  const candidates = (dir: string) => [join(dir, ".gemini", ".env"), join(dir, ".env")];
  let dir = cwd;
  while (dir) {
    for (const f of candidates(dir)) if (lstatOrUndefined(f)?.isFile()) return f;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return candidates(home).find((f) => lstatOrUndefined(f)?.isFile());
}

/** The auth variables a dotenv file sets (KEY=VALUE lines; quotes stripped). */
function readDotenv(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of (readText(path, 64 * 1024) ?? "").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || !AUTH_KEYS.includes(m[1]!)) continue;
    out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, "$2");
  }
  return out;
}

export async function geminiLogin(probe: LoginProbe): Promise<LoginState> {
  return geminiLoginState(probe.env, probe.cwd);
}

export function geminiLoginState(env: Record<string, string | undefined>, cwd?: string): LoginState {
  const home = env.GEMINI_CLI_HOME || env.HOME || homedir();
  const settingsPath = join(home, ".gemini", "settings.json");
  const settings = readJson<Record<string, any>>(settingsPath);
  const selected = settings?.security?.auth?.selectedType;
  const envFile = geminiEnvFile(cwd, env.HOME || homedir());
  const fromFile = envFile ? readDotenv(envFile) : {};
  // The process environment wins over the file (gemini never overwrites a set variable).
  const get = (k: string) => env[k] || fromFile[k] || "";
  const where = (k: string) => (env[k] ? k : `${k} in ${envFile}`);

  let type: string | undefined = typeof selected === "string" && selected ? selected : undefined;
  let source = type ? `security.auth.selectedType "${type}" in ${settingsPath}` : "";
  if (!type) {
    if (get("GOOGLE_GENAI_USE_GCA") === "true") [type, source] = ["oauth-personal", `${where("GOOGLE_GENAI_USE_GCA")}=true`];
    else if (get("GOOGLE_GENAI_USE_VERTEXAI") === "true") [type, source] = ["vertex-ai", `${where("GOOGLE_GENAI_USE_VERTEXAI")}=true`];
    else if (get("GOOGLE_GEMINI_BASE_URL")) [type, source] = ["gateway", `${where("GOOGLE_GEMINI_BASE_URL")} is set`];
    else if (get("GEMINI_API_KEY")) [type, source] = ["gemini-api-key", `${where("GEMINI_API_KEY")} is set`];
    else if (get("CLOUD_SHELL") === "true" || get("GEMINI_CLI_USE_COMPUTE_ADC") === "true") [type, source] = ["compute-default-credentials", "Cloud Shell / compute credentials"];
  }
  if (!type) {
    return { ok: false, detail: `no auth method: none of GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GENAI_USE_GCA is set and ${settingsPath} selects none`, fix: FIX };
  }
  switch (type) {
    case "gemini-api-key":
      if (!get("GEMINI_API_KEY")) return { ok: false, detail: `${source}, but GEMINI_API_KEY is not set`, fix: "set GEMINI_API_KEY" };
      return { ok: true, detail: `${source.includes("GEMINI_API_KEY") ? source : `${source}, GEMINI_API_KEY is set`} (not verified: a wrong key fails on the first turn)` };
    case "vertex-ai":
      if (!(get("GOOGLE_CLOUD_PROJECT") && get("GOOGLE_CLOUD_LOCATION")) && !get("GOOGLE_API_KEY")) {
        return { ok: false, detail: `${source}, but neither GOOGLE_CLOUD_PROJECT + GOOGLE_CLOUD_LOCATION nor GOOGLE_API_KEY is set`, fix: "set GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION (or GOOGLE_API_KEY for express mode)" };
      }
      return { ok: true, detail: `Vertex AI (${source}; credentials not verified)` };
    case "oauth-personal": {
      const creds = join(home, ".gemini", "oauth_creds.json");
      if (!lstatOrUndefined(creds)?.isFile()) return { ok: false, detail: `login with Google (${source}), but ${creds} does not exist`, fix: "run `gemini` once and log in with Google" };
      return { ok: true, detail: `logged in with Google (${source}; not verified)` };
    }
    case "compute-default-credentials":
      return { ok: true, detail: `${source} (not verified)` };
    default:
      // "gateway" from the environment alone is refused by gemini ("Invalid auth method selected.").
      return { ok: false, detail: `auth type "${type}" (${source}) cannot run headless`, fix: "pick an auth type in ~/.gemini/settings.json (run `gemini` once), or unset GOOGLE_GEMINI_BASE_URL and set GEMINI_API_KEY" };
  }
}
