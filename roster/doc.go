// Package roster is the membership core under both kinds of room: who is in a room,
// with no media and no Pion. The SFU core (package sfu) adds tracks and connections
// on top of it, the mesh rooms (package mesh) add relays; each holds a roster and
// none of the rules below is written twice.
//
// It holds:
//   - the identifiers, [RoomID] and [ParticipantID], the server's random ids
//     ([NewParticipantID], [RandomID]) and the rules for the names clients choose
//     ([ParseRoomID], [ParseDisplayName]);
//   - a [Registry] of the rooms of one server: a room lives while it is held, claims
//     its name ([Claim], the directory) when created, and the registry bounds how
//     many rooms exist;
//   - a room's [Members], in join order: identity replacement, the per-room limit on
//     members, and the join, leave, chat and removal events each member's owner is
//     told through an [Observer];
//   - the room's [Mode].
//
// Lock discipline. A Registry is safe for concurrent use; its callbacks run with its
// lock held and must not call back into it. Members is not safe for concurrent use:
// the room that holds it runs every call on one operation queue (sfu) or under one
// lock (mesh), and that serialisation is what makes every member see the room's
// events in the same order. Observers are called from there, so they must only
// queue and return, never block or call back into the room.
package roster
