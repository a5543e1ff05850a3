import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { EXIT, UserError } from '../exit-codes.js';
import { log } from '../log.js';

/**
 * The control socket: how CLI commands talk to the running node of the same data folder.
 * A unix socket `<data-dir>/node.sock`, mode 0600 inside the 0700 data folder, so only the site's
 * own user can use it and nothing listens on the network for it. One JSON request line per
 * connection, one JSON response line back.
 */
export const CONTROL_SOCKET = 'node.sock';
const MAX_LINE = 1024 * 1024;
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface ControlRequest {
  op: string;
  [key: string]: unknown;
}

type Reply = { ok: true; result: unknown } | { ok: false; error: string; exitCode: number };

export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

export function controlSocketPath(dataDir: string): string {
  const p = path.join(dataDir, CONTROL_SOCKET);
  if (Buffer.byteLength(p) > MAX_SOCKET_PATH) {
    throw new UserError(`control socket path ${p} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter --data-dir`, EXIT.USAGE);
  }
  return p;
}

/** Starts the control server; refuses if another node already serves this data folder. */
export async function startControlServer(dataDir: string, handler: ControlHandler): Promise<{ close(): Promise<void> }> {
  const file = controlSocketPath(dataDir);
  if (fs.existsSync(file)) {
    if (await canConnect(file)) {
      throw new UserError(`a node is already running for ${dataDir} (control socket ${file} answers); stop it first`, EXIT.USAGE);
    }
    fs.rmSync(file, { force: true }); // stale socket from a killed node
  }
  const server = net.createServer((sock) => serve(sock, handler));
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  fs.chmodSync(file, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        fs.rmSync(file, { force: true });
      }),
  };
}

function serve(sock: net.Socket, handler: ControlHandler): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > MAX_LINE) return sock.destroy();
    const nl = buf.indexOf('\n');
    if (nl < 0) return;
    const line = buf.slice(0, nl);
    sock.removeAllListeners('data');
    void answer(line, handler).then((reply) => sock.end(JSON.stringify(reply) + '\n'));
  });
}

async function answer(line: string, handler: ControlHandler): Promise<Reply> {
  let req: ControlRequest;
  try {
    req = JSON.parse(line);
    if (typeof req !== 'object' || req === null || typeof req.op !== 'string') throw new Error('no op');
  } catch {
    return { ok: false, error: 'malformed control request', exitCode: EXIT.USAGE };
  }
  try {
    return { ok: true, result: await handler(req) };
  } catch (err) {
    if (err instanceof UserError) return { ok: false, error: err.message, exitCode: err.exitCode };
    log.error(`control request ${req.op} failed: ${(err as Error)?.stack ?? String(err)}`);
    return { ok: false, error: `node failed: ${(err as Error)?.message ?? String(err)}`, exitCode: EXIT.INTERNAL };
  }
}

function canConnect(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(file);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** True if a node answers on the data folder's control socket. */
export async function nodeRunning(dataDir: string): Promise<boolean> {
  const file = controlSocketPath(dataDir);
  return fs.existsSync(file) && (await canConnect(file));
}

/** Sends one request to the running node; errors come back as UserError with the node's exit code. */
export async function controlRequest<T = unknown>(dataDir: string, req: ControlRequest, timeoutMs = 60_000): Promise<T> {
  const file = controlSocketPath(dataDir);
  const reply = await new Promise<Reply>((resolve, reject) => {
    const s = net.connect(file);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new UserError(`the node did not answer within ${timeoutMs / 1000} s`, EXIT.NETWORK));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.once('connect', () => s.write(JSON.stringify(req) + '\n'));
    s.on('data', (c: string) => {
      buf += c;
      if (buf.length > MAX_LINE) s.destroy(new Error('reply too large'));
    });
    s.once('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf));
      } catch {
        reject(new UserError('the node sent a malformed reply', EXIT.INTERNAL));
      }
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new UserError(`no node is running for ${path.dirname(file)}: start it with \`lomo-peer node\``, EXIT.NETWORK));
      } else reject(new UserError(`cannot reach the node: ${err.message}`, EXIT.NETWORK));
    });
  });
  if (!reply.ok) throw new UserError(reply.error, reply.exitCode as any);
  return reply.result as T;
}
