/** Backoff with full jitter: what is retried, how often, how long the waits may be. */
import { describe, expect, it } from 'vitest';
import { backoffDelay, kindForStatus, withRetry } from '../../storage/tiers/retry.js';
import { TierError } from '../../storage/tiers/tier.js';

describe('retry policy', () => {
  it('waits a uniform share of an exponentially growing, capped window', () => {
    expect(backoffDelay(0, 100, 1000, () => 0.999)).toBe(99);
    expect(backoffDelay(3, 100, 1000, () => 0.999)).toBe(799);
    expect(backoffDelay(10, 100, 1000, () => 0.999)).toBe(999);
    expect(backoffDelay(5, 100, 1000, () => 0)).toBe(0);
  });

  it('retries throttling and 5xx, up to the attempt limit; never auth, quota or checksum errors', async () => {
    let n = 0;
    const waits: number[] = [];
    const r = await withRetry(
      async () => {
        if (++n < 4) throw new TierError('busy', n % 2 ? 'throttled' : 'unavailable');
        return 'ok';
      },
      { baseDelayMs: 1, maxDelayMs: 4, onRetry: (_e, _a, d) => waits.push(d) },
    );
    expect(r).toBe('ok');
    expect(n).toBe(4);
    expect(waits.every((d) => d >= 0 && d <= 4)).toBe(true);
    for (const kind of ['auth', 'quota', 'checksum', 'not-found'] as const) {
      let calls = 0;
      await expect(withRetry(async () => { calls++; throw new TierError('no', kind); }, { baseDelayMs: 1 })).rejects.toThrow('no');
      expect(calls).toBe(1);
    }
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw new TierError('down', 'unavailable'); }, { attempts: 3, baseDelayMs: 1 })).rejects.toThrow('down');
    expect(calls).toBe(3);
  });

  it('classifies statuses and Drive reasons', () => {
    expect(kindForStatus(429)).toBe('throttled');
    expect(kindForStatus(403, 'userRateLimitExceeded')).toBe('throttled');
    expect(kindForStatus(403, 'rateLimitExceeded')).toBe('throttled');
    expect(kindForStatus(403, 'insufficientPermissions')).toBe('auth');
    expect(kindForStatus(401)).toBe('auth');
    expect(kindForStatus(500)).toBe('unavailable');
    expect(kindForStatus(503)).toBe('unavailable');
    expect(kindForStatus(404)).toBe('not-found');
    expect(kindForStatus(400)).toBe('invalid');
  });
});
