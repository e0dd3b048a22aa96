import { closeSync, constants, openSync, readSync } from "node:fs";

// Never follow a symlink out of the workspace, never block on a FIFO an agent planted.
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

let shared = Buffer.allocUnsafe(64 * 1024);

/**
 * Read a small file as UTF-8 with the fewest syscalls (open, read, close) for listings that read
 * thousands of them: no lstat or fstat first. The open refuses symlinks (ELOOP), a directory
 * fails on read (EISDIR), and O_NONBLOCK keeps a FIFO from hanging us (it reads as undefined).
 * At most `maxBytes` are returned; with `whole`, a longer file answers undefined instead.
 */
export function readSmallText(path: string, maxBytes: number, opts: { whole?: boolean } = {}): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch {
    return undefined;
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
      // answers 0 (a quarter of the syscalls of a listing). A FIFO never gets this far: pread
      // on it fails (ESPIPE), so it reads as undefined.
      if (n < room) break;
    }
    if (off > maxBytes) {
      if (opts.whole) return undefined;
      off = maxBytes;
    }
    return shared.toString("utf8", 0, off);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
