/**
 * Retries for cloud calls: exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff and Jitter"; Google's Drive docs ask for the same on 429 and rate-limit 403s). Only
 * errors a tier classified as 'throttled' or 'unavailable' are retried: auth, quota, checksum and
 * not-found errors fail at once, because waiting does not fix them.
 */
import { TierError } from './tier.js';

export interface RetryOptions {
  /** Attempts in total, the first included. */
  attempts?: number;
  /** First backoff ceiling in ms; doubles each retry up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** Called before each wait (logging, tests). */
  onRetry?: (err: TierError, attempt: number, delayMs: number) => void;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

/** Defaults; LOMO_RETRY_BASE_MS shortens waits in tests without changing the policy. */
export function defaultRetry(): Required<Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'>> {
  const base = Number(process.env.LOMO_RETRY_BASE_MS ?? '') || 500;
  return { attempts: 8, baseDelayMs: base, maxDelayMs: base * 64 };
}

export function isRetryable(err: unknown): err is TierError {
  return err instanceof TierError && (err.kind === 'throttled' || err.kind === 'unavailable');
}

/** Full jitter: a uniform wait in [0, min(max, base * 2^n)]. */
export function backoffDelay(attempt: number, base: number, max: number, random = Math.random): number {
  return Math.floor(random() * Math.min(max, base * 2 ** attempt));
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const d = defaultRetry();
  const attempts = opts.attempts ?? d.attempts;
  const base = opts.baseDelayMs ?? d.baseDelayMs;
  const max = opts.maxDelayMs ?? d.maxDelayMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetryable(err) || attempt + 1 >= attempts || opts.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, base, max, opts.random);
      opts.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Classifies an HTTP status (+ provider reason) the same way for S3 and Drive. */
export function kindForStatus(status: number | undefined, reason?: string): TierError['kind'] {
  if (status === 429) return 'throttled';
  if (status === 403 && reason && /rateLimit|RateLimit|SlowDown|Throttl/.test(reason)) return 'throttled';
  if (status === 503 && reason === 'SlowDown') return 'throttled';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not-found';
  if (status === undefined || status >= 500 || status === 408) return 'unavailable';
  return 'invalid';
}
