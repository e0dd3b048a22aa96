/**
 * The one way files are read: agents and people write anything into the workspace (symlinks out
 * of it, FIFOs, gigabyte files, files nobody may read), so every read refuses symlinks, never
 * blocks on a FIFO, is capped, and says why it could not read when it could not.
 */
import { closeSync, constants, openSync, readSync } from "node:fs";

// O_NOFOLLOW: never follow a symlink out of the workspace. O_NONBLOCK: a FIFO an agent planted
// opens at once instead of waiting for a writer (and then fails on pread).
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Cap for text nobody said how much of to read. */
export const MAX_TEXT_BYTES = 4 * 1024 * 1024;

export type ReadFailure = "missing" | "symlink" | "not-file" | "unreadable" | "too-large";
/** Why a read gave no text; `code` is the errno name when the system said more than that. */
export interface ReadError {
  failure: ReadFailure;
  code?: string;
}

// Shared answers for the common failures: listings over thousands of files allocate nothing.
const MISSING: ReadError = Object.freeze({ failure: "missing" });
const SYMLINK: ReadError = Object.freeze({ failure: "symlink" });
const NOT_FILE: ReadError = Object.freeze({ failure: "not-file" });
const TOO_LARGE: ReadError = Object.freeze({ failure: "too-large" });

function failureOf(err: unknown): ReadError {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return MISSING;
    case "ELOOP":
      return SYMLINK;
    case "EISDIR": // a directory opens, and fails on read
    case "ESPIPE": // a FIFO opens (O_NONBLOCK), and pread fails on it
    case "ENXIO": // a socket
    case "EAGAIN":
      return NOT_FILE;
    default:
      return { failure: "unreadable", ...(code ? { code } : {}) };
  }
}

let shared = Buffer.allocUnsafe(64 * 1024);

export interface ReadOptions {
  /** A file longer than the cap answers `too-large` instead of its first `maxBytes`. */
  whole?: boolean;
}

/**
 * A file as UTF-8 text, at most `maxBytes` of it, or why not. The fewest syscalls (open, read,
 * close; no stat first), because listings read thousands: the open refuses symlinks (ELOOP), a
 * directory fails on read (EISDIR), a FIFO on pread (ESPIPE).
 */
export function readTextOrWhy(path: string, maxBytes: number, opts: ReadOptions = {}): string | ReadError {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch (err) {
    return failureOf(err);
  }
  try {
    // One byte past the cap tells "exactly maxBytes" from "longer".
    const want = maxBytes + 1;
    let off = 0;
    for (;;) {
      if (off === shared.length && shared.length < want) {
        const bigger = Buffer.allocUnsafe(Math.min(want, shared.length * 4));
        shared.copy(bigger, 0, 0, off);
        shared = bigger;
      }
      const room = Math.min(shared.length, want) - off;
      if (room <= 0) break;
      const n = readSync(fd, shared, off, room, off);
      if (n <= 0) break;
      off += n;
      // A regular file reads short only at its end: stop here rather than pay a read() that
      // answers 0 (a quarter of the syscalls of a listing).
      if (n < room) break;
    }
    if (off > maxBytes) {
      if (opts.whole) return TOO_LARGE;
      off = maxBytes;
    }
    return shared.toString("utf8", 0, off);
  } catch (err) {
    return failureOf(err);
  } finally {
    closeSync(fd);
  }
}

/** readTextOrWhy for callers that only need the text: undefined for any failure. */
export function readText(path: string, maxBytes: number = MAX_TEXT_BYTES, opts: ReadOptions = {}): string | undefined {
  const r = readTextOrWhy(path, maxBytes, opts);
  return typeof r === "string" ? r : undefined;
}

/** What went wrong, as the end of a sentence about the file: "<file> is a symlink (…)". */
export function describeReadError(e: ReadError, maxBytes?: number): string {
  switch (e.failure) {
    case "missing":
      return "is missing";
    case "symlink":
      return "is a symlink (never followed: write a regular file)";
    case "not-file":
      return "is not a regular file";
    case "too-large":
      return maxBytes === undefined ? "is too large" : `is larger than ${sizeText(maxBytes)}`;
    case "unreadable":
      return e.code === "EACCES" || e.code === "EPERM"
        ? "cannot be read (permission denied: make it readable, e.g. chmod u+r)"
        : `cannot be read (${e.code ?? "unknown error"})`;
  }
}

export function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MB`;
  return `${Math.round(bytes / 1024)} KB`;
}

/** Bytes `[start, end)` of a file (following a growing log), with the same refusals. */
export function readRange(path: string, start: number, end: number): Buffer {
  const fd = openSync(path, FLAGS);
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
