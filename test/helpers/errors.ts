// Asserting on error codes, never on message text.
import assert from 'node:assert/strict'

import {TsvmError} from '../../src/vm/errors.js'

/** The code of the TsvmError that `fn` throws; fails the test if it throws nothing or something else. */
export function errorCode(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof TsvmError, `expected a TsvmError, got ${String(error)}`)
    return error.code
  }

  assert.fail('expected an error')
}

/** The code of the TsvmError that a promise (or an async function) rejects with. */
export async function rejectionCode(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (error) {
    assert.ok(error instanceof TsvmError, `expected a TsvmError, got ${String(error)}`)
    return error.code
  }

  assert.fail('expected an error')
}
