/**
 * BuildKit: releases and downloads (setup.ts), builder addresses and TLS (address.ts), the build's
 * parts parsed from inputs (build-inputs.ts), buildctl's argument arrays (args.ts), its output read
 * back (output.ts), and the `Buildctl` class that runs it (buildctl.ts); the GitHub Actions cache's
 * service and default scope (gha-cache.ts).
 */
export * from './address.js';
export * from './args.js';
export * from './build-inputs.js';
export * from './buildctl.js';
export * from './output.js';
export * from './setup.js';
export * from './buildpacks.js';
export * from './gha-cache.js';
