// Package wire is the Go definition of Switchboard's native signaling protocol, whose
// reference is docs/protocol.md: the message types, the body of each message in both
// directions (mesh relays included), the error codes, the size limits that are part
// of the contract, and the codec that turns a frame into an envelope and a body and
// back.
//
// It holds plain Go types and imports nothing of this module and nothing of Pion:
// the server (package signal) and the Go client (package client) both build on it,
// and the browser client (web/static/switchboard.js) speaks the same JSON. Changing a
// name, a tag or a field order here changes the protocol.
package wire
