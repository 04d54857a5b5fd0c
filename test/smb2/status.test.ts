import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NtStatus, isError, isSuccess, statusName } from '../../src/smb2/status.js';

test('well-known NTSTATUS values match MS-ERREF', () => {
  assert.equal(NtStatus.SUCCESS, 0);
  assert.equal(NtStatus.PENDING, 0x103);
  assert.equal(NtStatus.MORE_PROCESSING_REQUIRED, 0xc0000016);
  assert.equal(NtStatus.ACCESS_DENIED, 0xc0000022);
  assert.equal(NtStatus.OBJECT_NAME_NOT_FOUND, 0xc0000034);
  assert.equal(NtStatus.BUFFER_OVERFLOW, 0x80000005);
  assert.equal(NtStatus.NO_MORE_FILES, 0x80000006);
  assert.equal(NtStatus.NETWORK_SESSION_EXPIRED, 0xc000035c);
  assert.equal(NtStatus.USER_SESSION_DELETED, 0xc0000203);
  assert.equal(NtStatus.FILE_CLOSED, 0xc0000128);
  assert.equal(NtStatus.NOT_FOUND, 0xc0000225);
});

test('every value is an unsigned 32-bit number', () => {
  for (const [k, v] of Object.entries(NtStatus)) {
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, k);
  }
});

test('statusName names known codes and formats unknown ones', () => {
  assert.equal(statusName(0xc0000022), 'STATUS_ACCESS_DENIED');
  assert.equal(statusName(-1073741790), 'STATUS_ACCESS_DENIED'); // same bits as a signed int
  assert.equal(statusName(0xc0001234), '0xC0001234');
});

test('severity helpers', () => {
  assert.ok(isSuccess(NtStatus.SUCCESS));
  assert.ok(isSuccess(NtStatus.PENDING));
  assert.ok(!isSuccess(NtStatus.BUFFER_OVERFLOW));
  assert.ok(!isError(NtStatus.BUFFER_OVERFLOW));
  assert.ok(isError(NtStatus.ACCESS_DENIED));
});
