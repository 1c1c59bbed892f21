// Package interop holds the interoperability tests of echows against the
// real upstream Ignis WebSocket helper (npm package @venizia/ignis-helpers,
// TypeScript on Bun), installed from the npm registry into js/node_modules.
//
// The tests run upstream's WebSocketServerHelper (js/server.ts) and
// WebSocketEmitter (js/emit.ts) under Bun, next to echows' Go server and
// emitter, all on one private redis-server, and check that each side reaches
// the other's clients with byte-identical frames. js/install.sh installs the
// pinned packages (npm ci) once per test binary; the tests skip when node or
// npm is missing (and fail under CI=true, see package testenv), and in -short
// mode.
//
// What upstream puts on the wire, byte for byte, is recorded in
// testdata/upstream-frames.md.
package interop
