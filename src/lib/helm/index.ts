/**
 * Helm: the `Helm` class that runs a helm binary and parses its answers (helm.ts), finding or
 * installing helm (setup.ts), its command lines (args.ts) and its output (output.ts).
 */
export * from './args.js';
export * from './helm.js';
export * from './output.js';
export * from './setup.js';
