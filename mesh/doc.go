// Package mesh is Switchboard's mesh rooms: the server keeps who is in a room and
// relays messages addressed from one peer to another (offers, answers, ICE candidates,
// application data); media flows directly between the peers. No media passes through
// here and nothing here imports Pion. Membership itself (ids, identity replacement,
// the room limit, join, leave and chat events, the registry of rooms) is the
// membership core's, package roster, which the SFU rooms share; mesh adds relays.
//
// Every member is reached through its Observer, whose methods only queue (a
// signaling session's bounded outbox): a slow member never blocks the others, it
// overflows its own queue and its session ends. A room's lock guards its membership
// only; a relay looks its target up and hands the message over without waiting.
package mesh
