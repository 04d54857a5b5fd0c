/** Access checks the handlers share; the mask bits themselves are the wire constants of smb2/. */
import { Access, FILE_GENERIC_EXECUTE, FILE_GENERIC_READ, FILE_GENERIC_WRITE } from '../smb2/constants.js';

export { Access };

/** Everything a client can be granted on a writable share. */
export const MaskFull = Access.FILE_ALL_ACCESS;
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
  if (m & Access.GENERIC_READ) m |= FILE_GENERIC_READ;
  if (m & Access.GENERIC_WRITE) m |= FILE_GENERIC_WRITE;
  if (m & Access.GENERIC_EXECUTE) m |= FILE_GENERIC_EXECUTE;
  if (m & Access.MAXIMUM_ALLOWED) m |= maximal;
  const generic = Access.GENERIC_ALL | Access.GENERIC_READ | Access.GENERIC_WRITE | Access.GENERIC_EXECUTE | Access.MAXIMUM_ALLOWED;
  return (m & ~generic) >>> 0;
}
