/**
 * S3 upload benchmark: one volume-sized object (default 1 GB) uploaded to moto's S3 server on
 * loopback by the S3 tier (multipart, SHA-256 per part, verified), next to `curl -T` of the same
 * bytes to the same server in the same run (one plain PUT: the ceiling of what the server takes).
 * Prints JSON. Usage: npm run bench:s3 [-- --size 1000000000 --part-size 6000000 --nthreads 3]
 * Needs ./.venv/bin/moto_server (deploy/setup-test-env.sh) and curl.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { S3Tier } from '../../storage/tiers/s3.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function main(): Promise<void> {
  const size = arg('size', 1_000_000_000);
  const partSize = arg('part-size', 6_000_000);
  const nthreads = arg('nthreads', 3);
  const moto = path.join(root, '.venv/bin/moto_server');
  if (!fs.existsSync(moto)) throw new Error(`${moto} missing: run bash deploy/setup-test-env.sh`);
  const port = await freePort();
  const server = spawn(moto, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-s3-bench-'));
  const file = path.join(dir, 'volume.bin');
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(endpoint + '/moto-api/')).status < 500) break;
      } catch {
        if (i > 200) throw new Error('moto did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // The same random bytes for both contenders, written once (page cache keeps them hot).
    const fd = fs.openSync(file, 'w');
    const buf = Buffer.allocUnsafe(16 * 1024 * 1024);
    for (let done = 0; done < size; ) {
      const n = Math.min(buf.length, size - done);
      randomFillSync(buf, 0, n);
      fs.writeSync(fd, buf, 0, n);
      done += n;
    }
    fs.closeSync(fd);

    const tier = new S3Tier({ bucket: 'bench', endpoint, region: 'us-east-1', accessKeyId: 'bench', secretAccessKey: 'bench', partSize, concurrency: nthreads });
    await tier.ensureBucket();

    // Baseline: curl -T, one unsigned PUT of the whole file (moto does not check signatures).
    const t0 = process.hrtime.bigint();
    const c = spawnSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', file, `${endpoint}/bench/curl-object`], { encoding: 'utf8' });
    const curlS = Number(process.hrtime.bigint() - t0) / 1e9;
    if (c.status !== 0 || c.stdout.trim() !== '200') throw new Error(`curl failed: ${c.stdout} ${c.stderr}`);
    await tier.client.send(new DeleteObjectCommand({ Bucket: 'bench', Key: 'curl-object' })); // free moto's memory

    const before = tier.requestCount();
    const t1 = process.hrtime.bigint();
    let partsDone = 0;
    const st = await tier.put('volume.iso', fs.createReadStream(file, { highWaterMark: 1024 * 1024 }), {
      size,
      onProgress: (n) => {
        if (n === size) partsDone = Number(process.hrtime.bigint() - t1) / 1e9;
      },
    });
    const lomoS = Number(process.hrtime.bigint() - t1) / 1e9;
    if (st.size !== size) throw new Error(`uploaded ${st.size} bytes, expected ${size}`);
    const requests = Object.fromEntries(tier.requests);
    const parts = Math.ceil(size / partSize);
    const mb = size / 1e6;
    console.log(
      JSON.stringify(
        {
          bench: 's3-upload',
          bytes: size,
          server: 'moto_server (loopback)',
          baseline: { tool: 'curl -T (single PUT)', seconds: +curlS.toFixed(2), MBps: +(mb / curlS).toFixed(1), requests: 1 },
          lomo: {
            tool: 'S3Tier.put (multipart, SHA-256 per part, verified)',
            partSize,
            nthreads,
            parts,
            seconds: +lomoS.toFixed(2),
            MBps: +(mb / lomoS).toFixed(1),
            // Until every part is acknowledged: our read/hash/send pipeline against the server.
            partsSeconds: +partsDone.toFixed(2),
            partsMBps: +(mb / partsDone).toFixed(1),
            // Server-side assembly (moto concatenates and re-hashes 1 GB in Python; S3 does not).
            completeSeconds: +((tier.requestMs.get('CompleteMultipartUpload') ?? 0) / 1000).toFixed(2),
            requests: tier.requestCount() - before,
            byOperation: requests,
            expectedRequests: `${parts} parts + 2 + checks (HeadObject, GetObjectAttributes)`,
          },
          ratio: +(curlS / lomoS).toFixed(2),
          loadAverage: os.loadavg().map((x) => +x.toFixed(2)),
        },
        null,
        2,
      ),
    );
  } finally {
    server.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
