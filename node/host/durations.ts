import { EXIT, UserError } from '../exit-codes.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "24h", "7d" (or combinations like "1h30m") → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const s = String(text).trim().toLowerCase();
  const re = /(\d+(?:\.\d+)?)([smhd])/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = re.lastIndex;
  }
  if (s.length === 0 || end !== s.length || total <= 0) {
    throw new UserError(`${flag}: "${text}" is not a duration (examples: 90s, 30m, 24h, 7d)`, EXIT.USAGE);
  }
  return Math.round(total);
}
