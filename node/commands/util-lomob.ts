import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Argv, CommandModule } from 'yargs';
import { withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { userErrorOf } from '../job-errors.js';
import { log } from '../log.js';
import { formatDateTime, printJson, printTable } from '../output.js';
import { withPassphraseOption } from '../passphrase-option.js';
import { STORAGE_CLASSES, type LomobStorageClass } from '../../storage/tiers/s3-classes.js';
import { parseSize as parseSizeSync } from '../../storage/util/units.js';
import { awsOptions, cloudUserError, type AwsArgs } from './cloud-args.js';
import { lomobMasterKey, lomobUserError, withLomobKeyOption, type LomobKeyArgs } from './lomob-key.js';

/**
 * lomob's format and S3 tools under `util`, with lomob's names, arguments and flags
 * (cmd/lomob/main.go): encrypt, decrypt, parts, check-header, list-inprogress-upload,
 * abort-upload, upload-s3. Everything they write is in lomob's format (docs/lomob.md §5): they
 * exist so that a lomob user's scripts keep working; lomo-peer's own objects are written by
 * `iso create` / `upload`. Logic: storage/lomob/tools.ts and storage/jobs/lomob-s3.ts.
 */

const lomobTools = () => import('../../storage/lomob/tools.js');
const lomobCrypto = () => import('../../storage/lomob/crypto.js');
const s3Jobs = () => import('../../storage/jobs/lomob-s3.js');
const cloud = () => import('./cloud-options.js');

type KeyArgs = GlobalArgs & LomobKeyArgs;
const keyOptions = <T>(y: Argv<T>) => withLomobKeyOption(withPassphraseOption(y));

function sizeArg(text: string | undefined, flag: string): number | undefined {
  if (text === undefined || text === '' || text === '0') return undefined;
  try {
    return parseSizeSync(text);
  } catch (e) {
    throw new UserError(`--${flag}: ${(e as Error).message}`, EXIT.USAGE);
  }
}

const failWith = (e: unknown): never => {
  throw cloudUserError(userErrorOf(lomobUserError(e)));
};

interface EncryptArgs extends KeyArgs {
  input: string;
  output?: string;
  partSize?: string;
}

const encrypt: CommandModule<GlobalArgs, EncryptArgs> = {
  command: 'encrypt <input> [output]',
  describe: "Encrypt a local file in lomob's format (output: <input>.enc)",
  builder: (y) =>
    keyOptions(y)
      .positional('input', { type: 'string', demandOption: true, describe: 'file to encrypt' })
      .positional('output', { type: 'string', describe: 'encrypted file (default: <input>.enc)' })
      .option('part-size', { alias: 'p', type: 'string', describe: 'Also cut the encrypted file into <output>.partN pieces of this size (KB=1000 bytes; 0: none)' })
      .example('$0 util encrypt a.iso', "writes a.iso.enc, lomob's format (what lomob's upload iso sends)")
      .epilogue("Writes lomob's format (IV = SHA-256 of the plaintext, AES-256-CTR, Argon2id of LOMOB_MASTER_KEY), which lomob's util decrypt reads. lomo-peer's own format is only written as objects, by iso create / upload.") as unknown as Argv<EncryptArgs>,
  handler: async (args) => {
    const out = args.output ?? `${args.input}.enc`;
    if (!fs.existsSync(args.input)) throw new UserError(`${args.input} does not exist`, EXIT.INPUT);
    const partSize = sizeArg(args.partSize, 'part-size');
    const key = await lomobMasterKey(args);
    console.log(`Start encrypt '${args.input}', and save output to '${out}'`);
    const r = await (await lomobTools()).encryptLomobWithParts(args.input, out, key, partSize).catch(failWith);
    for (const p of r.pieces) console.log(`Created '${p}'`);
    console.log('Finish encryption!');
  },
};

interface DecryptArgs extends KeyArgs {
  file: string;
  output?: string;
}

const decrypt: CommandModule<GlobalArgs, DecryptArgs> = {
  command: 'decrypt <file>',
  describe: 'Decrypt a file lomob encrypted (util encrypt, its S3 volumes, its Drive copies)',
  builder: (y) =>
    keyOptions(y)
      .positional('file', { type: 'string', demandOption: true, describe: 'encrypted file' })
      .option('output', { alias: 'o', type: 'string', describe: 'Saved file name (default: standard output)' })
      .example('$0 util decrypt a.iso.enc -o a.iso', 'written only once the whole file checked out (else nothing is left)')
      .epilogue(
        "lomob's format has one check, at the end: with -o nothing is written unless it passes; to standard output the bytes flow first and the command exits 6 or 7 if the check fails. A lomo-peer object chunk (LOMOOBJ) is recognised and refused: use restore volume / restore file.",
      ) as unknown as Argv<DecryptArgs>,
  handler: async (args) => {
    if (!fs.existsSync(args.file)) throw new UserError(`${args.file} does not exist`, EXIT.INPUT);
    if (await (await lomobTools()).isLomoPeerObject(args.file)) {
      throw new UserError(`${args.file} is a lomo-peer object chunk, not a lomob file: restore it with lomo-peer restore volume / restore file (or deploy/decrypt-volume.js)`, EXIT.USAGE);
    }
    if (args.output !== undefined && fs.existsSync(args.output)) throw new UserError(`${args.output} already exists: remove it or name another output file`, EXIT.USAGE);
    const key = await lomobMasterKey(args);
    const c = await lomobCrypto();
    if (args.output !== undefined) {
      await c.decryptLomobFile(args.file, args.output, key).catch(failWith);
      console.log('Finish decryption!');
      return;
    }
    await pipeline(fs.createReadStream(args.file), new c.LomobDecipher(key, {}, args.file), process.stdout).catch(failWith);
    log.info('Finish decryption!');
  },
};

interface PartsArgs extends GlobalArgs {
  file: string;
  partSize: string;
  partNumber?: number;
}

const parts: CommandModule<GlobalArgs, PartsArgs> = {
  command: 'parts <file>',
  describe: "Calculate given files base64 hash without encryption (per part, and S3's overall value)",
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true })
      .option('part-size', { alias: 'p', type: 'string', default: '6M', describe: 'Size of each upload partition. KB=1000 Byte' })
      .option('part-number', { alias: 'pn', type: 'number', describe: 'The number of part to calculate (1-based)' })
      .example('$0 util parts a.iso.enc -p 6M', "Part N: <base64 SHA-256> lines and Overall: S3's composite checksum") as unknown as Argv<PartsArgs>,
  handler: async (args) => {
    if (!fs.existsSync(args.file)) throw new UserError(`${args.file} does not exist`, EXIT.INPUT);
    const partSize = sizeArg(args.partSize, 'part-size');
    if (!partSize) throw new UserError('--part-size must be more than 0', EXIT.USAGE);
    const t = await lomobTools();
    const r = await t.lomobPartHashes(args.file, partSize, args.partNumber || undefined);
    if (args.json) {
      printJson({ size: r.size, partSize, parts: r.parts.map((p) => ({ partNo: p.partNo, start: p.start, end: p.end, sha256: t.base64(p.sha256) })), overall: r.overall ? t.base64(r.overall) : null });
      return;
    }
    for (const p of r.parts) {
      if (args.partNumber) console.log(`Calculating base64 hash from ${p.start} to ${p.end} and remaining ${r.size - p.start}`);
      console.log(`Part ${p.partNo}: ${t.base64(p.sha256)}`);
    }
    if (r.overall) console.log(`Overall: ${t.base64(r.overall)}`);
  },
};

interface CheckHeaderArgs extends GlobalArgs {
  original: string;
  encrypted: string;
}

const checkHeader: CommandModule<GlobalArgs, CheckHeaderArgs> = {
  command: 'check-header <original> <encrypted>',
  describe: 'Check if the header of encrypt file follows the convention (IV = start of the original SHA-256)',
  builder: (y) =>
    y
      .positional('original', { type: 'string', demandOption: true, describe: 'original file name' })
      .positional('encrypted', { type: 'string', demandOption: true, describe: 'encrypted file name' }) as unknown as Argv<CheckHeaderArgs>,
  handler: async (args) => {
    for (const f of [args.original, args.encrypted]) if (!fs.existsSync(f)) throw new UserError(`${f} does not exist`, EXIT.INPUT);
    const r = await (await lomobTools()).checkLomobHeader(args.original, args.encrypted);
    if (!r.same) throw new UserError(`different salt detected: ${args.encrypted} starts with ${r.found.toString('hex')}, ${args.original} gives ${r.expected.toString('hex')}`, EXIT.CORRUPT);
    console.log('Salt is same as expected!');
  },
};

interface S3Args extends GlobalArgs, AwsArgs {}

async function s3Tier(args: S3Args, storageClass?: LomobStorageClass) {
  return (await cloud()).archiveTierFrom(args, storageClass ? { storageClass } : {});
}

interface ListUploadsArgs extends S3Args {
  local: boolean;
}

const listInProgress: CommandModule<GlobalArgs, ListUploadsArgs> = {
  command: 'list-inprogress-upload',
  describe: 'List uploading tasks in AWS (unfinished multipart uploads)',
  builder: (y) =>
    awsOptions(y).option('local', { type: 'boolean', default: false, describe: "List the unfinished uploads this catalog records only, no AWS call (lomob's -l is lomo-peer's global --log-level: spell it --local)" }) as unknown as Argv<ListUploadsArgs>,
  handler: async (args) => {
    let rows: { key: string; uploadId: string; time: number | null; where?: string }[];
    if (args.local) {
      const { recordedUploads } = await s3Jobs();
      rows = withCatalog(args, (db) => recordedUploads(db)).map((u) => ({ key: u.key, uploadId: u.uploadId, time: u.startedAt, where: u.tierUrl }));
    } else {
      const { listInProgressUploads } = await s3Jobs();
      const tier = await s3Tier(args);
      rows = (await listInProgressUploads(tier).catch(failWith)).map((u) => ({ key: u.key, uploadId: u.uploadId, time: u.initiated?.getTime() ?? null }));
    }
    if (args.json) return printJson(rows.map((r) => ({ ...r, time: r.time === null ? null : new Date(r.time).toISOString() })));
    printTable(['UploadKey', 'UploadID', 'UploadTime'], rows.map((r) => [r.key, r.uploadId, r.time === null ? '' : formatDateTime(r.time)]));
  },
};

interface AbortArgs extends S3Args {
  key: string;
  uploadId?: string;
}

const abortUpload: CommandModule<GlobalArgs, AbortArgs> = {
  command: 'abort-upload <key> [upload-id]',
  describe: 'Abort in progress upload. If upload ID is not provided, it will delete all upload for given key',
  builder: (y) =>
    awsOptions(y)
      .positional('key', { type: 'string', demandOption: true, describe: 'upload key (see util list-inprogress-upload)' })
      .positional('upload-id', { type: 'string', describe: 'upload ID; without it every unfinished upload of the key' }) as unknown as Argv<AbortArgs>,
  handler: async (args) => {
    const { abortUploads } = await s3Jobs();
    const tier = await s3Tier(args);
    const r = await abortUploads(tier, args.key, args.uploadId, args.uploadId ? undefined : (p) => console.log(p.message)).catch(failWith);
    if (args.json) printJson(r);
    else if (args.uploadId) console.log('abort upload success');
    else if (r.aborted.length + r.failed.length === 0) console.log('no in progress multipart upload to abort');
    if (r.failed.length) throw new UserError(`${r.failed.length} upload(s) of ${args.key} could not be aborted`, EXIT.CLOUD);
  },
};

interface UploadS3Args extends S3Args, LomobKeyArgs {
  files: string[];
  noEncrypt: boolean;
  storageClass: LomobStorageClass;
}

const uploadS3: CommandModule<GlobalArgs, UploadS3Args> = {
  command: 'upload-s3 <files..>',
  describe: "Upload individual file into S3 with on-the-fly encryption (lomob's format, key = file's base name)",
  builder: (y) =>
    keyOptions(awsOptions(y))
      .positional('files', { type: 'string', array: true, demandOption: true, describe: 'local file names' })
      .option('no-encrypt', { type: 'boolean', default: false, describe: 'not do any encryption, and upload raw files' })
      .option('storage-class', { type: 'string', default: 'STANDARD', choices: [...STORAGE_CLASSES], describe: 'The type of storage to use for the object' })
      .epilogue("Encrypted uploads are in lomob's format: `util decrypt` (lomob's or lomo-peer's) reads them back after a download.") as unknown as Argv<UploadS3Args>,
  handler: async (args) => {
    const key = args.noEncrypt ? null : await lomobMasterKey(args);
    const { uploadFilesToS3 } = await s3Jobs();
    const tier = await s3Tier(args, args.storageClass);
    const r = await uploadFilesToS3(tier, args.files, { masterKey: key, onProgress: (p) => console.log(p.message) }).catch(failWith);
    if (args.json) printJson(r);
  },
};

/** Registered in node/commands/util.ts. */
export const lomobUtilCommands: CommandModule<GlobalArgs, any>[] = [encrypt, decrypt, parts, checkHeader, listInProgress, abortUpload, uploadS3];
