import { formatDuration, formatSize } from '../storage/util/units.js';

/**
 * A one-line progress bar on stderr, redrawn at most 8 times a second. It draws only on a TTY and
 * never with --json, so logs and pipes stay clean. Totals may grow while work is discovered (a
 * scan finds files as it walks); the ETA uses the current totals.
 */
export interface ProgressState {
  label: string;
  doneBytes: number;
  totalBytes: number;
  doneItems: number;
  totalItems: number;
  /** Total is still growing (e.g. the walk is not finished). */
  open?: boolean;
}

export class ProgressBar {
  private readonly enabled: boolean;
  private readonly started = performance.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(opts: { json?: boolean; stream?: NodeJS.WriteStream } = {}) {
    const stream = opts.stream ?? process.stderr;
    this.stream = stream;
    this.enabled = !opts.json && Boolean(stream.isTTY) && process.env.LOMO_NO_PROGRESS !== '1';
  }

  private readonly stream: NodeJS.WriteStream;

  update(s: ProgressState, force = false): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 125) return;
    this.lastDraw = now;
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? s.doneBytes / elapsed : 0;
    const frac = s.totalBytes > 0 ? Math.min(1, s.doneBytes / s.totalBytes) : s.totalItems > 0 ? s.doneItems / s.totalItems : 0;
    const eta = rate > 0 ? formatDuration((s.totalBytes - s.doneBytes) / rate) : '?';
    const tail =
      `] ${(frac * 100).toFixed(0).padStart(3)}%  ` +
      `${s.doneItems}/${s.totalItems}${s.open ? '+' : ''} files  ${formatSize(s.doneBytes)}/${formatSize(s.totalBytes)}  ` +
      `${formatSize(rate)}/s  ETA ${s.open ? '~' : ''}${eta}`;
    const cols = this.stream.columns || 100;
    // The bar gives up width first (down to 8) so that the figures fit a narrow terminal.
    const width = Math.max(8, Math.min(24, cols - 1 - s.label.length - 2 - tail.length));
    const filled = Math.round(frac * width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(width - filled);
    const line = `${s.label} [${bar}${tail}`;
    this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
    this.drawn = true;
  }

  /** Clears the line so the summary prints cleanly. */
  done(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
