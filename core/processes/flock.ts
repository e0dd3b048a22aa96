/**
 * flock(2) through bun:ffi: a lock the kernel holds for an open file and drops when its holder
 * dies, however it dies. No staleness to judge, no refresh to keep up (and so no idle file
 * events), no window where two processes both think a dead holder's lock is theirs to take.
 * Bun opens files with O_CLOEXEC, so agents we spawn never inherit the lock.
 */
import { dlopen, FFIType } from "bun:ffi";

const LOCK_EX = 2;
const LOCK_NB = 4;

type Flock = (fd: number, op: number) => number;
let flockFn: Flock | null | undefined;

function load(): Flock | null {
  if (flockFn !== undefined) return flockFn;
  const names = process.platform === "darwin" ? ["libSystem.B.dylib", "libc.dylib"] : ["libc.so.6", "libc.so"];
  for (const name of names) {
    try {
      const lib = dlopen(name, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
      return (flockFn = lib.symbols.flock as unknown as Flock);
    } catch {}
  }
  return (flockFn = null);
}

/** Take an exclusive lock on an open fd without waiting: true when it is ours now. */
export function tryLockExclusive(fd: number): boolean {
  const flock = load();
  if (!flock) throw new Error("file locking (flock) is not available on this system");
  return flock(fd, LOCK_EX | LOCK_NB) === 0;
}
