import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {bytesText, durationText, progressText} from '../src/progress-line.js'

describe('progress line', () => {
  it('shows the count, the rate and the time left', () => {
    assert.equal(progressText('accepted', 2500, 10_000, 1000), 'accepted 2,500/10,000  2,500/s  ETA 3s')
    assert.equal(progressText('checking', 10_000, 10_000, 2000), 'checking 10,000/10,000  5,000/s')
    assert.equal(progressText('walking', 300, 0, 1000), 'walking 300  300/s')
    // nothing done yet, or too soon to tell: no rate
    assert.equal(progressText('hashing', 0, 10, 5000), 'hashing 0/10')
    assert.equal(progressText('hashing', 5, 10, 0), 'hashing 5/10')
  })

  it('counts bytes for large files', () => {
    const mib = 1024 * 1024
    assert.equal(
      progressText('hashing large files', 512 * mib, 3072 * mib, 4000, 'bytes'),
      'hashing large files 512 MiB/3.00 GiB  128 MiB/s  ETA 20s',
    )
    assert.deepEqual([bytesText(0), bytesText(1023), bytesText(1536)], ['0 B', '1023 B', '1.50 KiB'])
    assert.deepEqual([durationText(59.4), durationText(185), durationText(7800)], ['59s', '3m05s', '2h10m'])
  })
})
