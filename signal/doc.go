// Package signal is Switchboard's native signaling protocol (docs/protocol.md): the
// message types, their decoding with limits, and the Session that drives one client's
// negotiation against an sfu.Participant.
//
// A Session knows nothing of its transport. A transport (signal/ws, ...) reads
// frames and hands them to Session.Deliver, and gives the session an Outbox that
// carries encoded messages back to the client.
package signal
