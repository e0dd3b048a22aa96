/**
 * The two libc calls Bun does not expose, through bun:ffi: flock(2), a lock the kernel holds for
 * an open file and drops when its holder dies however it dies (no staleness to judge, no refresh
 * to keep up, no window where two processes both take a dead holder's lock; Bun opens files with
 * O_CLOEXEC, so agents never inherit it), and madvise(2), to hand an idle process's code pages
 * back to the system.
 */
import { readFileSync } from "node:fs";

const LOCK_EX = 2;
const LOCK_NB = 4;
const MADV_PAGEOUT = 21;

interface Libc {
  flock(fd: number, op: number): number;
  madvise(addr: bigint, len: bigint, advice: number): number;
}

let libc: Libc | null | undefined;

function load(): Libc | null {
  if (libc !== undefined) return libc;
  // Loaded on first use: bun:ffi costs every command that only reads a few ms to load.
  const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
  const names = process.platform === "darwin" ? ["/usr/lib/libSystem.B.dylib", "libc.dylib"] : ["libc.so.6", "libc.so"];
  for (const name of names) {
    try {
      const lib = dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
      });
      return (libc = lib.symbols as unknown as Libc);
    } catch {}
  }
  return (libc = null);
}

/** Take an exclusive lock on an open fd without waiting: true when it is ours now. */
export function tryLockExclusive(fd: number): boolean {
  const c = load();
  if (!c) throw new Error("file locking (flock) is not available on this system");
  return c.flock(fd, LOCK_EX | LOCK_NB) === 0;
}

/**
 * Release the resident pages of this executable's read-only mappings (its code: some 40 MB of a
 * Bun binary are touched at start and then sit idle). They are clean file pages: the kernel
 * reads back what is used again. Linux only (MADV_PAGEOUT, 5.4+); answers the KB released.
 */
export function pageOutExecutable(): number {
  if (process.platform !== "linux") return 0;
  const c = load();
  if (!c) return 0;
  const before = residentKb();
  let maps: string;
  try {
    maps = readFileSync("/proc/self/maps", "utf8");
  } catch {
    return 0;
  }
  for (const line of maps.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) r-[-x]p \S+ \S+ \d+\s+(\/.*)$/.exec(line);
    if (!m || m[3] !== process.execPath) continue;
    const start = BigInt(`0x${m[1]}`);
    c.madvise(start, BigInt(`0x${m[2]}`) - start, MADV_PAGEOUT);
  }
  return Math.max(0, before - residentKb());
}

function residentKb(): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
