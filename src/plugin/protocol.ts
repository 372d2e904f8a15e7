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
