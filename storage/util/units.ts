/**
 * Sizes as lomob writes and reads them: decimal units, KB = 1000 bytes. Binary suffixes
 * (KiB, MiB, GiB, TiB) are also accepted on input.
 */
const DECIMAL: Record<string, number> = { '': 1, B: 1, K: 1e3, KB: 1e3, M: 1e6, MB: 1e6, G: 1e9, GB: 1e9, T: 1e12, TB: 1e12 };
const BINARY: Record<string, number> = { KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40 };

export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(text));
  if (!m) throw new Error(`not a size: "${text}" (examples: 50MB, 5G, 700K, 2GiB)`);
  const unit = m[2]!.toUpperCase();
  const factor = DECIMAL[unit] ?? BINARY[unit];
  if (factor === undefined) throw new Error(`unknown size unit "${m[2]}" in "${text}" (use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)`);
  return Math.round(Number(m[1]) * factor);
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** 21900000 → "21.9 MB"; 512 → "512 B". */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  const sign = bytes < 0 ? '-' : '';
  return i === 0 ? `${sign}${Math.round(v)} B` : `${sign}${v.toFixed(1)} ${UNITS[i]}`;
}

/** 3725 s → "1h02m05s"; 4.2 s → "4.2s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(r).padStart(2, '0')}s`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}
