/** S3 storage classes as lomob names them; no SDK import, so option parsers can use them cheaply. */

/**
 * lomob's --storage-class values, plus ONEZONE_IA: lomob spells that class ONE-ZONE_IA, S3 and the
 * AWS tools spell it ONEZONE_IA; both are accepted and mean the same class (s3Class).
 */
export const STORAGE_CLASSES = ['DEEP_ARCHIVE', 'GLACIER', 'GLACIER_IR', 'INTELLIGENT_TIERING', 'ONE-ZONE_IA', 'ONEZONE_IA', 'REDUCED_REDUNDANCY', 'STANDARD', 'STANDARD_IA'] as const;
export type LomobStorageClass = (typeof STORAGE_CLASSES)[number];

/** Classes whose objects need a restore before a GET, and have a minimum storage duration. */
export const COLD_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);
