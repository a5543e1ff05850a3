/**
 * What uploading volumes costs, request by request, as `upload iso` sends them
 * (node/commands/upload.ts): each volume is one S3 put — an encrypted volume with one part per
 * ciphertext chunk, a plain one with --part-size parts — followed, for an encrypted volume, by a
 * second put of its encrypted manifest `<key>.manifest`, in the same storage class.
 */
import { chunkCipherSize } from '../objects/format.js';
import { monthlyStorage } from './storage-bill.js';
import { classPrice, type PriceTable } from './prices.js';
import { PER_RUN, putRequests } from './s3-requests.js';

/** lomob's --part-size default ("6M", KB = 1000). */
export const DEFAULT_PART_SIZE = 6_000_000;

export interface VolumeToUpload {
  name?: string;
  /** Bytes sent and stored: the ciphertext of an encrypted volume, the image of a plain one. */
  bytes: number;
  /** Part size its upload asks for (see uploadPartSize). */
  partSize: number;
  /** Size of the encrypted manifest sent after it, if the volume has one. */
  manifestBytes?: number;
}

/** An encrypted volume's layout, as the objects table records it. */
export interface CipherLayout {
  cipherSize: number;
  chunkCount: number;
  chunkPlain: number;
  messageSize: number;
}

/**
 * The part size `upload iso` asks for: --part-size when given; otherwise, for an encrypted volume
 * of several chunks, its full chunk's ciphertext size (every part is one chunk: 8 MiB of plaintext
 * + 64-byte header + 17 bytes per 1 MiB message = 8,388,808 bytes by default); otherwise 6M.
 */
export function uploadPartSize(enc: CipherLayout | null, partSizeOption?: number): number {
  if (partSizeOption !== undefined) return partSizeOption;
  if (enc && enc.chunkCount > 1) return chunkCipherSize(enc.chunkPlain, enc.messageSize);
  return DEFAULT_PART_SIZE;
}

/** One billed line: `count` requests of S3 operation `op` at `per1000` dollars per 1,000. */
export interface RequestLine {
  op: string;
  what: string;
  count: number;
  per1000: number;
  cost: number;
}

export function line(op: string, what: string, count: number, per1000: number): RequestLine {
  return { op, what, count, per1000, cost: (count / 1000) * per1000 };
}

export interface UploadEstimate {
  storageClass: string;
  /** Objects stored: volumes + manifests. */
  objects: number;
  volumes: number;
  manifests: number;
  /** Bytes stored: volumes + manifests. */
  bytes: number;
  /** PUT-class requests per object: PutObject, or CreateMultipartUpload + parts + Complete. */
  requests: number;
  /** Of `requests`, UploadPart requests. */
  parts: number;
  /** `requests` at the class's PUT price: what the upload's requests cost, bar the cheap checks below. */
  requestCost: number;
  /** Every request the upload sends, HEAD/GetObjectAttributes checks and the per-run ones included. */
  lines: RequestLine[];
  allRequests: number;
  allRequestCost: number;
  monthly: number;
  /** Storage you pay for at least (minimum duration), whether or not you delete earlier. */
  minimumCommitment: number;
  minDays: number;
}

/** Cost of uploading `vols` as `storageClass` in one `upload iso` run (`perRun`: count its bucket checks). */
export function uploadPlan(p: PriceTable, storageClass: string, vols: VolumeToUpload[], opts: { perRun?: boolean; manifestPartSize?: number } = {}): UploadEstimate {
  const c = classPrice(p, storageClass);
  const std = classPrice(p, 'STANDARD');
  let put = 0;
  let parts = 0;
  let multipart = 0;
  let single = 0;
  let headBefore = 0;
  let verify = 0;
  let bytes = 0;
  let manifests = 0;
  const add = (size: number, partSize: number) => {
    const r = putRequests(size, partSize);
    put += r.put;
    parts += r.parts;
    if (r.parts) multipart++;
    else single++;
    headBefore += r.headBefore;
    verify += r.verify;
    bytes += size;
  };
  for (const v of vols) {
    add(v.bytes, v.partSize);
    if (v.manifestBytes !== undefined) {
      add(v.manifestBytes, opts.manifestPartSize ?? DEFAULT_PART_SIZE);
      manifests++;
    }
  }
  const objects = vols.length + manifests;
  const lines = [
    line('UploadPart', 'UploadPart (one per part)', parts, c.put),
    line('CreateMultipartUpload', 'CreateMultipartUpload (one per multipart object)', multipart, c.put),
    line('CompleteMultipartUpload', 'CompleteMultipartUpload', multipart, c.put),
    line('PutObject', 'PutObject (manifests, objects of one part)', single, c.put),
    line('HeadObject', 'HeadObject before each put (object not there yet)', headBefore, std.get),
    line('GetObjectAttributes', 'GetObjectAttributes after each put (the final check)', verify, c.get),
  ];
  if (opts.perRun && vols.length) {
    lines.push(
      line('HeadBucket', 'HeadBucket, once per run', PER_RUN.headBucket, std.get),
      line('ListMultipartUploads', 'ListMultipartUploads, once per run', PER_RUN.listMultipartUploads, std.put),
    );
  }
  const monthly = monthlyStorage(p, storageClass, bytes, objects);
  return {
    storageClass,
    objects,
    volumes: vols.length,
    manifests,
    bytes,
    requests: put,
    parts,
    requestCost: (put / 1000) * c.put,
    lines,
    allRequests: lines.reduce((a, l) => a + l.count, 0),
    allRequestCost: lines.reduce((a, l) => a + l.cost, 0),
    monthly,
    minimumCommitment: monthly * (c.minDays / 30),
    minDays: c.minDays,
  };
}
