/** The dispatch table: one entry per command (STYLE.md, ksmbd). */
import { Command } from '../smb2/constants.js';
import type { CommandSpec } from './context.js';
import { handleNegotiate } from './handlers/negotiate.js';
import { handleSessionSetup } from './handlers/session-setup.js';
import { handleEcho, handleLogoff } from './handlers/session-misc.js';
import { handleCancel } from './handlers/cancel.js';
import { handleTreeConnect, handleTreeDisconnect } from './handlers/tree-connect.js';
import { handleCreate } from './handlers/create.js';
import { handleClose } from './handlers/close.js';
import { handleFlush } from './handlers/flush.js';
import { handleRead } from './handlers/read.js';
import { handleWrite } from './handlers/write.js';
import { handleLock } from './handlers/lock.js';
import { handleIoctl } from './handlers/ioctl.js';
import { handleQueryDirectory } from './handlers/query-directory.js';
import { handleChangeNotify } from './handlers/change-notify.js';
import { handleQueryInfo } from './handlers/query-info.js';
import { handleSetInfo } from './handlers/set-info.js';
import { handleOplockBreak } from './handlers/oplock-break.js';

export const COMMANDS: Record<number, CommandSpec | undefined> = {
  [Command.NEGOTIATE]: { name: 'NEGOTIATE', handler: handleNegotiate, session: false, tree: false },
  [Command.SESSION_SETUP]: { name: 'SESSION_SETUP', handler: handleSessionSetup, session: false, tree: false },
  [Command.LOGOFF]: { name: 'LOGOFF', handler: handleLogoff, session: true, tree: false },
  [Command.TREE_CONNECT]: { name: 'TREE_CONNECT', handler: handleTreeConnect, session: true, tree: false },
  [Command.TREE_DISCONNECT]: { name: 'TREE_DISCONNECT', handler: handleTreeDisconnect, session: true, tree: true },
  [Command.CREATE]: { name: 'CREATE', handler: handleCreate, session: true, tree: true },
  [Command.CLOSE]: { name: 'CLOSE', handler: handleClose, session: true, tree: true },
  [Command.FLUSH]: { name: 'FLUSH', handler: handleFlush, session: true, tree: true },
  [Command.READ]: { name: 'READ', handler: handleRead, session: true, tree: true },
  [Command.WRITE]: { name: 'WRITE', handler: handleWrite, session: true, tree: true },
  [Command.LOCK]: { name: 'LOCK', handler: handleLock, session: true, tree: true },
  [Command.IOCTL]: { name: 'IOCTL', handler: handleIoctl, session: true, tree: true },
  [Command.CANCEL]: { name: 'CANCEL', handler: handleCancel, session: false, tree: false },
  [Command.ECHO]: { name: 'ECHO', handler: handleEcho, session: false, tree: false },
  [Command.QUERY_DIRECTORY]: { name: 'QUERY_DIRECTORY', handler: handleQueryDirectory, session: true, tree: true },
  [Command.CHANGE_NOTIFY]: { name: 'CHANGE_NOTIFY', handler: handleChangeNotify, session: true, tree: true },
  [Command.QUERY_INFO]: { name: 'QUERY_INFO', handler: handleQueryInfo, session: true, tree: true },
  [Command.SET_INFO]: { name: 'SET_INFO', handler: handleSetInfo, session: true, tree: true },
  [Command.OPLOCK_BREAK]: { name: 'OPLOCK_BREAK', handler: handleOplockBreak, session: true, tree: true },
};
