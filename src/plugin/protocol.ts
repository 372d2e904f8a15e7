// The rpcchainvm protocol numbers tsvm's plugin can announce, and the AvalancheGo releases that
// speak each. The node requires exact equality with its own number; for a TimestampVM the wire
// contract is the same from 42 to 46, so one build serves them all and the launcher picks one.

/** The protocol announced when none is given: AvalancheGo v1.14.2's. */
export const DEFAULT_PROTOCOL = 45

/** The protocols the plugin can announce, with the AvalancheGo releases that speak each. */
export const PROTOCOL_RELEASES: Readonly<Record<number, readonly string[]>> = {
  42: ['v1.13.3'],
  43: ['v1.13.4', 'v1.13.5'],
  44: ['v1.14.0', 'v1.14.1'],
  45: ['v1.14.2'],
  46: ['v1.15.0-fuji'],
}

/** True when the plugin can announce `n`. */
export function isSupportedProtocol(n: number): boolean {
  return Object.hasOwn(PROTOCOL_RELEASES, n)
}

/** What vm.VM/Version answers (shown by the node's info.getVMs); kept equal to package.json's version by a test. */
export const PLUGIN_VERSION = 'tsvm/0.1.0'

/** The oldest release the plugin serves: v1.13.2 and older speak protocol 41 or less (messenger Notify, no WaitForEvent). */
export const OLDEST_RELEASE = 'v1.13.3'

/** A release as [major, minor, patch, pre-release]: accepts `1.14.2`, `v1.14.2`, `avalanchego/1.14.2`, `v1.15.0-fuji`. */
export function parseRelease(version: string): {version: string; numbers: [number, number, number]} | undefined {
  const m = /^(?:avalanchego\/)?v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/.exec(version.trim())
  if (!m) return undefined
  const numbers: [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3])]
  return {version: `v${numbers.join('.')}${m[4] ?? ''}`, numbers}
}

/**
 * The protocol of an AvalancheGo release: the number, 'older' for a release before the oldest
 * supported one, 'unknown' for a newer release this build does not know, 'invalid' for text that
 * is not a version.
 */
export function protocolOfRelease(version: string): number | 'older' | 'unknown' | 'invalid' {
  const release = parseRelease(version)
  if (!release) return 'invalid'
  for (const [protocol, releases] of Object.entries(PROTOCOL_RELEASES)) {
    if (releases.includes(release.version)) return Number(protocol)
  }

  const oldest = parseRelease(OLDEST_RELEASE)!.numbers
  const [a, b, c] = release.numbers
  const older = a === oldest[0] ? (b === oldest[1] ? c < oldest[2] : b < oldest[1]) : a < oldest[0]
  return older ? 'older' : 'unknown'
}
