import { mkdirSync, readdirSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { UserError } from "../base/errors";
import { lstatOrUndefined } from "../base/fsx";

export const DEFAULT_WORKSPACE = ".database";
export const WORKSPACE_ENV = "CLAUDE_WRAPPER_WORKSPACE";
/** The team roster the orchestrator keeps at the top of the workspace (see roster.ts). */
export const ROSTER_FILE = "ROSTER.md";

/**
 * The workspace a command works on: `--workspace`, else `$CLAUDE_WRAPPER_WORKSPACE`, else the
 * nearest `.database` directory found walking up from the current directory (as git finds its
 * repository), else `.database` under the current directory (where `team start` makes one).
 */
export function resolveWorkspace(flag?: string, cwd: string = process.cwd()): string {
  const chosen = flag || process.env[WORKSPACE_ENV];
  if (chosen) return resolve(cwd, chosen);
  return findWorkspaceUp(cwd) ?? join(resolve(cwd), DEFAULT_WORKSPACE);
}

/**
 * The nearest `<dir>/.database` that is a real directory (a symlink is not followed), from `start`
 * up. The walk ends at the filesystem root, and at the top of the git repository `start` is in
 * (a directory holding a `.git` directory): a workspace above it belongs to another project. A
 * `.git` file (a linked worktree, a submodule) does not end it: those live inside a project.
 */
export function findWorkspaceUp(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, DEFAULT_WORKSPACE);
    if (lstatOrUndefined(candidate)?.isDirectory()) return candidate;
    if (lstatOrUndefined(join(dir, ".git"))?.isDirectory()) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The project root is the workspace's parent: agents run there. */
export function projectRoot(workspace: string): string {
  return resolve(workspace, "..");
}

export function ensureWorkspace(workspace: string): void {
  const st = lstatOrUndefined(workspace);
  if (st && !st.isDirectory()) {
    throw new UserError(`workspace ${workspace} exists but is not a directory; pass --workspace DIR`);
  }
  try {
    mkdirSync(workspace, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOTDIR" || code === "EEXIST"
        ? "a parent of it is a file, not a directory"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : code === "EROFS"
            ? "the filesystem is read-only"
            : (err as Error).message;
    throw new UserError(`cannot create workspace ${workspace}: ${why}; pass --workspace DIR`, 1);
  }
}

export function requireWorkspace(workspace: string): void {
  if (!lstatOrUndefined(workspace)?.isDirectory()) {
    // Not named by --workspace or the environment, and found nowhere up the tree.
    const searched = !process.env[WORKSPACE_ENV] && workspace === join(resolve(process.cwd()), DEFAULT_WORKSPACE) ? " (nor in a parent directory)" : "";
    throw new UserError(
      `no workspace at ${workspace}${searched}; start a team with \`claude-wrapper team start "<goal>"\` or pass --workspace DIR`,
      3,
    );
  }
}

/** True when `path` is `root` or lies below it, judged on the resolved real paths. */
export function isInside(root: string, path: string): boolean {
  let realRoot = root;
  let realPath = path;
  try {
    realRoot = realpathSync(root);
  } catch {}
  try {
    realPath = realpathSync(path);
  } catch {
    return false;
  }
  const rel = relative(realRoot, realPath);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

const PERSONA_RE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const SESSION_RE = /^([a-z][a-z0-9]*(?:-[a-z0-9]+)*)-(\d{10,})$/;
/** A session (`<persona>-<ms>`) or its archive (`<persona>-<ms>-completed`) in one match. */
const ENTRY_RE = /^([a-z][a-z0-9]*(?:-[a-z0-9]+)*)-\d{10,}(-completed)?$/;
export const REQUEST_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const REQUEST_MARK = "-request-";

export function isPersonaName(name: string): boolean {
  return PERSONA_RE.test(name);
}

export function parseSessionId(id: string): { persona: string; ms: number } | undefined {
  const m = SESSION_RE.exec(id);
  return m ? { persona: m[1]!, ms: Number(m[2]) } : undefined;
}

export function parseRequestDir(dir: string): { persona: string; name: string } | undefined {
  const at = dir.indexOf(REQUEST_MARK);
  if (at <= 0) return undefined;
  return { persona: dir.slice(0, at), name: dir.slice(at + REQUEST_MARK.length) };
}

export function requestDirName(persona: string, name: string): string {
  return `${persona}${REQUEST_MARK}${name}`;
}

export function archiveDirName(id: string): string {
  return `${id}-completed`;
}

export type Entry =
  | { kind: "session"; dir: string; id: string; persona: string }
  | { kind: "archive"; dir: string; id: string; persona: string }
  | { kind: "request"; dir: string; persona: string; name: string; symlink: boolean };

/**
 * One readdir of the workspace, classified. Dot entries (our own bookkeeping, temp files) and
 * anything that is not a session, archive or request are skipped. Symlinked session dirs are
 * ignored (never followed out of the workspace); symlinked requests are reported so they can be
 * rejected with a reason.
 */
export function listEntries(workspace: string): Entry[] {
  let dirents: import("node:fs").Dirent[];
  try {
    dirents = readdirSync(workspace, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: Entry[] = [];
  // Runs once per entry of a workspace that may hold tens of thousands (every listing pays
  // it): one regex match and no intermediate objects per session.
  for (const d of dirents) {
    const dir = d.name;
    if (dir.charCodeAt(0) === 46 /* "." */) continue;
    const symlink = d.isSymbolicLink();
    if (!symlink && !d.isDirectory()) continue;
    const at = dir.indexOf(REQUEST_MARK); // parseRequestDir, inlined
    if (at > 0) {
      out.push({ kind: "request", dir, persona: dir.slice(0, at), name: dir.slice(at + REQUEST_MARK.length), symlink });
      continue;
    }
    if (symlink) continue;
    const m = ENTRY_RE.exec(dir);
    if (!m) continue;
    // The persona is what precedes the last dash of the id, as parseSessionId reads it.
    if (m[2] === undefined) out.push({ kind: "session", dir, id: dir, persona: m[1]! });
    else out.push({ kind: "archive", dir, id: dir.slice(0, -m[2].length), persona: m[1]! });
  }
  return out;
}

let lastMs = 0;

/**
 * Claim a fresh `<persona>-<ms>` directory. `mkdir` is the atomic claim: when the name is taken
 * (by another process in the same millisecond, or by an archive of that id) the ms is bumped.
 */
export function allocateSessionDir(workspace: string, persona: string): { id: string; path: string } {
  if (!isPersonaName(persona)) throw new UserError(`invalid persona name: ${persona}`);
  let ms = Math.max(Date.now(), lastMs + 1);
  for (let attempt = 0; attempt < 100_000; attempt++, ms++) {
    const id = `${persona}-${ms}`;
    if (lstatOrUndefined(join(workspace, archiveDirName(id)))) continue;
    const path = join(workspace, id);
    try {
      mkdirSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw err;
    }
    lastMs = ms;
    return { id, path };
  }
  throw new Error(`could not allocate a session id for ${persona}`);
}
