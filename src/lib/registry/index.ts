/**
 * Container registries: credentials in docker's `config.json` (docker-config.ts), a small HTTP
 * client that takes a private CA (http.ts), and the check of credentials against `/v2/`
 * (verify.ts).
 */
export * from './docker-config.js';
export * from './http.js';
export * from './verify.js';
export * from './manifest.js';
