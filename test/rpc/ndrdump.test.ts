/** Samba's ndrdump (its own NDR/PDU parsers) as an independent witness of our encodings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPipe } from '../../src/rpc/pipe.js';
import { srvsvc } from '../../src/rpc/srvsvc.js';
import { NdrWriter } from '../../src/rpc/ndr.js';
import { getInfoStub, request, shareEnumStub, windowsBind } from './wire.js';

const have = spawnSync('ndrdump', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = have ? false : 'ndrdump (samba) not installed';
const ctx = {
  shares: () => [
    { name: 'data', type: 'disk' as const, comment: 'Data share', path: '/srv/data' },
    { name: 'IPC$', type: 'ipc' as const, comment: 'IPC Service' },
  ],
  serverName: 'RINGSMB',
};

function ndrdump(args: string[], files: Record<string, Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringsmb-ndr-'));
  try {
    for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, n), b);
    const r = spawnSync('ndrdump', args.map((a) => (a in files ? join(dir, a) : a)), { encoding: 'utf8' });
    const out = r.stdout + r.stderr;
    assert.match(out, /dump OK/, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('ndrdump decodes NetShareEnumAll requests and responses at every level', { skip }, () => {
  for (const level of [0, 1, 2, 501, 502]) {
    const stub = shareEnumStub(level);
    ndrdump(['srvsvc', 'srvsvc_NetShareEnumAll', 'in', 'req'], { req: stub });
    const result = srvsvc.call(15, stub, ctx);
    assert.ok('stub' in result);
    const out = ndrdump(['srvsvc', 'srvsvc_NetShareEnumAll', 'out', 'resp'], { resp: result.stub });
    assert.match(out, /totalentries\s+: 0x00000002/);
    assert.match(out, /result\s+: WERR_OK/);
    assert.match(out, /name\s+: 'IPC\$'/);
  }
});

test('ndrdump decodes NetShareGetInfo and NetSrvGetInfo at every level', { skip }, () => {
  for (const level of [0, 1, 2, 501, 502, 1005]) {
    const stub = getInfoStub('data', level);
    const r = srvsvc.call(16, stub, ctx);
    assert.ok('stub' in r);
    const out = ndrdump(['srvsvc', 'srvsvc_NetShareGetInfo', 'out', 'resp', '--context-file', 'req'], { req: stub, resp: r.stub });
    assert.match(out, new RegExp(`case ${level}\\)`));
  }
  for (const level of [100, 101, 102]) {
    const w = new NdrWriter();
    w.wstringPtr('\\\\RINGSMB');
    w.u32(level);
    const stub = w.finish();
    const r = srvsvc.call(21, stub, ctx);
    assert.ok('stub' in r);
    const out = ndrdump(['srvsvc', 'srvsvc_NetSrvGetInfo', 'out', 'resp', '--context-file', 'req'], { req: stub, resp: r.stub });
    assert.match(out, /server_name\s+: 'RINGSMB'/);
  }
});

test('ndrdump decodes our bind, bind_ack, response, fault and bind_nak PDUs', { skip }, () => {
  const pipe = createPipe('srvsvc', ctx)!;
  const dump = (pdu: Buffer) => ndrdump(['dcerpc', 'ncacn_packet', 'struct', 'pdu'], { pdu });
  dump(windowsBind());
  pipe.write(windowsBind());
  const ack = dump(pipe.read(65536)!);
  assert.match(ack, /secondary_address\s+: '\\PIPE\\srvsvc'/);
  assert.match(ack, /RESULT_ACCEPTANCE[\s\S]*PROVIDER_REJECTION[\s\S]*NEGOTIATE_ACK/);
  pipe.write(request(2, 15, shareEnumStub(1)));
  assert.match(dump(pipe.read(65536)!), /DCERPC_PKT_RESPONSE/);
  pipe.write(request(3, 77, Buffer.alloc(4)));
  assert.match(dump(pipe.read(65536)!), /DCERPC_NCA_S_OP_RNG_ERROR/);
  pipe.write(windowsBind(4));
  assert.match(dump(pipe.read(65536)!), /DCERPC_PKT_BIND_NAK/);
});
