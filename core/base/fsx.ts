import {
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { basename, dirname, join } from "node:path";

let tmpCounter = 0;

/**
 * Write via a temp file in the same directory and rename over the target, so a reader sees the
 * old content or the new one, never half of either. The temp name starts with a dot so watchers
 * and listings that skip dotfiles never treat it as real.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: { durable?: boolean } = {}): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++tmpCounter}.tmp`);
  const fd = openSync(tmp, "w", 0o644);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    // `durable: false` for files derived from others (a crash loses nothing they hold).
    if (opts.durable !== false) fsyncSync(fd);
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

export const MAX_TEXT_BYTES = 4 * 1024 * 1024;

/**
 * Read a regular file as UTF-8, at most `maxBytes` (the rest is dropped: agents can write
 * anything, and one giant file must not stall the orchestrator). Symlinks are not followed.
 * Returns undefined when the path is missing, not a regular file, or unreadable.
 */
export function readTextCapped(path: string, maxBytes = MAX_TEXT_BYTES): string | undefined {
  const st = lstatOrUndefined(path);
  if (!st?.isFile()) return undefined;
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const size = Math.min(st.size, maxBytes);
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n <= 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString("utf8");
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Read `[start, end)` bytes of a file (for following a growing log). */
export function readRange(path: string, start: number, end: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(Math.max(0, end - start));
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, start + off);
      if (n <= 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

export function readJson<T = unknown>(path: string): T | undefined {
  const text = readTextCapped(path, 1024 * 1024);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/**
 * Run `fn` while holding a proper-lockfile lock on `path` (the file must exist). Used where two
 * writers meet: appends to instructions.md from the orchestrator, `tell` and agents' helpers.
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

/**
 * Append text atomically under the file's lock: readers see the whole new block or none of it.
 * The file is rewritten by temp + rename, so a crash never leaves half a block behind.
 */
export async function appendLocked(path: string, text: string): Promise<void> {
  if (!lstatOrUndefined(path)) writeFileAtomic(path, "");
  await withFileLock(path, () => {
    const current = readTextCapped(path, Number.MAX_SAFE_INTEGER) ?? "";
    writeFileAtomic(path, current + text);
  });
}
