/**
 * Node built-ins that not every step needs, loaded at their first use instead of at start-up
 * (node:http, node:https and node:tls ≈ 10–20 ms together in Node 24, node:crypto and node:zlib a
 * few ms each): a step that makes no request, a tool-cache hit or a failed input check, never
 * loads them. Before its work every bundle loads only child_process and net (the
 * setup-buildctl integration test checks a tool-cache hit).
 */
export const builtin = {
  http: () => process.getBuiltinModule('node:http'),
  https: () => process.getBuiltinModule('node:https'),
  tls: () => process.getBuiltinModule('node:tls'),
  crypto: () => process.getBuiltinModule('node:crypto'),
  zlib: () => process.getBuiltinModule('node:zlib')
};
