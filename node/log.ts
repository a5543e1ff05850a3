/**
 * Logging with lomob's levels (logrus): 0 panic, 1 fatal, 2 error, 3 warn, 4 info, 5 debug,
 * 6 trace. Everything goes to stderr so that stdout stays for results (tables or --json).
 */
export const LEVELS = ['PANIC', 'FATAL', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'] as const;

let current = 4;

export function setLogLevel(level: number): void {
  current = Math.max(0, Math.min(6, Math.trunc(level)));
}

export function logLevel(): number {
  return current;
}

function emit(level: number, msg: string): void {
  if (level > current) return;
  process.stderr.write(`${LEVELS[level]}: ${msg}\n`);
}

export const log = {
  error: (msg: string) => emit(2, msg),
  warn: (msg: string) => emit(3, msg),
  info: (msg: string) => emit(4, msg),
  debug: (msg: string) => emit(5, msg),
  trace: (msg: string) => emit(6, msg),
};
