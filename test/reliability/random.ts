// A small seeded PRNG (mulberry32) so kill moments and load patterns replay exactly from a seed.

/** A deterministic source of numbers in [0, 1) from a 32-bit seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** An integer in [min, max] from `next`. */
export function between(next: () => number, min: number, max: number): number {
  return min + Math.floor(next() * (max - min + 1))
}
