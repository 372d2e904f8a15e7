// The Merkle tree that aggregates many item hashes into one 32-byte block payload.
//
//   leaf  = sha256(0x00 || n || i || itemHash)       receipt version 2: n leaves, leaf i (uint64 BE each)
//   leaf  = sha256(0x00 || itemHash)                 receipt version 1 (the position is not committed)
//   inner = sha256(0x01 || left || right)
//
// Version 2 puts the leaf count and the leaf's index inside every leaf, so the root commits to
// them: a path for leaf 1 of 2 cannot be relabelled as leaf 2 of 3. Version 1 trees are still
// built and folded for reading old receipts.
//
// Shape: built bottom-up, level by level. Each level pairs nodes (0,1), (2,3), ...; when a level
// has an odd count, its last node is promoted unchanged to the next level (never duplicated).
// The root is the single node of the last level. This is exactly RFC 6962's tree: for n > 1,
// root(items) = inner(root(first k), root(rest)) with k the largest power of two below n.
//
// A path lists the siblings from the leaf up, skipping levels where the node was promoted:
//   {side: 'L', hash}  the sibling is on the left:  acc = inner(hash, acc)
//   {side: 'R', hash}  the sibling is on the right: acc = inner(acc, hash)
// The sides are fixed by (index, leaves); verifiers check them (expectedSides) so an index
// cannot be changed without the proof failing.
import {hash} from 'node:crypto'

import {toHex} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import {bytesEqual, sha256} from '../vm/hash.js'

/** Domain separation prefix of a leaf (as in RFC 6962). */
export const LEAF_PREFIX = 0x00
/** Domain separation prefix of an inner node. */
export const INNER_PREFIX = 0x01

/** One step of a Merkle path: the sibling hash and on which side it sits. */
export interface PathStep {
  side: 'L' | 'R'
  hash: Uint8Array
}

/** A path step with the sibling as lower-case hex, as receipts write it. */
export interface HexStep {
  side: 'L' | 'R'
  hex: string
}

const HASH = 32

function digest(prefix: number, a: Uint8Array, b?: Uint8Array): Uint8Array {
  // One buffer and a one-shot hash: a streaming hash object per node costs several times the
  // hash of 65 bytes, and a batch verify folds a path of ~14 nodes per receipt.
  const input = new Uint8Array(1 + a.length + (b === undefined ? 0 : b.length))
  input[0] = prefix
  input.set(a, 1)
  if (b) input.set(b, 1 + a.length)
  return sha256(input)
}

/** A receipt version's tree rules: 1 (leaf = item only) or 2 (leaf binds count and index). */
export type TreeVersion = 1 | 2

/** Where a leaf sits: leaf `index` of a tree of `leaves`. */
export interface LeafPosition {
  index: number
  leaves: number
}

/** The version 1 leaf hash of an item hash: sha256(0x00 || item). */
export function leafHash(item: Uint8Array): Uint8Array {
  return digest(LEAF_PREFIX, item)
}

/** The 16 bytes a version 2 leaf puts before the item: the leaf count and the index, uint64 big-endian. */
function positionBytes(index: number, leaves: number): Uint8Array {
  const out = new Uint8Array(16)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(leaves))
  view.setBigUint64(8, BigInt(index))
  return out
}

/** The version 2 leaf hash: sha256(0x00 || uint64 leaves || uint64 index || item). */
export function leafHashV2(item: Uint8Array, position: LeafPosition): Uint8Array {
  return digest(LEAF_PREFIX, positionBytes(position.index, position.leaves), item)
}

/** The inner node hash: sha256(0x01 || left || right). */
export function innerHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return digest(INNER_PREFIX, left, right)
}

/** A built tree: every level kept (about 2n hashes), so any path is read in O(log n). */
export class MerkleTree {
  /** levels[0] holds the leaf hashes, the last level the root; each level is width*32 bytes. */
  private readonly levels: Uint8Array[]
  readonly leaves: number
  /** Sibling hex by level and position, filled as paths are rendered (upper nodes are in many paths). */
  private hexCache: Array<Array<string | undefined>> | undefined

  /** Builds the tree of `items` under the rules of receipt `version` (default 2, what tsvm writes). */
  constructor(items: readonly Uint8Array[], version: TreeVersion = 2) {
    if (items.length === 0) throw new TsvmError('INVALID_ARGUMENT', 'a Merkle tree needs at least one item')
    this.leaves = items.length
    // One scratch buffer holds each hash input (prefix, position, one or two nodes) and
    // node:crypto's one-shot hash digests it: the tree of a 10,000-file stamp is 20,000 hashes.
    const scratch = new Uint8Array(1 + 2 * HASH)
    const first = new Uint8Array(items.length * HASH)
    const leafScratch = new Uint8Array(1 + 16 + HASH)
    const view = new DataView(leafScratch.buffer)
    leafScratch[0] = LEAF_PREFIX
    view.setBigUint64(1, BigInt(items.length))
    const at = version === 2 ? 17 : 1
    const leafInput = leafScratch.subarray(0, at + HASH)
    for (const [i, item] of items.entries()) {
      if (item.length !== HASH)
        throw new TsvmError('BAD_LENGTH', `item ${i} is ${item.length} bytes: item hashes are 32 bytes`)
      if (version === 2) view.setBigUint64(9, BigInt(i))
      leafInput.set(item, at)
      first.set(hash('sha256', leafInput, 'buffer'), i * HASH)
    }

    this.levels = [first]
    scratch[0] = INNER_PREFIX
    let level = first
    while (level.length > HASH) {
      const width = level.length / HASH
      const next = new Uint8Array(Math.ceil(width / 2) * HASH)
      for (let i = 0; i + 1 < width; i += 2) {
        scratch.set(level.subarray(i * HASH, (i + 2) * HASH), 1)
        next.set(hash('sha256', scratch, 'buffer'), (i / 2) * HASH)
      }

      if (width % 2 === 1) next.set(level.subarray((width - 1) * HASH), ((width - 1) / 2) * HASH)
      this.levels.push(next)
      level = next
    }
  }

  /** Every level, leaves first (a copy-free view, for handing the tree to another thread). */
  toLevels(): readonly Uint8Array[] {
    return this.levels
  }

  /** A tree from the levels toLevels gave: nothing is rehashed, so only pass levels of a built tree. */
  static fromLevels(levels: readonly Uint8Array[]): MerkleTree {
    const tree: MerkleTree = Object.create(MerkleTree.prototype)
    const first = levels[0]
    if (!first || first.length === 0 || first.length % HASH !== 0 || levels.at(-1)!.length !== HASH) {
      throw new TsvmError('INVALID_ARGUMENT', 'not the levels of a Merkle tree')
    }

    Object.assign(tree, {levels: [...levels], leaves: first.length / HASH, hexCache: undefined})
    return tree
  }

  /** The root hash (the block payload when there is more than one item). */
  get root(): Uint8Array {
    return this.levels.at(-1)!.slice()
  }

  /** The path of the leaf at `index`, from the leaf up. */
  path(index: number): PathStep[] {
    return this.walk(index, (side, l, p) => ({side, hash: this.levels[l]!.slice(p * HASH, (p + 1) * HASH)}))
  }

  /** The same path with siblings as hex; each node's hex is computed once per tree. */
  pathHex(index: number): HexStep[] {
    this.hexCache ??= this.levels.map(() => [])
    const cache = this.hexCache
    return this.walk(index, (side, l, p) => {
      cache[l]![p] ??= toHex(this.levels[l]!.subarray(p * HASH, (p + 1) * HASH))
      return {side, hex: cache[l]![p]!}
    })
  }

  /** Calls `step` with the side, level and position of each sibling on the way up from `index`. */
  private walk<T>(index: number, step: (side: 'L' | 'R', level: number, position: number) => T): T[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.leaves) {
      throw new TsvmError('INVALID_ARGUMENT', `leaf index ${index} is outside 0..${this.leaves - 1}`)
    }

    const steps: T[] = []
    let p = index
    for (let l = 0; l + 1 < this.levels.length; l++) {
      const width = this.levels[l]!.length / HASH
      if (p % 2 === 1) steps.push(step('L', l, p - 1))
      else if (p + 1 < width) steps.push(step('R', l, p + 1))
      p >>= 1
    }

    return steps
  }
}

/** The sides a valid path for leaf `index` of a tree of `leaves` has, from the leaf up. */
export function expectedSides(index: number, leaves: number): Array<'L' | 'R'> {
  if (!Number.isSafeInteger(leaves) || leaves < 1 || !Number.isSafeInteger(index) || index < 0 || index >= leaves) {
    throw new TsvmError('INVALID_ARGUMENT', `leaf index ${index} is outside a tree of ${leaves} leaves`)
  }

  const sides: Array<'L' | 'R'> = []
  let p = index
  let width = leaves
  while (width > 1) {
    if (p % 2 === 1) sides.push('L')
    else if (p + 1 < width) sides.push('R')
    p = Math.floor(p / 2)
    width = Math.ceil(width / 2)
  }

  return sides
}

/**
 * Folds an item hash up a path to the root it commits to: with a position, from the version 2
 * leaf (which binds the position); without, from the version 1 leaf.
 */
export function foldPath(item: Uint8Array, path: readonly PathStep[], position?: LeafPosition): Uint8Array {
  let acc = position === undefined ? leafHash(item) : leafHashV2(item, position)
  for (const step of path) acc = step.side === 'L' ? innerHash(step.hash, acc) : innerHash(acc, step.hash)
  return acc
}

/** The inner nodes a PathFolder keeps before it starts afresh (96 bytes each: ~25 MB). */
const FOLDER_MAX_NODES = 1 << 18

/**
 * foldPath for many paths of the same trees (the receipts of one stamp share every node above
 * their leaves), hashing each inner node once instead of once per path: ~2 hashes a receipt
 * instead of ~15. It remembers, per tree shape and node position, the two children it last hashed
 * and their parent, and reuses the parent only when both children are byte-equal to those: the
 * result is always the one foldPath gives, for any path, valid or not.
 */
export class PathFolder {
  /** Per tree (version and leaf count): per level, per node position, the children last hashed there and their parent. */
  private readonly trees = new Map<string, Array<Array<FoldedNode | undefined>>>()
  private nodes = 0

  /** What foldPath(item, path, version === 2 ? at : undefined) gives, for leaf `at.index` of a tree of `at.leaves`. */
  fold(item: Uint8Array, path: readonly PathStep[], at: LeafPosition, version: TreeVersion): Uint8Array {
    const position = version === 2 ? at : undefined
    if (item.length !== HASH || !fitsPosition(path, at)) return foldPath(item, path, position) // nothing to share
    if (this.nodes >= FOLDER_MAX_NODES) {
      this.trees.clear()
      this.nodes = 0
    }

    const key = `${version}:${at.leaves}`
    const levels = this.trees.get(key) ?? []
    this.trees.set(key, levels)
    let acc = version === 2 ? leafHashV2(item, at) : leafHash(item)
    let p = at.index
    let width = at.leaves
    let s = 0
    for (let level = 0; width > 1; level++) {
      if (p % 2 === 1 || p + 1 < width) {
        const sibling = path[s++]!.hash
        const odd = p % 2 === 1
        const left = odd ? sibling : acc
        const right = odd ? acc : sibling
        const nodes = levels[level] ?? []
        levels[level] = nodes
        const parentAt = Math.floor(p / 2)
        const known = nodes[parentAt]
        if (known !== undefined && bytesEqual(known.left, left) && bytesEqual(known.right, right)) {
          acc = known.parent
        } else {
          // acc is the folder's own (a leaf it hashed, or a parent it keeps); the sibling is copied,
          // as the caller's path may change after this call
          const copy = sibling.slice()
          const node = {left: odd ? copy : acc, right: odd ? acc : copy, parent: innerHash(left, right)}
          nodes[parentAt] = node
          acc = node.parent
          this.nodes++
        }
      }

      p = Math.floor(p / 2)
      width = Math.ceil(width / 2)
    }

    return acc.slice()
  }
}

/** True when `path` has the sides expectedSides gives for `at` (without building that list) and 32-byte hashes. */
function fitsPosition(path: readonly PathStep[], at: LeafPosition): boolean {
  if (!Number.isSafeInteger(at.leaves) || !Number.isSafeInteger(at.index) || at.index < 0 || at.index >= at.leaves)
    return false
  let p = at.index
  let width = at.leaves
  let s = 0
  while (width > 1) {
    const side = p % 2 === 1 ? 'L' : p + 1 < width ? 'R' : undefined
    if (side !== undefined) {
      const step = path[s++]
      if (step === undefined || step.side !== side || step.hash.length !== HASH) return false
    }

    p = Math.floor(p / 2)
    width = Math.ceil(width / 2)
  }

  return s === path.length
}

/** A node a PathFolder hashed: parent = innerHash(left, right). Never changed once made. */
interface FoldedNode {
  left: Uint8Array
  right: Uint8Array
  parent: Uint8Array
}

/** The root of a list of item hashes (for checks; use MerkleTree when paths are needed). */
export function merkleRoot(items: readonly Uint8Array[], version: TreeVersion = 2): Uint8Array {
  return new MerkleTree(items, version).root
}
