import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import engineeringManager from "../../personas/engineering-manager.md" with { type: "text" };
import intern from "../../personas/intern.md" with { type: "text" };
import softwareEngineer from "../../personas/software-engineer.md" with { type: "text" };
import solutionsArchitect from "../../personas/solutions-architect.md" with { type: "text" };
import { readText } from "../base/read-text";
import { isPersonaName } from "./paths";

/** Built-in templates, embedded in the binary so it runs copied alone. */
const BUILT_IN: Record<string, string> = {
  "engineering-manager": engineeringManager,
  "solutions-architect": solutionsArchitect,
  "software-engineer": softwareEngineer,
  intern,
};

export interface Persona {
  name: string;
  label: string;
  /** Personas this one may ask for. */
  canRequest: string[];
  model?: string;
  permissionMode?: string;
  allowedTools: string[];
  /** Agent CLI that runs it (`claude` by default). */
  agent: string;
  body: string;
  source: "built-in" | "workspace";
}

type Front = Record<string, string | string[]>;

function unquote(v: string): string {
  const t = v.trim();
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.slice(1, -1);
  return t;
}

/**
 * The frontmatter subset templates use: `key: value`, `key: [a, b]` and `key:` followed by
 * `- item` lines. Anything richer is a template mistake and is reported, not guessed at.
 */
export function parseFrontmatter(text: string): { data: Front; body: string } {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  if (!m) return { data: {}, body: text };
  const data: Front = {};
  let listKey: string | undefined;
  for (const raw of m[1]!.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, "");
    if (!line.trim()) continue;
    const item = /^\s*-\s+(.*)$/.exec(line);
    if (item && listKey) {
      (data[listKey] as string[]).push(unquote(item[1]!));
      continue;
    }
    const kv = /^([A-Za-z][\w-]*)\s*:\s*(.*)$/.exec(line);
    if (!kv) throw new Error(`frontmatter line not understood: ${raw.trim()}`);
    const [, key, value] = kv as unknown as [string, string, string];
    listKey = undefined;
    if (value === "") {
      data[key] = [];
      listKey = key;
    } else if (value.startsWith("[") && value.endsWith("]")) {
      data[key] = value.slice(1, -1).split(",").map(unquote).filter(Boolean);
    } else {
      data[key] = unquote(value);
    }
  }
  return { data, body: text.slice(m[0].length) };
}

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : v.split(/[,\s]+/).filter(Boolean);
}

function asString(v: string | string[] | undefined): string | undefined {
  return typeof v === "string" && v ? v : undefined;
}

export function parsePersona(name: string, text: string, source: Persona["source"]): Persona {
  const { data, body } = parseFrontmatter(text);
  return {
    name,
    label: asString(data.label) ?? name,
    canRequest: asList(data.canRequest ?? data["can-request"]),
    model: asString(data.model),
    permissionMode: asString(data.permissionMode ?? data["permission-mode"]),
    allowedTools: asList(data.allowedTools ?? data["allowed-tools"]),
    agent: asString(data.agent) ?? "claude",
    body,
    source,
  };
}

export function personasDir(workspace: string): string {
  return join(workspace, "personas");
}

/** Built-in personas, overridden or extended by `<workspace>/personas/<persona>.md`. */
export function loadPersonas(workspace: string): Map<string, Persona> {
  const out = new Map<string, Persona>();
  for (const [name, text] of Object.entries(BUILT_IN)) out.set(name, parsePersona(name, text, "built-in"));
  let files: string[] = [];
  try {
    files = readdirSync(personasDir(workspace));
  } catch {}
  for (const file of files) {
    if (!file.endsWith(".md")) continue;
    const name = file.slice(0, -3);
    if (!isPersonaName(name) || name.includes("-request")) continue;
    const text = readText(join(personasDir(workspace), file), 256 * 1024);
    if (text === undefined) continue;
    try {
      out.set(name, parsePersona(name, text, "workspace"));
    } catch {
      // A broken override must not take the built-in away; `doctor` reports it.
    }
  }
  return out;
}

export function builtInPersonaNames(): string[] {
  return Object.keys(BUILT_IN);
}

export interface RenderContext {
  sessionId: string;
  sessionDir: string;
  workspace: string;
  projectRoot: string;
  name: string;
  goal: string;
  requestedBy: string | null;
  personas: Map<string, Persona>;
}

/** Single-quote for a POSIX shell: the path may hold spaces, and `<short-name>` must not redirect. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The shell lines an agent runs to ask for a teammate (relative to the project root). */
export function requestExample(workspaceRel: string, persona: string, sessionId: string): string {
  const dir = `${workspaceRel}/${persona}-request-<short-name>`;
  return [
    `mkdir -p ${shellQuote(dir)}`,
    `cat > ${shellQuote(`${dir}/instructions.md`)} <<'EOF'`,
    `## Instructions from ${sessionId}`,
    "",
    "<what you need done, the files involved, and how you will know it is finished>",
    "EOF",
  ].join("\n");
}

/** Fill `{{placeholders}}` in a persona body. Unknown placeholders are left as they are. */
export function renderPersona(persona: Persona, ctx: RenderContext): string {
  const rel = relative(ctx.projectRoot, ctx.workspace) || ".";
  const requestable = persona.canRequest.filter((p) => ctx.personas.has(p));
  const requestableList = requestable.length
    ? requestable.map((p) => `- \`${p}\` (${ctx.personas.get(p)!.label})`).join("\n")
    : "- nobody: you do the work yourself and report to whoever asked for it.";
  const values: Record<string, string> = {
    sessionId: ctx.sessionId,
    sessionDir: ctx.sessionDir,
    workspace: ctx.workspace,
    workspaceRel: rel,
    projectRoot: ctx.projectRoot,
    persona: persona.name,
    label: persona.label,
    name: ctx.name,
    goal: ctx.goal || "(no team goal recorded)",
    requestedBy: ctx.requestedBy ?? "the user",
    requestableList,
    requestExample: requestExample(rel, requestable[0] ?? "software-engineer", ctx.sessionId),
  };
  return persona.body.replace(/\{\{\s*(\w+)\s*\}\}/g, (all, key: string) => values[key] ?? all);
}

export function knownPersona(workspace: string, name: string): boolean {
  return loadPersonas(workspace).has(name);
}

