// Package sfu is Switchboard's media core: rooms, participants, published tracks and
// the per-subscriber down-tracks that forward them.
//
// A participant has two peer connections. Its [Publisher] receives what the client
// sends (the client offers); its [Subscriber] sends the client every other
// participant's tracks (the server offers, one offer at a time, changes coalesced).
// A published [Track] reads RTP from its publisher and writes each packet to its
// down-tracks; that loop takes no room-wide lock and allocates nothing per packet.
//
// The package knows nothing of HTTP, JSON or any signaling transport: it reports to
// its owner through the [Observer] each participant is created with.
package sfu
