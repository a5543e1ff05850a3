/**
 * Whether a process of this machine is still running: a file or record tagged with a pid whose
 * process is gone was left by a killed writer and may be cleaned up. EPERM means it runs as
 * another user, which is alive too.
 */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
