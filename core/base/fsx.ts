import {
  accessSync,
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { readText } from "./read-text";

let tmpCounter = 0;

/**
 * Write via a temp file in the same directory and rename over the target, so a reader sees the
 * old content or the new one, never half of either. The temp name starts with a dot so watchers
 * and listings that skip dotfiles never treat it as real.
 *
 * No fsync: the rename is atomic for every other process and survives our own crash (kill -9
 * at any point), which is what a claim or a record must survive. An fsync only adds the power
 * cut, which ends the agents too; it cost 1-3 ms a write, most of a request's reaction time.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++tmpCounter}.tmp`);
  const fd = openSync(tmp, "w", 0o644);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Identity of a file's content short of reading it (inode, size, mtime): an atomic rewrite is a
 * new inode, an append changes size and mtime. Empty for a missing path.
 */
export function fileIdentity(path: string): string {
  const st = lstatOrUndefined(path);
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : "";
}

/** lstat that answers undefined instead of throwing for a missing path. */
export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

export function readJson<T = unknown>(path: string): T | undefined {
  const text = readText(path, 1024 * 1024, { whole: true });
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/**
 * Run `fn` while holding a proper-lockfile lock on `path` (a `<path>.lock` dir beside it; the
 * file need not exist). Used where two writers meet: appends to instructions.md from the
 * orchestrator, `tell` and agents' helpers.
 */
export async function withFileLock<T>(path: string, fn: () => T | Promise<T>): Promise<T> {
  // Loaded on first use: proper-lockfile (with graceful-fs under it) adds ~20 ms to the start of
  // every command that imports this module, and most of them only read.
  const { default: lockfile } = await import("proper-lockfile");
  const release = await lockfile.lock(path, {
    realpath: false,
    stale: 10_000,
    retries: { retries: 50, minTimeout: 5, maxTimeout: 100, factor: 1.5 },
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** An append that was refused or failed; the file is as it was. `why` ends "<file> …". */
export class AppendError extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
    readonly code?: string,
  ) {
    super(`${file} ${why}`);
    this.name = "AppendError";
  }
}

const APPEND_FLAGS = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Why `path` may not be appended to, judged without opening it (no side effect on a FIFO). */
function refusal(path: string): AppendError | undefined {
  const st = lstatOrUndefined(path);
  if (!st || st.isFile()) return undefined;
  if (st.isSymbolicLink()) return new AppendError(path, "is a symlink; it is never followed: replace it with a regular file");
  return new AppendError(path, `is not a regular file (${st.isDirectory() ? "a directory" : st.isFIFO() ? "a FIFO" : "a special file"}); move it away`);
}

function openError(path: string, err: unknown): AppendError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") {
    // Name what is missing: the agent must read it, we must write it.
    let what = "readable and writable";
    try {
      accessSync(path, constants.R_OK);
      what = "writable";
    } catch {}
    return new AppendError(path, `is not ${what} (permission denied); fix its mode, e.g. chmod u+rw`, code);
  }
  if (code === "ELOOP") return new AppendError(path, "is a symlink; it is never followed: replace it with a regular file", code);
  if (code === "ENXIO" || code === "EISDIR") return new AppendError(path, "is not a regular file; move it away", code);
  return new AppendError(path, `cannot be opened (${code ?? (err as Error).message})`, code);
}

/** Where an append will land (the file's size under the lock), for deciding before it happens. */
export type BeforeAppend = (fd: number, size: number) => boolean;

/**
 * Append `text` to a regular file in one write, under the file's lock, without reading or
 * rewriting what is there: O(block) whatever the file's size, and a file we cannot read is never
 * replaced. A symlink, a directory, a FIFO, a file we may not read and write: refused with an
 * AppendError naming the file and the fix, nothing changed. A missing file is created. `before`,
 * called under the lock with the file open, may answer false to append nothing. Answers where the
 * text landed (or -1 when `before` declined).
 */
export async function appendLocked(path: string, text: string, before?: BeforeAppend): Promise<number> {
  const early = refusal(path);
  if (early) throw early;
  const bytes = Buffer.from(text);
  try {
    return await withFileLock(path, () => appendOpen(path, bytes, before));
  } catch (err) {
    if (err instanceof AppendError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    // The lock is a directory next to the file: its dir must be writable.
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      throw new AppendError(path, `cannot be locked for appending: ${dirname(path)} is not writable (${code})`, code);
    }
    throw err;
  }
}

function appendOpen(path: string, bytes: Buffer, before?: BeforeAppend): number {
  let fd: number;
  try {
    fd = openSync(path, APPEND_FLAGS, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw err; // its dir is gone
    throw openError(path, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new AppendError(path, "is not a regular file; move it away");
    const at = st.size;
    if (before && !before(fd, at)) return -1;
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      // Unlike a rename, an append has no old version to fall back on: a write error the page
      // cache would only report later (a full disk) must show here, while it can be cut back.
      fdatasyncSync(fd);
    } catch (err) {
      // Half a block must not stay (a full disk): cut back to where it began, unless someone
      // appended after it meanwhile.
      try {
        if (fstatSync(fd).size === at + off) ftruncateSync(fd, at);
      } catch {}
      const code = (err as NodeJS.ErrnoException).code;
      throw new AppendError(path, `could not be appended to (${code ?? (err as Error).message}); it is as it was`, code);
    }
    return at;
  } finally {
    closeSync(fd);
  }
}
