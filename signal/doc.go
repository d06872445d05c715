// Package signal is the server side of Switchboard's native signaling protocol
// (docs/protocol.md; its messages, codes and limits are defined in package wire): the
// handling of each message with its checks, and the Session that drives one client's
// negotiation against an sfu.Participant or a mesh.Member; in an auto room (package
// auto), against both during a switch.
//
// A Session knows nothing of its transport. A transport (signal/ws, ...) reads
// frames and hands them to Session.Deliver, and gives the session an Outbox that
// carries encoded messages back to the client.
package signal
