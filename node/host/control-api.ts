import { EXIT, UserError } from '../exit-codes.js';
import type { ControlHandler, ControlRequest } from './control.js';
import type { LomoNode } from './lomo-node.js';
import { liveStatus } from './status.js';
import { chunkFetchOp } from './peer-chunks.js';
import { InviteCodeError, PairingError } from '../../protocol/pairing/index.js';
import { findPeer } from '../../storage/trust/peers.js';

/** The operations the running node offers on its control socket (see control.ts). */
export function controlHandler(node: LomoNode): ControlHandler {
  return async (req: ControlRequest) => {
    switch (req.op) {
      case 'status':
        return liveStatus(node);
      case 'addrs':
        return { peerId: node.peerId, addrs: node.addrs() };
      case 'invite':
        return node.invite({
          expiresMs: num(req, 'expiresMs'),
          quota: req.quota === null || req.quota === undefined ? null : num(req, 'quota'),
          label: typeof req.label === 'string' ? req.label : '',
        });
      case 'join':
        if (typeof req.code !== 'string') throw new UserError('join needs a code', EXIT.USAGE);
        try {
          const r = await node.join(req.code, {
            name: typeof req.name === 'string' ? req.name : undefined,
            quota: req.quota === null || req.quota === undefined ? null : num(req, 'quota'),
          });
          return r;
        } catch (err) {
          throw asUserError(err);
        }
      case 'revoke': {
        const id = String(req.peerId ?? '');
        if (findPeer(node.db, id).length !== 1) throw new UserError(`no peer ${id}`, EXIT.USAGE);
        const all = node.revoke(id);
        return { revoked: id, also: all.filter((x) => x !== id) };
      }
      case 'confirm': {
        const id = String(req.peerId ?? '');
        if (findPeer(node.db, id).length !== 1) throw new UserError(`no peer ${id}`, EXIT.USAGE);
        return { confirmed: node.confirm(id) };
      }
      case 'invite-cancel':
        return { cancelled: node.cancelInvite(String(req.id ?? '')) };
      case 'speedtest': {
        const id = String(req.peerId ?? '');
        try {
          return await node.speedtest(id, { durationMs: num(req, 'durationMs'), streams: Math.max(1, Math.min(16, num(req, 'streams'))) });
        } catch (err) {
          throw new UserError(`speedtest to ${id} failed: ${(err as Error).message}`, EXIT.NETWORK);
        }
      }
      case 'sync':
        return node.syncLogs({ wait: req.wait === true, timeoutMs: num(req, 'timeoutMs') });
      case 'chunk-fetch': // a restore reading this site's chunks from a family member (peer-chunks.ts)
        return chunkFetchOp(node, req);
      default:
        throw new UserError(`unknown control operation ${JSON.stringify(req.op)}`, EXIT.USAGE);
    }
  };
}

function num(req: ControlRequest, key: string): number {
  const v = req[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new UserError(`control request field ${key} must be a number`, EXIT.USAGE);
  return v;
}

/** Pairing failures become user errors with the network exit code and a message that says what to do. */
export function asUserError(err: unknown): unknown {
  if (err instanceof InviteCodeError) return new UserError(err.message, EXIT.NETWORK);
  if (err instanceof PairingError) return new UserError(`join refused: ${err.message}`, EXIT.NETWORK);
  const e = err as Error & { name?: string };
  if (e && (e.name === 'AbortError' || e.name === 'TimeoutError' || /dial|connect|ECONNREFUSED|EHOSTUNREACH|unreachable/i.test(e.message ?? ''))) {
    return new UserError(`cannot reach the inviting site: ${e.message}. Is its node running and reachable?`, EXIT.NETWORK);
  }
  return err;
}
