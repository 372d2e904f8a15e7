import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {describe, it} from 'node:test'

import {expectedSides, foldPath, innerHash, leafHash, MerkleTree, merkleRoot} from '../../src/proof/merkle.js'
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

// RFC 6962 §2.1, recursively: split at the largest power of two below n.
function rfcRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return H([0x00], leaves[0]!)
  let k = 1
  while (k * 2 < leaves.length) k *= 2
  return N(rfcRoot(leaves.slice(0, k)), rfcRoot(leaves.slice(k)))
}

describe('Merkle tree', () => {
  it('hashes leaves and inner nodes with domain separation', () => {
    assert.deepEqual(leafHash(item(0)), L(0))
    assert.deepEqual(innerHash(L(0), L(1)), N(L(0), L(1)))
    assert.notDeepEqual(leafHash(item(0)), H(item(0)))
  })

  it('known answers for 1, 2, 3 and 5 leaves', () => {
    const items = (n: number) => Array.from({length: n}, (_, i) => item(i))
    assert.deepEqual(merkleRoot(items(1)), L(0))
    assert.deepEqual(merkleRoot(items(2)), N(L(0), L(1)))
    // 3: the odd leaf is promoted, never duplicated
    assert.deepEqual(merkleRoot(items(3)), N(N(L(0), L(1)), L(2)))
    assert.notDeepEqual(merkleRoot(items(3)), N(N(L(0), L(1)), N(L(2), L(2))))
    assert.deepEqual(merkleRoot(items(5)), N(N(N(L(0), L(1)), N(L(2), L(3))), L(4)))
    // pinned so a change of the tree is noticed even if both sides above changed alike
    assert.equal(toHex(merkleRoot(items(3))), toHex(N(N(L(0), L(1)), L(2))))
    assert.equal(toHex(merkleRoot([new Uint8Array(32), new Uint8Array(32).fill(1)])), PINNED_2)
  })

  it('known paths for 5 leaves', () => {
    const t = new MerkleTree(Array.from({length: 5}, (_, i) => item(i)))
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
      const t = new MerkleTree(items)
      assert.deepEqual(t.root, rfcRoot(items), `n=${n}`)
      for (let i = 0; i < n; i++) {
        const path = t.path(i)
        assert.deepEqual(foldPath(items[i]!, path), t.root, `n=${n} i=${i}`)
        assert.deepEqual(t.pathHex(i), path.map((s) => ({side: s.side, hex: toHex(s.hash)})), `n=${n} i=${i}: hex path`)
        assert.deepEqual(path.map((s) => s.side), expectedSides(i, n), `n=${n} i=${i}`)
        if (n > 1) assert.notDeepEqual(foldPath(items[(i + 1) % n]!, path), t.root, `n=${n} i=${i}: another item must not fold`)
      }
    }
  })

  it('a reordered or shortened path does not fold to the root', () => {
    const items = Array.from({length: 13}, (_, i) => item(i))
    const t = new MerkleTree(items)
    const path = t.path(6)
    assert.ok(path.length >= 3)
    assert.notDeepEqual(foldPath(items[6]!, path.slice(0, -1)), t.root)
    assert.notDeepEqual(foldPath(items[6]!, [path[1]!, path[0]!, ...path.slice(2)]), t.root)
    assert.notDeepEqual(foldPath(items[6]!, path.map((s) => ({...s, side: s.side === 'L' ? ('R' as const) : ('L' as const)}))), t.root)
  })

  it('builds 20,000 leaves and reads every path', () => {
    const items = Array.from({length: 20_000}, (_, i) => H([i & 255, i >> 8]))
    const t = new MerkleTree(items)
    let max = 0
    for (let i = 0; i < items.length; i += 997) {
      const p = t.path(i)
      max = Math.max(max, p.length)
      assert.deepEqual(foldPath(items[i]!, p), t.root)
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
    const code = (fn: () => unknown) => assert.throws(fn, (e: unknown) => e instanceof TsvmError && /INVALID_ARGUMENT|BAD_LENGTH/.test(e.code))
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
