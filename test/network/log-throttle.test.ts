import { describe, expect, it } from 'vitest';
import { LogThrottle, throttledLog } from '../../node/host/log-throttle.js';

const PEER = '12D3KooWNiqmhV6GAooxfevyR6CRQXEXd4PYDeiVtbnZdEGaZQcL';
const OTHER = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK';

describe('log throttle (repeated warnings about one peer)', () => {
  it('writes one line per peer and kind of trouble within the window, then says how many it suppressed', () => {
    const lines: string[] = [];
    const t = new LogThrottle(60_000);
    const warn = (m: string, at: number) => {
      const l = t.filter(m, at);
      if (l !== null) lines.push(l);
    };
    for (let i = 0; i < 100; i++) warn(`pairing stream from ${PEER} reset: frame ${i} too long`, 1_000 + i);
    warn(`family roster from ${PEER} reset: roster from a peer that is not trusted`, 2_000); // another kind
    warn(`pairing stream from ${OTHER} reset: frame too long`, 2_000); // another peer
    warn('maintenance failed: disk full', 2_000); // no peer: never throttled
    warn('maintenance failed: disk full', 2_001);
    warn(`pairing stream from ${PEER} reset: bad proof`, 2_500); // another kind of trouble, same peer and stream
    warn(`pairing stream from ${PEER} reset: bad proof`, 2_600);
    warn(`pairing stream from ${PEER} reset: frame 100 too long`, 61_000); // after the window
    expect(lines).toEqual([
      `pairing stream from ${PEER} reset: frame 0 too long`,
      `family roster from ${PEER} reset: roster from a peer that is not trusted`,
      `pairing stream from ${OTHER} reset: frame too long`,
      'maintenance failed: disk full',
      'maintenance failed: disk full',
      `pairing stream from ${PEER} reset: bad proof`,
      `pairing stream from ${PEER} reset: frame 100 too long (99 similar lines suppressed)`,
    ]);
  });

  it('remembers a bounded number of keys', () => {
    const t = new LogThrottle(60_000, 2);
    const peers = [PEER, OTHER, PEER.replace('Niq', 'Abc')];
    for (const p of peers) expect(t.filter(`x from ${p}`, 0)).not.toBeNull();
    expect(t.filter(`x from ${PEER}`, 1)).not.toBeNull(); // forgotten (oldest), so written again
    expect(t.filter(`x from ${peers[2]}`, 1)).toBeNull();
  });

  it('throttledLog throttles info and warn only', () => {
    const out: string[] = [];
    const base = { info: (m: string) => out.push(`I ${m}`), warn: (m: string) => out.push(`W ${m}`), debug: (m: string) => out.push(`D ${m}`) };
    const l = throttledLog(base);
    l.warn(`a from ${PEER}`);
    l.warn(`a from ${PEER}`);
    l.debug(`a from ${PEER}`);
    l.debug(`a from ${PEER}`);
    expect(out).toEqual([`W a from ${PEER}`, `D a from ${PEER}`, `D a from ${PEER}`]);
  });
});
