import { readdirSync } from "node:fs";
import { join } from "node:path";
import engineeringManager from "../../personas/engineering-manager.md" with { type: "text" };
import intern from "../../personas/intern.md" with { type: "text" };
import softwareEngineer from "../../personas/software-engineer.md" with { type: "text" };
import solutionsArchitect from "../../personas/solutions-architect.md" with { type: "text" };
import { knownRunners } from "../agents/index";
import { lstatOrUndefined } from "../base/fsx";
import { readText } from "../base/read-text";
import { PLACEHOLDERS } from "./persona-render";
import type { TeamRecord } from "./team-file";
import { isPersonaName } from "./paths";

export { renderPersona, requestExample, assignExample, type RenderContext, type Teammate } from "./persona-render";

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
  /** The agent its frontmatter names, if any (a team's `--agent` applies where it names none). */
  declaredAgent?: string;
  /**
   * In a git team, its sessions run in a worktree and branch of their own (default); `worktree:
   * false` runs them in the project root, the user's checkout, as without git.
   */
  worktree: boolean;
  body: string;
  source: "built-in" | "workspace";
}

/** Something wrong with a persona file, named by its path. */
export interface PersonaProblem {
  file: string;
  persona: string;
  /** `error`: the file is not used (the built-in one is, if there is one); `warning`: it is used. */
  level: "error" | "warning";
  reason: string;
  /** A built-in persona of that name exists (and is what runs while the file has an error). */
  builtIn: boolean;
}

export interface PersonaSet {
  personas: Map<string, Persona>;
  problems: PersonaProblem[];
}

/** Claude Code's `--permission-mode` values (see shared/CLAUDE-CLI.md). */
export const PERMISSION_MODES = ["acceptEdits", "auto", "bypassPermissions", "default", "dontAsk", "plan"];
/** Model names and aliases as agent CLIs take them (`opus`, `claude-sonnet-4-5`, Bedrock ids/ARNs). */
export const MODEL_RE = /^[A-Za-z0-9][A-Za-z0-9._:@/[\]-]{0,199}$/;
export const MAX_PERSONA_BYTES = 256 * 1024;

const FIELDS = ["label", "canRequest", "model", "permissionMode", "allowedTools", "agent", "worktree"] as const;
type Field = (typeof FIELDS)[number];
/** The dashed spellings older templates used. */
const ALIASES: Record<string, Field> = { "can-request": "canRequest", "permission-mode": "permissionMode", "allowed-tools": "allowedTools" };

/**
 * Split `---` YAML frontmatter from the body. No frontmatter: all defaults. An opening `---`
 * without a closing one is a mistake, not a body that happens to start with a rule.
 */
export function splitFrontmatter(text: string): { yaml: string | undefined; body: string } {
  const open = /^---[ \t]*\r?\n/.exec(text);
  if (!open) return { yaml: undefined, body: text };
  const close = /^(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/m;
  const rest = text.slice(open[0].length);
  const m = close.exec(rest);
  if (!m) throw new Error("the frontmatter opened with --- is never closed by a --- line");
  return { yaml: rest.slice(0, m.index), body: rest.slice(m.index + m[0].length) };
}

/**
 * Frontmatter as a plain object, or the first parse error. Parsed by the runtime's YAML parser
 * (native: every listing loads the personas, and the `yaml` package costs ~15 ms to load); a text
 * it refuses, or one repeating a key (which it would let the last one win), is read again by the
 * `yaml` package for an error that says where.
 */
export function parseFrontmatter(text: string): { data: Record<string, unknown>; body: string } {
  const { yaml, body } = splitFrontmatter(text);
  if (yaml === undefined || !yaml.trim()) return { data: {}, body };
  let data: unknown;
  try {
    data = repeatsKey(yaml) ? explainYaml(yaml) : Bun.YAML.parse(yaml);
  } catch {
    data = explainYaml(yaml);
  }
  if (data === null || data === undefined) return { data: {}, body };
  if (typeof data !== "object" || Array.isArray(data)) throw new Error("frontmatter must be `key: value` lines (a YAML mapping)");
  return { data: data as Record<string, unknown>, body };
}

function repeatsKey(yaml: string): boolean {
  const keys = [...yaml.matchAll(/^([A-Za-z_][\w-]*)\s*:/gm)].map((m) => m[1]);
  return new Set(keys).size !== keys.length;
}

/** The `yaml` package's reading: its first error (with the line), else the document. */
function explainYaml(yaml: string): unknown {
  const { parseDocument } = require("yaml") as typeof import("yaml");
  const doc = parseDocument(yaml, { uniqueKeys: true, prettyErrors: true });
  const err = doc.errors[0] ?? doc.warnings[0];
  if (err) throw new Error(`frontmatter is not valid YAML: ${err.message.split("\n")[0]}`);
  return doc.toJS({ maxAliasCount: 50 });
}

/** A list field: a YAML list of names, or one line of names separated by commas or spaces. */
function nameList(field: string, v: unknown, errors: string[]): string[] {
  if (v === undefined || v === null) return [];
  const items = typeof v === "string" ? v.split(/[,\s]+/).filter(Boolean) : Array.isArray(v) ? v : undefined;
  if (!items) {
    errors.push(`${field} must be a list, e.g. ${field}: [a, b]`);
    return [];
  }
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== "string" || !item.trim()) errors.push(`${field} holds ${JSON.stringify(item)}, not a name`);
    else out.push(item.trim());
  }
  return out;
}

function text(field: string, v: unknown, errors: string[]): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || !v.trim()) {
    errors.push(`${field} must be text, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v.trim();
}

export interface PersonaCheck {
  persona?: Persona;
  errors: string[];
  warnings: string[];
}

/** Parse and validate one template; with errors it answers no persona. */
export function checkPersona(name: string, source: string, origin: Persona["source"], agents: string[] = knownRunners()): PersonaCheck {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (source.includes("\0")) return { errors: ["it holds NUL bytes: a template is a text (Markdown) file"], warnings };
  let parsed: { data: Record<string, unknown>; body: string };
  try {
    parsed = parseFrontmatter(source);
  } catch (err) {
    return { errors: [(err as Error).message], warnings };
  }
  const raw: Partial<Record<Field, unknown>> = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    const field = (FIELDS as readonly string[]).includes(key) ? (key as Field) : ALIASES[key];
    if (field) raw[field] = value;
    else errors.push(`unknown field ${JSON.stringify(key)} (known: ${FIELDS.join(", ")})`);
  }
  const label = text("label", raw.label, errors);
  const canRequest = nameList("canRequest", raw.canRequest, errors);
  for (const p of canRequest) if (!isPersonaName(p)) errors.push(`canRequest holds "${p}", which is not a persona name (lowercase words joined by dashes)`);
  const model = text("model", raw.model, errors);
  if (model && !MODEL_RE.test(model)) errors.push(`model "${model}" is not a model name (e.g. opus, sonnet, haiku, claude-sonnet-4-5)`);
  const permissionMode = text("permissionMode", raw.permissionMode, errors);
  if (permissionMode && !PERMISSION_MODES.includes(permissionMode)) errors.push(`permissionMode "${permissionMode}" is not one of ${PERMISSION_MODES.join(", ")}`);
  if (permissionMode === "bypassPermissions") warnings.push("permissionMode: bypassPermissions lets its agent run any command without asking; acceptEdits is the usual choice");
  const allowedTools = nameList("allowedTools", raw.allowedTools, errors);
  // The CLI takes them as one comma-separated argument: a comma inside one would split it.
  for (const t of allowedTools) if (t.includes(",")) errors.push(`allowedTools holds "${t}"; a tool pattern cannot contain a comma`);
  const agent = text("agent", raw.agent, errors) ?? "claude";
  if (raw.worktree !== undefined && raw.worktree !== null && typeof raw.worktree !== "boolean") errors.push(`worktree must be true or false, got ${JSON.stringify(raw.worktree)}`);
  const worktree = raw.worktree !== false;
  if (!agents.includes(agent)) errors.push(`unknown agent "${agent}" (known agents: ${agents.join(", ")})`);
  const { body } = parsed;
  if (!body.trim()) warnings.push("the template body is empty: its agent would get no instructions");
  const unknown = [...new Set([...body.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!))].filter((k) => !Object.hasOwn(PLACEHOLDERS, k));
  if (unknown.length) warnings.push(`unknown placeholder${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `{{${k}}}`).join(", ")} (left as written)`);
  if (errors.length) return { errors, warnings };
  return {
    persona: { name, label: label ?? name, canRequest, model, permissionMode, allowedTools, agent, declaredAgent: text("agent", raw.agent, []), worktree, body, source: origin },
    errors,
    warnings,
  };
}

/** One template as a Persona; throws with every error in one message. */
export function parsePersona(name: string, source: string, origin: Persona["source"]): Persona {
  const c = checkPersona(name, source, origin);
  if (!c.persona) throw new Error(c.errors.join("; "));
  return c.persona;
}

export function personasDir(workspace: string): string {
  return join(workspace, "personas");
}

let builtIns: Map<string, Persona> | undefined;

function builtInPersonas(): Map<string, Persona> {
  if (!builtIns) {
    builtIns = new Map();
    for (const [name, source] of Object.entries(BUILT_IN)) builtIns.set(name, parsePersona(name, source, "built-in"));
  }
  return builtIns;
}

/**
 * Built-in personas, overridden or extended by `<workspace>/personas/<persona>.md`, with what is
 * wrong in those files. A file with an error is not used: the built-in persona of that name runs
 * (if there is one), so a broken override never takes a working persona away.
 */
export function loadPersonaSet(workspace: string): PersonaSet {
  const personas = new Map(builtInPersonas());
  const problems: PersonaProblem[] = [];
  const dir = personasDir(workspace);
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".md")).sort();
  } catch {}
  const fromFiles = new Map<string, string>();
  for (const file of files) {
    const name = file.slice(0, -3);
    const path = join(dir, file);
    const builtIn = Object.hasOwn(BUILT_IN, name);
    const problem = (level: PersonaProblem["level"], reason: string) => problems.push({ file: path, persona: name, level, reason, builtIn });
    if (!isPersonaName(name) || name.includes("-request")) {
      problem("warning", 'ignored: a persona name is lowercase words joined by dashes, without "-request"');
      continue;
    }
    const st = lstatOrUndefined(path);
    if (!st?.isFile()) {
      problem("error", "not a regular file (symlinks are not followed)");
      continue;
    }
    if (st.size > MAX_PERSONA_BYTES) {
      problem("error", `larger than ${MAX_PERSONA_BYTES / 1024} KB`);
      continue;
    }
    const source = readText(path, MAX_PERSONA_BYTES);
    if (source === undefined) {
      problem("error", "unreadable");
      continue;
    }
    const c = checkPersona(name, source, "workspace");
    for (const e of c.errors) problem("error", e);
    for (const w of c.warnings) problem("warning", w);
    if (c.persona) {
      personas.set(name, c.persona);
      fromFiles.set(name, path);
    }
  }
  // Known only once every file is read: a persona may name one defined after it.
  for (const [name, path] of fromFiles) {
    const unknown = personas.get(name)!.canRequest.filter((p) => !personas.has(p));
    if (unknown.length) {
      problems.push({ file: path, persona: name, level: "warning", reason: `canRequest names unknown personas: ${unknown.join(", ")}`, builtIn: Object.hasOwn(BUILT_IN, name) });
    }
  }
  return { personas, problems };
}

/** Built-in personas, overridden or extended by the workspace's files (see loadPersonaSet). */
export function loadPersonas(workspace: string): Map<string, Persona> {
  return loadPersonaSet(workspace).personas;
}

export function builtInPersonaNames(): string[] {
  return Object.keys(BUILT_IN);
}

export function knownPersona(workspace: string, name: string): boolean {
  return loadPersonas(workspace).has(name);
}

/**
 * The model a session of `persona` runs on: `team start --model-for <persona>=X`, else the team's
 * `--model`, else the persona's `model:` (a workspace file's, else the built-in default). None of
 * them: the agent CLI's own default.
 */
export function modelFor(persona: Pick<Persona, "name" | "model">, team?: Pick<TeamRecord, "model" | "modelFor">): string | undefined {
  const per = team?.modelFor;
  const chosen = per && typeof per === "object" && Object.hasOwn(per, persona.name) ? per[persona.name] : undefined;
  for (const m of [chosen, team?.model, persona.model]) if (typeof m === "string" && MODEL_RE.test(m)) return m;
  return undefined;
}
