// A test hook of `tsvm serve` (no effect unless set): TSVM_TEST_HALT_SERVE=<moment>:<n> SIGKILLs
// the server at the n-th time one of these moments of the pipelined group commit comes, so the
// crash tests can kill it exactly while two groups are in flight instead of hoping a timer hits it:
//   joined   a proposal was built into the group behind one being written; the kill comes on the
//            next turn of the event loop, with the first write in LevelDB's hands
//   landed   a group's write landed and the next group's write was asked for, before the landed
//            group's proposals are answered; the kill is immediate
//   started  as landed, but on the next turn of the event loop, with the next write in LevelDB's hands
import type {Block} from '../vm/block.js'
import type {ChainBackend} from '../rpc/service.js'
import type {Engine} from './engine.js'

const MOMENTS = new Set(['joined', 'landed', 'started'])

const kill = (): void => {
  process.kill(process.pid, 'SIGKILL')
}

/** Wraps the engine's backend and onAccepted with the hook when it is set; returns them as they are otherwise. */
export function haltHook(
  engine: Engine,
  onAccepted: ((blocks: Block[]) => void) | undefined,
  setting: string | undefined,
): {chain: ChainBackend; onAccepted: ((blocks: Block[]) => void) | undefined} {
  const [moment, at] = (setting ?? '').split(':')
  const target = Number(at)
  if (!MOMENTS.has(moment ?? '') || !Number.isSafeInteger(target) || target < 1) return {chain: engine, onAccepted}
  let seen = 0
  const reached = (): boolean => ++seen === target
  if (moment === 'joined') {
    const chain: ChainBackend = {
      lastAcceptedId: () => engine.lastAcceptedId(),
      getBlock: (id) => engine.getBlock(id),
      proposeBlock(data) {
        const answer = engine.proposeBlock(data)
        const {writing, building} = engine.groups()
        if (writing > 0 && building > 0 && reached()) setImmediate(kill)
        return answer
      },
    }
    return {chain, onAccepted}
  }

  return {
    chain: engine,
    onAccepted(blocks) {
      if (engine.groups().writing > 0 && reached()) {
        if (moment === 'landed') kill()
        else setImmediate(kill)
      }

      onAccepted?.(blocks)
    },
  }
}
