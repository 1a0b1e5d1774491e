/**
 * The part of a node-redis v5 client (`createClient()` from `redis`) that this package uses.
 * Any client with a compatible `sendCommand` works.
 */
export interface RedisCommandClient {
  sendCommand(args: string[]): Promise<unknown>
}
