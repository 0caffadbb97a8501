import fs from 'node:fs';
import path from 'node:path';

/**
 * PGlite keeps its database in a folder but is no server: two processes opening the same folder
 * each write their own view of it and the last one to close wins, so rows vanish silently. This
 * lock gives the folder one owner. It is a file next to the folder, created with O_EXCL so only
 * one process can make it, holding the owner's PID and what it runs, so a refusal can name it.
 */

/** Thrown when another live process holds the embedded database; its message is one line. */
export class EmbeddedDatabaseInUseError extends Error {
  override readonly name = 'EmbeddedDatabaseInUseError';

  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly description: string,
  ) {
    super(
      `The embedded database in ${displayPath(dataDir)} is in use by process ${pid}` +
        `${description ? ` (${description})` : ''}. Stop that process first, or make the change ` +
        `through its API: PGlite allows one process at a time.`,
    );
  }
}

export interface EmbeddedLock {
  readonly path: string;
  /** Removes the lock file if it is still ours; safe to call more than once. */
  release(): void;
}

interface Owner {
  pid: number;
  description: string;
}

/** Where the lock of a data folder lives: beside it, so removing the folder keeps the lock. */
export function lockPathFor(dataDir: string): string {
  return `${path.resolve(dataDir)}.lock`;
}

/**
 * Takes the data folder's lock, or throws EmbeddedDatabaseInUseError naming the live owner. A
 * lock left by a process that is gone (a crash, SIGKILL) is taken over.
 */
export function acquireEmbeddedLock(
  dataDir: string,
  description = describeThisProcess(),
): EmbeddedLock {
  const lockPath = lockPathFor(dataDir);
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const content = `${process.pid}\n${description}\n`;
  // A few rounds: each lost race (a takeover in progress, a lock released meanwhile) retries.
  for (let attempt = 0; attempt < 50; attempt++) {
    if (tryCreate(lockPath, content)) return holdLock(lockPath);
    const owner = readOwner(lockPath);
    if (owner === 'gone') continue;
    if (owner && isAlive(owner.pid)) {
      throw new EmbeddedDatabaseInUseError(dataDir, owner.pid, owner.description);
    }
    if (takeOver(lockPath, content, owner)) return holdLock(lockPath);
    sleep(20);
  }
  throw new Error(`could not take the lock ${lockPath}: other processes keep racing for it`);
}

/**
 * Removing a stale file and creating ours are two steps, so two takers could each remove the
 * other's fresh lock. Only the holder of a second O_EXCL file (the guard) may remove a stale
 * lock, and it checks the lock is still the stale one first; everyone else waits and retries.
 */
function takeOver(lockPath: string, content: string, stale: Owner | undefined): boolean {
  const guardPath = `${lockPath}.takeover`;
  if (!tryCreate(guardPath, `${process.pid}\n`)) {
    // A guard whose process is gone was left by a crash inside the few statements below.
    const guard = readOwner(guardPath);
    if (guard && guard !== 'gone' && !isAlive(guard.pid)) unlinkIfHolds(guardPath, guard.pid);
    return false;
  }
  try {
    const now = readOwner(lockPath);
    if (now === 'gone') return tryCreate(lockPath, content);
    // Someone else took it over (or started) between our read and the guard: theirs to keep.
    if (now?.pid !== stale?.pid || (now && isAlive(now.pid))) return false;
    fs.rmSync(lockPath, { force: true });
    return tryCreate(lockPath, content);
  } finally {
    fs.rmSync(guardPath, { force: true });
  }
}

function holdLock(lockPath: string): EmbeddedLock {
  let held = true;
  // Synchronous, since 'exit' runs no more async work: a process that ends without closing the
  // database (process.exit, an uncaught error) leaves no lock behind for the next start.
  const onExit = () => unlinkIfHolds(lockPath, process.pid);
  process.on('exit', onExit);
  return {
    path: lockPath,
    release() {
      if (!held) return;
      held = false;
      process.off('exit', onExit);
      unlinkIfHolds(lockPath, process.pid);
    },
  };
}

function tryCreate(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * The owner a lock file names; 'gone' when there is no file; undefined when it names none (a
 * process died between creating and writing it). A file just created may still be empty, so an
 * unreadable one is read again for a moment before it counts as stale.
 */
function readOwner(file: string): Owner | 'gone' | undefined {
  for (let attempt = 0; ; attempt++) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
      throw err;
    }
    const [first = '', description = ''] = text.split('\n');
    const pid = Number(first);
    if (Number.isInteger(pid) && pid > 0) return { pid, description };
    if (attempt >= 10) return undefined;
    sleep(50);
  }
}

function unlinkIfHolds(file: string, pid: number) {
  try {
    if (Number(fs.readFileSync(file, 'utf8').split('\n')[0]) === pid) fs.unlinkSync(file);
  } catch {
    // Already gone, or unreadable: either way not ours to remove.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user, so it is alive.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function sleep(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * What this process runs, for the refusal another one prints: the npm script and the script
 * file, never the arguments (user:create takes a password on its command line).
 */
export function describeThisProcess(): string {
  const script = process.argv[1] ? displayPath(process.argv[1]) : '';
  const command = [path.basename(process.argv0 || 'node'), script].filter(Boolean).join(' ');
  const npmScript = process.env.npm_lifecycle_event;
  if (!npmScript) return command;
  const npm =
    npmScript === 'start' || npmScript === 'test' ? `npm ${npmScript}` : `npm run ${npmScript}`;
  return `${npm}: ${command}`;
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
