package sfu

import "github.com/switchboard-rtc/switchboard/roster"

// RoomID names a room: the membership core's, checked by roster.ParseRoomID.
type RoomID = roster.RoomID

// ParticipantID identifies one participant in one room; the server assigns it.
type ParticipantID = roster.ParticipantID

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
