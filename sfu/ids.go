package sfu

import (
	"crypto/rand"
	"encoding/base64"
)

// RoomID names a room. Rooms are created on first join and removed when empty.
type RoomID string

// ParticipantID identifies one participant in one room; the server assigns it.
type ParticipantID string

// TrackID identifies one published track; the server assigns it.
type TrackID string

// Source says what a published track carries.
type Source string

// The sources a client can name for a track it publishes.
const (
	SourceCamera     Source = "camera"
	SourceMicrophone Source = "microphone"
	SourceScreen     Source = "screen"
)

// ParseSource reports the Source named by s, and whether s names one.
func ParseSource(s string) (Source, bool) {
	switch src := Source(s); src {
	case SourceCamera, SourceMicrophone, SourceScreen:
		return src, true
	}
	return "", false
}

// newID returns prefix followed by 16 random bytes in URL-safe base64: ids are
// unguessable, so knowing one grants nothing.
func newID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
