/**
 * Kubernetes API access through `@kubernetes/client-node` (no kubectl): which cluster (config.ts),
 * failures mapped to clear errors (errors.ts), and the client with the operations the actions
 * need, each retried and error-mapped (client.ts).
 */
export * from './client.js';
export * from './config.js';
export * from './errors.js';
export * from './proxy.js';
export * from './lease.js';
export * from './rest.js';
