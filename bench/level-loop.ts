// The classic-level baseline as its own process: replays a recorded write file into a fresh DB.
//
//   node dist/bench/level-loop.js <record file> <db dir>
import {readFileSync} from 'node:fs'

import {decodeWrites, replay} from './record.js'

const [file, dir] = process.argv.slice(2)
if (!file || !dir) throw new Error('usage: level-loop <record file> <db dir>')
await replay(dir, decodeWrites(readFileSync(file)))
