// Package sfu is Switchboard's media core: rooms, participants, published tracks and
// the per-subscriber down-tracks that forward them.
//
// A participant has two peer connections. Its [Publisher] receives what the client
// sends (the client offers); its [Subscriber] sends the client every other
// participant's tracks (the server offers, one offer at a time, changes coalesced).
// A published [Track] reads RTP from its publisher and writes each packet to its
// down-tracks; that loop takes no room-wide lock and allocates nothing per packet.
//
// Who is in a room (ids, identity replacement, join, leave and chat events, the
// registry of rooms and its limits) is the membership core's, package roster, which
// the mesh rooms share; this package adds tracks and connections on top of it.
//
// The package knows nothing of HTTP, JSON or any signaling transport: it reports to
// its owner through the [Observers] each participant is created with, one per
// concern (the room, its tracks, the participant's own connections), so that an
// owner implements only what it uses.
package sfu
