/** The one signature every command handler shares (STYLE.md: ksmbd's dispatch). */
import type { Smb2Header } from '../smb2/header.js';
import { encodeErrorResponse } from '../smb2/commands/error.js';
import type { Session, TreeConnect, Open } from './state.js';
import type { SmbConnection } from './connection.js';
import type { SmbServer } from './server.js';
import type { FileRegion, SpliceOutcome } from '../transport/types.js';

export interface RequestContext {
  server: SmbServer;
  conn: SmbConnection;
  hdr: Smb2Header;
  /** this command's bytes, from its SMB2 header to its end */
  msg: Buffer;
  session: Session | null;
  tree: TreeConnect | null;
  /** the request arrived encrypted */
  encrypted: boolean;
  /** the request is one of several in a compound */
  compound: boolean;
  /**
   * In a compound: the responses of the earlier requests, not sent yet, and
   * whether this request is the last one. goAsync() sends them with the
   * interim response when the last request goes async (MS-SMB2 3.3.4.2, <159>).
   */
  compoundOut?: { earlier: unknown[]; last: boolean; flushed: boolean };
  /** for related compound requests: the FileId the previous command used or created */
  related: { open: Open | null };
  /** a CREATE with a CreateGuid (replay.ts): waiting, it is not cancelled by the loss of its connection while its session lives on */
  outlivesChannel?: boolean;
  /** the open this request was counted on, under the channel sequence of its header (replay.ts, 3.3.5.2.10) */
  sequenced?: Open;
  /** WRITE: `msg` is the head of the PDU; the rest of the data went straight into the file (datapath/write.ts) */
  spliced?: SpliceOutcome;
  /**
   * READ, where the response will be sealed or signed, alone: seals or signs
   * it as its data is read (Connection.readSealer). Called once with the
   * DataLength, it fixes the response header (and its credits) now and
   * returns where the data goes, all of it and in order; null when it
   * cannot be had.
   */
  sealRead?: (dataLength: number) => ReadSeal | null;
}

/** A READ response being sealed or signed as its data is read (RequestContext.sealRead). */
export interface ReadSeal {
  /** Takes the next piece of the data (sealing encrypts it where it lies). */
  update(piece: Buffer): void;
}

export interface Reply {
  status: number;
  /** the response body, after the 64-byte header */
  body: Buffer | Buffer[];
  /** READ: file bytes that follow `body`, sent by the transport without a copy (only when ctx.conn.canSendFile(ctx) said yes) */
  region?: FileRegion;
  /** READ: gives back the pooled memory `body` points into; called once, when the response is on the wire, sealed, or dropped */
  release?: () => void;
  /** READ: the body part that is the handler's own memory, which sealing may overwrite with its ciphertext (encrypt in place) */
  scratch?: Buffer;
  /** READ: the data (body[1]) went through this ReadSeal (and is ciphertext now, if sealed) */
  sealed?: ReadSeal;
  /** SESSION_SETUP: the session id the response carries */
  sessionId?: bigint;
  /** TREE_CONNECT: the tree id the response carries */
  treeId?: number;
}

export type Handler = (ctx: RequestContext) => Promise<Reply> | Reply;

export interface CommandSpec {
  name: string;
  handler: Handler;
  /** needs a valid session (3.3.5.2.9) */
  session: boolean;
  /** needs a tree connect (3.3.5.2.11) */
  tree: boolean;
}

/** The ERROR response body (2.2.2) without error data, built once: it is never modified. */
const ERROR_BODY = encodeErrorResponse({});

export function errorReply(status: number): Reply {
  return { status, body: ERROR_BODY };
}
