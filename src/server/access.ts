/** Access masks (MS-SMB2 2.2.13.1, MS-DTYP 2.4.3) and the checks handlers share. */
export const Access = {
  FILE_READ_DATA: 0x00000001,
  FILE_WRITE_DATA: 0x00000002,
  FILE_APPEND_DATA: 0x00000004,
  FILE_READ_EA: 0x00000008,
  FILE_WRITE_EA: 0x00000010,
  FILE_EXECUTE: 0x00000020,
  FILE_DELETE_CHILD: 0x00000040,
  FILE_READ_ATTRIBUTES: 0x00000080,
  FILE_WRITE_ATTRIBUTES: 0x00000100,
  DELETE: 0x00010000,
  READ_CONTROL: 0x00020000,
  WRITE_DAC: 0x00040000,
  WRITE_OWNER: 0x00080000,
  SYNCHRONIZE: 0x00100000,
  ACCESS_SYSTEM_SECURITY: 0x01000000,
  MAXIMUM_ALLOWED: 0x02000000,
  GENERIC_ALL: 0x10000000,
  GENERIC_EXECUTE: 0x20000000,
  GENERIC_WRITE: 0x40000000,
  GENERIC_READ: 0x80000000,
} as const;

/** Everything a client can be granted on a writable share. */
export const MaskFull = 0x001f01ff;
/** Read-only share: read, execute, attributes, EAs, control, synchronize. */
export const MaskRead = 0x001200a9;
/** Bits that modify the file or its metadata. */
export const MaskWriting =
  Access.FILE_WRITE_DATA | Access.FILE_APPEND_DATA | Access.FILE_WRITE_EA | Access.FILE_WRITE_ATTRIBUTES |
  Access.FILE_DELETE_CHILD | Access.DELETE | Access.WRITE_DAC | Access.WRITE_OWNER;

/** Maps GENERIC_* bits to specific rights (MS-SMB2 3.3.5.9 / file generic mapping). */
export function mapGeneric(mask: number, maximal: number): number {
  let m = mask >>> 0;
  if (m & Access.GENERIC_ALL) m |= MaskFull;
  if (m & Access.GENERIC_READ) m |= 0x00120089;
  if (m & Access.GENERIC_WRITE) m |= 0x00120116;
  if (m & Access.GENERIC_EXECUTE) m |= 0x001200a0;
  if (m & Access.MAXIMUM_ALLOWED) m |= maximal;
  return (m & ~(Access.GENERIC_ALL | Access.GENERIC_READ | Access.GENERIC_WRITE | Access.GENERIC_EXECUTE | Access.MAXIMUM_ALLOWED)) >>> 0;
}
