/** S3 storage classes as lomob names them; no SDK import, so option parsers can use them cheaply. */

/** lomob's --storage-class values (ONE-ZONE_IA is lomob's spelling of ONEZONE_IA). */
export const STORAGE_CLASSES = ['DEEP_ARCHIVE', 'GLACIER', 'GLACIER_IR', 'INTELLIGENT_TIERING', 'ONE-ZONE_IA', 'REDUCED_REDUNDANCY', 'STANDARD', 'STANDARD_IA'] as const;
export type LomobStorageClass = (typeof STORAGE_CLASSES)[number];

/** Classes whose objects need a restore before a GET, and have a minimum storage duration. */
export const COLD_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);
