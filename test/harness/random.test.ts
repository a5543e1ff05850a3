/** The test harness's own guarantees: seeded data replays, counted waits count. */
import { describe, expect, it } from 'vitest';
import { SEED, seeded } from '../support/random.js';
import { count, waitFor } from '../support/wait.js';

describe('seeded test data', () => {
  it('the same seed and label give the same floats and bytes; another label or seed does not', () => {
    const a = seeded('a', 42);
    const again = seeded('a', 42);
    expect([a.next(), a.int(1000), a.bytes(1000)]).toEqual([again.next(), again.int(1000), again.bytes(1000)]);
    expect(seeded('b', 42).bytes(64)).not.toEqual(seeded('a', 42).bytes(64));
    expect(seeded('a', 43).bytes(64)).not.toEqual(seeded('a', 42).bytes(64));
  });

  it('each bytes() call draws new bytes, and the default seed is the run seed', () => {
    const r = seeded('calls');
    expect(r.bytes(32)).not.toEqual(r.bytes(32));
    expect(r.seed).toBe(SEED);
    expect(Number.isSafeInteger(SEED)).toBe(true);
  });
});

describe('waiting on events', () => {
  it('count() counts every occurrence, with or without the g flag', () => {
    const log = 'redial X: refused\nok\nredial X: refused\nredial Y: refused\n';
    expect(count(log, /redial X/)).toBe(2);
    expect(count(log, /redial/g)).toBe(3);
    expect(count(log, /nothing/)).toBe(0);
  });

  it('waitFor resolves once the condition holds and names what it waited for on timeout', async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, 5_000, 'three polls', 1);
    expect(n).toBe(3);
    await expect(waitFor(() => false, 30, 'the impossible', 5)).rejects.toThrow(/timed out after 30 ms waiting for the impossible/);
  });
});
