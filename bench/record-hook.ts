// Loaded with `node --import` into an untimed CLI run: records the run's LevelDB writes and saves
// them to $BENCH_RECORD_FILE at exit, for the classic-level baseline to replay.
import {writeFileSync} from 'node:fs'

import {encodeWrites, startRecording} from './record.js'

const file = process.env.BENCH_RECORD_FILE
if (file) {
  const recording = startRecording()
  process.on('exit', () => writeFileSync(file, encodeWrites(recording.writes)))
}
