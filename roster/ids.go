package roster

import (
	"crypto/rand"
	"encoding/base64"
)

// RoomID names a room. Rooms are created on first join and removed when empty; a
// client's choice is checked by ParseRoomID.
type RoomID string

// ParticipantID identifies one participant (a mesh peer, an SFU participant) in one
// room; the server assigns it with NewParticipantID.
type ParticipantID string

// NewParticipantID returns a new random participant id, "p_" and 22 characters.
func NewParticipantID() ParticipantID { return ParticipantID(RandomID("p_")) }

// RandomID returns prefix followed by 16 random bytes in URL-safe base64: ids are
// unguessable, so knowing one grants nothing. Every id the server assigns (rooms'
// participants, tracks, viewers) is made here.
func RandomID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
