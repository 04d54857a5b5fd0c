/** LOGOFF (3.3.5.6), ECHO (3.3.5.17), CANCEL (3.3.5.16). */
import { NtStatus } from '../../smb2/status.js';
import { encodeLogoffResponse } from '../../smb2/commands/logoff.js';
import { encodeEchoResponse } from '../../smb2/commands/echo.js';
import type { Reply, RequestContext } from '../context.js';

export async function handleLogoff(ctx: RequestContext): Promise<Reply> {
  const s = ctx.session!;
  await ctx.server.logoff(s);
  return { status: NtStatus.SUCCESS, body: encodeLogoffResponse() };
}

export function handleEcho(_ctx: RequestContext): Reply {
  return { status: NtStatus.SUCCESS, body: encodeEchoResponse() };
}

/** CANCEL gets no response; requests here complete quickly, so there is nothing pending to cancel. */
export function handleCancel(_ctx: RequestContext): Reply {
  return { status: NtStatus.SUCCESS, body: Buffer.alloc(0) };
}
