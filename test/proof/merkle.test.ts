import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {describe, it} from 'node:test'

import {
  expectedSides,
  foldPath,
  innerHash,
  leafHash,
  leafHashV2,
  MerkleTree,
  merkleRoot,
  PathFolder,
  type PathStep,
} from '../../src/proof/merkle.js'
import {toHex} from '../../src/vm/encoding.js'
import {TsvmError} from '../../src/vm/errors.js'

// Written out independently of the implementation: one sha256 over the concatenated bytes.
const H = (...parts: Array<number[] | Uint8Array>) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(Uint8Array.from(p))
  return new Uint8Array(h.digest())
}

const item = (i: number) => H([...new TextEncoder().encode(`item-${i}`)])
const L = (i: number) => H([0x00], item(i))
const N = (a: Uint8Array, b: Uint8Array) => H([0x01], a, b)
const u64 = (v: number) => Array.from({length: 8}, (_, k) => Math.floor(v / 256 ** (7 - k)) % 256)
/** The version 2 leaf: the leaf count and index (uint64 big-endian) before the item. */
const L2 = (i: number, n: number, it: Uint8Array = item(i)) => H([0x00], u64(n), u64(i), it)

// RFC 6962 §2.1, recursively over leaf hashes: split at the largest power of two below n.
function rfcNode(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0]!
  let k = 1
  while (k * 2 < leaves.length) k *= 2
  return N(rfcNode(leaves.slice(0, k)), rfcNode(leaves.slice(k)))
}

const rfcRoot = (items: Uint8Array[]) => rfcNode(items.map((it) => H([0x00], it)))
const v2Root = (items: Uint8Array[]) => rfcNode(items.map((it, i) => L2(i, items.length, it)))

const items = (n: number) => Array.from({length: n}, (_, i) => item(i))

describe('Merkle tree, version 1 (receipts of version 1)', () => {
  it('hashes leaves and inner nodes with domain separation', () => {
    assert.deepEqual(leafHash(item(0)), L(0))
    assert.deepEqual(innerHash(L(0), L(1)), N(L(0), L(1)))
    assert.notDeepEqual(leafHash(item(0)), H(item(0)))
  })

  it('known answers for 1, 2, 3 and 5 leaves', () => {
    assert.deepEqual(merkleRoot(items(1), 1), L(0))
    assert.deepEqual(merkleRoot(items(2), 1), N(L(0), L(1)))
    // 3: the odd leaf is promoted, never duplicated
    assert.deepEqual(merkleRoot(items(3), 1), N(N(L(0), L(1)), L(2)))
    assert.notDeepEqual(merkleRoot(items(3), 1), N(N(L(0), L(1)), N(L(2), L(2))))
    assert.deepEqual(merkleRoot(items(5), 1), N(N(N(L(0), L(1)), N(L(2), L(3))), L(4)))
    // pinned so a change of the tree is noticed even if both sides above changed alike
    assert.equal(toHex(merkleRoot(items(3), 1)), toHex(N(N(L(0), L(1)), L(2))))
    assert.equal(toHex(merkleRoot([new Uint8Array(32), new Uint8Array(32).fill(1)], 1)), PINNED_2)
  })

  it('known paths for 5 leaves', () => {
    const t = new MerkleTree(
      Array.from({length: 5}, (_, i) => item(i)),
      1,
    )
    const hex = (p: {side: string; hash: Uint8Array}[]) => p.map((s) => `${s.side}:${toHex(s.hash)}`)
    assert.deepEqual(hex(t.path(0)), [`R:${toHex(L(1))}`, `R:${toHex(N(L(2), L(3)))}`, `R:${toHex(L(4))}`])
    assert.deepEqual(hex(t.path(3)), [`L:${toHex(L(2))}`, `L:${toHex(N(L(0), L(1)))}`, `R:${toHex(L(4))}`])
    assert.deepEqual(hex(t.path(4)), [`L:${toHex(N(N(L(0), L(1)), N(L(2), L(3))))}`])
    assert.deepEqual(expectedSides(4, 5), ['L'])
    assert.deepEqual(expectedSides(3, 5), ['L', 'L', 'R'])
  })

  it('for n = 1..70: equals RFC 6962, and every path folds to the root with the expected sides', () => {
    for (let n = 1; n <= 70; n++) {
      const items = Array.from({length: n}, (_, i) => item(i))
      const t = new MerkleTree(items, 1)
      assert.deepEqual(t.root, rfcRoot(items), `n=${n}`)
      for (let i = 0; i < n; i++) {
        const path = t.path(i)
        assert.deepEqual(foldPath(items[i]!, path), t.root, `n=${n} i=${i}`)
        assert.deepEqual(
          t.pathHex(i),
          path.map((s) => ({side: s.side, hex: toHex(s.hash)})),
          `n=${n} i=${i}: hex path`,
        )
        assert.deepEqual(
          path.map((s) => s.side),
          expectedSides(i, n),
          `n=${n} i=${i}`,
        )
        if (n > 1)
          assert.notDeepEqual(foldPath(items[(i + 1) % n]!, path), t.root, `n=${n} i=${i}: another item must not fold`)
      }
    }
  })

  it('a reordered or shortened path does not fold to the root', () => {
    const items = Array.from({length: 13}, (_, i) => item(i))
    const t = new MerkleTree(items, 1)
    const path = t.path(6)
    assert.ok(path.length >= 3)
    assert.notDeepEqual(foldPath(items[6]!, path.slice(0, -1)), t.root)
    assert.notDeepEqual(foldPath(items[6]!, [path[1]!, path[0]!, ...path.slice(2)]), t.root)
    assert.notDeepEqual(
      foldPath(
        items[6]!,
        path.map((s) => ({...s, side: s.side === 'L' ? ('R' as const) : ('L' as const)})),
      ),
      t.root,
    )
  })

  it('does not commit the position: a path relabelled to another tree size still folds', () => {
    // The limit of version 1 that version 2 removes: leaf 1 of 2 has the sides of leaf 2 of 3,
    // and the fold does not see the position, so the relabelled path still reaches the root.
    const t = new MerkleTree([item(0), item(1)], 1)
    assert.deepEqual(expectedSides(1, 2), expectedSides(2, 3))
    assert.deepEqual(foldPath(item(1), t.path(1)), t.root)
    const v2 = new MerkleTree([item(0), item(1)])
    assert.notDeepEqual(foldPath(item(1), v2.path(1), {index: 2, leaves: 3}), v2.root)
  })
})

describe('Merkle tree, version 2 (the leaf binds count and index)', () => {
  it('hashes a leaf as sha256(00 || uint64 n || uint64 i || item)', () => {
    assert.deepEqual(leafHashV2(item(3), {index: 3, leaves: 7}), L2(3, 7))
    assert.notDeepEqual(leafHashV2(item(3), {index: 3, leaves: 8}), L2(3, 7))
    assert.deepEqual(merkleRoot([item(0), item(1)]), N(L2(0, 2), L2(1, 2)))
    assert.equal(toHex(merkleRoot([new Uint8Array(32), new Uint8Array(32).fill(1)])), PINNED_2_V2)
  })

  it('for n = 1..70: the RFC 6962 shape over version 2 leaves; every path folds only at its own position', () => {
    for (let n = 1; n <= 70; n++) {
      const items = Array.from({length: n}, (_, i) => item(i))
      const t = new MerkleTree(items)
      assert.deepEqual(t.root, v2Root(items), `n=${n}`)
      for (let i = 0; i < n; i++) {
        const path = t.path(i)
        assert.deepEqual(foldPath(items[i]!, path, {index: i, leaves: n}), t.root, `n=${n} i=${i}`)
        assert.deepEqual(
          path.map((s) => s.side),
          expectedSides(i, n),
          `n=${n} i=${i}`,
        )
        assert.notDeepEqual(
          foldPath(items[i]!, path, {index: i, leaves: n + 1}),
          t.root,
          `n=${n} i=${i}: relabelled count`,
        )
        if (n > 1)
          assert.notDeepEqual(
            foldPath(items[i]!, path, {index: (i + 1) % n, leaves: n}),
            t.root,
            `n=${n} i=${i}: relabelled index`,
          )
        assert.notDeepEqual(foldPath(items[i]!, path), t.root, `n=${n} i=${i}: a version 1 fold`)
      }
    }
  })
})

const code = (fn: () => unknown) =>
  assert.throws(fn, (e: unknown) => e instanceof TsvmError && /INVALID_ARGUMENT|BAD_LENGTH/.test(e.code))

describe('Merkle tree, both versions', () => {
  it('builds 20,000 leaves and reads every path', () => {
    const items = Array.from({length: 20_000}, (_, i) => H([i & 255, i >> 8]))
    const t = new MerkleTree(items)
    let max = 0
    for (let i = 0; i < items.length; i += 997) {
      const p = t.path(i)
      max = Math.max(max, p.length)
      assert.deepEqual(foldPath(items[i]!, p, {index: i, leaves: items.length}), t.root)
    }

    assert.equal(max, 15)
  })

  it('a tree rebuilt from its levels has the same root and paths', () => {
    const items = Array.from({length: 37}, (_, i) => item(i))
    const t = new MerkleTree(items)
    const u = MerkleTree.fromLevels(t.toLevels())
    assert.deepEqual(u.root, t.root)
    assert.equal(u.leaves, 37)
    for (let i = 0; i < 37; i++) assert.deepEqual(u.path(i), t.path(i))
  })

  it('refuses no items, bad item lengths and out-of-range indexes', () => {
    code(() => new MerkleTree([]))
    code(() => new MerkleTree([new Uint8Array(31)]))
    code(() => new MerkleTree([item(0), item(1)]).path(2))
    code(() => new MerkleTree([item(0), item(1)]).pathHex(-1))
    code(() => MerkleTree.fromLevels([]))
    code(() => MerkleTree.fromLevels([new Uint8Array(64)]))
    code(() => expectedSides(3, 3))
  })
})

// sha256(01 || sha256(00 || 00*32) || sha256(00 || 01*32)), computed with Python's hashlib
const PINNED_2 = '28fb81e496897e0ce886f08602392e9239b65c659041e5202163e58ad898f444'
// the same with version 2 leaves: sha256(00 || u64 2 || u64 i || item), computed with Python's hashlib
const PINNED_2_V2 = '42b39532d90c552e3c54c8415edfb50c5c56472628f65b4f959ea5fe67f1fe15'

/** `bytes` with bit 0 of byte `at` flipped. */
const changed = (bytes: Uint8Array, at: number) => bytes.map((b, i) => (i === at ? b ^ 1 : b))

/** Checks a PathFolder against foldPath on every path of a tree of n items, and on each with one node or the item changed. */
function foldLikeFoldPath(folder: PathFolder, version: 1 | 2, n: number): void {
  const items = Array.from({length: n}, (_, i) => item(i))
  const tree = new MerkleTree(items, version)
  for (let i = 0; i < n; i++) {
    const at = {index: i, leaves: n}
    const position = version === 2 ? at : undefined
    const path = tree.path(i)
    assert.deepEqual(folder.fold(items[i]!, path, at, version), tree.root, `${version} ${n} ${i}`)
    for (let k = 0; k < path.length; k++) {
      const bad = path.map((s, j) => (j === k ? {...s, hash: changed(s.hash, (i + k) % 32)} : s))
      const got = folder.fold(items[i]!, bad, at, version)
      assert.deepEqual(got, foldPath(items[i]!, bad, position))
      assert.notDeepEqual(got, tree.root, `${version} ${n} ${i}: node ${k} changed`)
    }

    const other = changed(items[i]!, 0)
    assert.deepEqual(folder.fold(other, path, at, version), foldPath(other, path, position))
    assert.notDeepEqual(folder.fold(other, path, at, version), tree.root)
    // the path of a neighbour (its nodes are all in the tree) does not lead there from this item
    const neighbour = tree.path((i + 1) % n)
    if (neighbour.length === path.length && neighbour.every((s, j) => s.side === path[j]!.side))
      assert.notDeepEqual(folder.fold(items[i]!, neighbour, at, version), tree.root)
  }
}

describe('PathFolder', () => {
  it('folds every path as foldPath does, and each path with one node changed to what foldPath gives', () => {
    for (const version of [1, 2] as const) {
      for (const n of [2, 3, 7, 64, 100]) {
        const folder = new PathFolder()
        // twice: the second round finds every node of the tree remembered
        foldLikeFoldPath(folder, version, n)
        foldLikeFoldPath(folder, version, n)
      }
    }
  })

  it('a path of another shape, or with a hash of another length, is folded as foldPath folds it', () => {
    const items = Array.from({length: 5}, (_, i) => item(i))
    const tree = new MerkleTree(items)
    const folder = new PathFolder()
    const at = {index: 2, leaves: 5}
    const path = tree.path(2)
    const cases: PathStep[][] = [
      path.slice(1),
      [...path, path[0]!],
      path.map((s) => ({...s, side: s.side === 'L' ? 'R' : 'L'})),
      path.map((s, j) => (j === 1 ? {...s, hash: s.hash.subarray(0, 31)} : s)),
    ]
    for (const p of cases) assert.deepEqual(folder.fold(items[2]!, p, at, 2), foldPath(items[2]!, p, at))
    // positions beyond 32 bits, and an item that is not 32 bytes
    for (const big of [
      {index: 2 ** 40 + 5, leaves: 2 ** 41 + 3},
      {index: 2 ** 52, leaves: 2 ** 53 - 1},
    ]) {
      const bigPath = expectedSides(big.index, big.leaves).map((side, k) => ({side, hash: item(k)}))
      for (const version of [1, 2] as const) {
        const plain = foldPath(items[0]!, bigPath, version === 2 ? big : undefined)
        assert.deepEqual(folder.fold(items[0]!, bigPath, big, version), plain)
        assert.deepEqual(folder.fold(items[0]!, bigPath, big, version), plain)
      }
    }

    assert.deepEqual(folder.fold(items[2]!.subarray(1), path, at, 2), foldPath(items[2]!.subarray(1), path, at))
    // the root it returns is the caller's own copy
    const root = folder.fold(items[2]!, path, at, 2)
    root.fill(0)
    assert.deepEqual(folder.fold(items[2]!, path, at, 2), tree.root)
  })
})
