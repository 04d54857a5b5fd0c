/**
 * The users file: one `name:NTHASHHEX` per line (32 hex digits, the MD4 of
 * the UTF-16LE password), `#` comments and blank lines ignored. Plaintext
 * passwords are never stored. Names compare case-insensitively, as Windows
 * account names do; the file keeps the case it was given.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { RingsmbError } from '../util/errors.js';
import { ntHash } from './ntlm-crypto.js';

export interface UserRecord {
  name: string;
  ntHash: Buffer;
}

export class UsersFileError extends RingsmbError {
  constructor(message: string) {
    super('ERR_USERS_FILE', message);
  }
}

export function validUserName(name: string): boolean {
  return name.length > 0 && name.length <= 256 && !/[:\r\n#]/.test(name) && name.trim() === name;
}

export function parseUsers(text: string): UserRecord[] {
  const out: UserRecord[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const s = line.trim();
    if (s === '' || s.startsWith('#')) return;
    const colon = s.lastIndexOf(':');
    const name = colon > 0 ? s.slice(0, colon).trim() : '';
    const hash = colon > 0 ? s.slice(colon + 1).trim() : '';
    if (!validUserName(name) || !/^[0-9a-fA-F]{32}$/.test(hash)) {
      throw new UsersFileError(`users file line ${i + 1}: expected name:NTHASH (32 hex digits)`);
    }
    out.push({ name, ntHash: Buffer.from(hash, 'hex') });
  });
  return out;
}

export function serializeUsers(records: readonly UserRecord[]): string {
  const lines = ['# ringsmb users: name:NT-hash (MD4 of the UTF-16LE password)'];
  for (const r of records) lines.push(`${r.name}:${r.ntHash.toString('hex').toUpperCase()}`);
  return lines.join('\n') + '\n';
}

export class UserStore {
  private readonly byKey = new Map<string, UserRecord>();

  constructor(records: readonly UserRecord[] = []) {
    for (const r of records) this.set(r.name, r.ntHash);
  }

  static parse(text: string): UserStore {
    return new UserStore(parseUsers(text));
  }

  private static key(name: string): string {
    return name.toUpperCase();
  }

  lookup(name: string): UserRecord | null {
    return this.byKey.get(UserStore.key(name)) ?? null;
  }

  set(name: string, hash: Buffer): void {
    if (!validUserName(name)) throw new UsersFileError(`invalid user name ${JSON.stringify(name)}`);
    if (hash.length !== 16) throw new UsersFileError('an NT hash is 16 bytes');
    this.byKey.set(UserStore.key(name), { name, ntHash: Buffer.from(hash) });
  }

  setPassword(name: string, password: string): void {
    this.set(name, ntHash(password));
  }

  delete(name: string): boolean {
    return this.byKey.delete(UserStore.key(name));
  }

  list(): UserRecord[] {
    return [...this.byKey.values()];
  }

  serialize(): string {
    return serializeUsers(this.list());
  }
}

/** Loads a users file; a missing file is an empty store. */
export async function loadUsers(file: string): Promise<UserStore> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new UserStore();
    throw e;
  }
  return UserStore.parse(text);
}

/** Writes the store atomically (temp file + rename), readable by the owner only. */
export async function saveUsers(file: string, store: UserStore): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, store.serialize(), { mode: 0o600 });
  await rename(tmp, file);
}

/** `ringsmb user add`: adds or replaces a user's entry. */
export async function addUser(file: string, name: string, password: string): Promise<void> {
  const store = await loadUsers(file);
  store.setPassword(name, password);
  await saveUsers(file, store);
}

export async function removeUser(file: string, name: string): Promise<boolean> {
  const store = await loadUsers(file);
  const had = store.delete(name);
  if (had) await saveUsers(file, store);
  return had;
}
