// Package auto runs auto rooms: a call that starts as a mesh room (media peer to
// peer, the server relays signaling) and becomes an SFU room when it grows to
// Config.PromoteAt participants, then a mesh room again once it is back to
// Config.DemoteAt native participants for Config.DemoteAfter. Nobody leaves the call
// when it switches: a participant keeps its id in both modes.
//
// The package decides and sequences; it holds no media and speaks no protocol. An
// auto room is a list of seats, one per participant. Each seat's owner (a signaling
// session, or the seam for clients that can only use the SFU: WHIP, WHEP, sfu-ws)
// joins the room's side of the current mode, a room of package sfu or mesh of the
// same name, through the seat (Seat.JoinSFU, Seat.JoinMesh), which gives it the
// seat's id there. A switch:
//
//  1. the room's mode changes and its epoch counts up; every seat present is told
//     Observer.Switch: its owner joins the new mode's side as well;
//  2. each owner reports Seat.Switched once its client has the new mode's media
//     (the barrier), or the switch timeout passes;
//  3. every seat told Switch is told Observer.Switched: its owner leaves its old
//     side quietly (the others are not told it left).
//
// A seat that joins during a switch joins the new mode at once and takes no part in
// the barrier; a seat that leaves during one is waited for no more. One switch runs
// at a time: a threshold crossed during a switch is looked at again once it is over.
// Seats that cannot do mesh (Fixed) promote a mesh room at once and keep it from
// demoting while they are in.
//
// Lock discipline: each room has one lock; the Observer of a seat is called with it
// held, so that every seat sees the switches in one order. Observers must only queue
// and return, never block or call back into the room.
package auto
