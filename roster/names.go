package roster

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rules for the names clients choose, one definition for every transport
// (native WebSocket and SSE, sfu-ws, WHIP, WHEP) and for the admission of requests.
const (
	// MaxRoomIDSize bounds a room name, in bytes (its characters are ASCII).
	MaxRoomIDSize = 64
	// MaxDisplayNameSize bounds a display name, in characters once trimmed.
	MaxDisplayNameSize = 64
)

// Why a name is refused; the texts are meant for the client.
var (
	ErrBadRoomID      = errors.New("room: 1 to 64 letters, digits, '-', '_' or '.'")
	ErrBadDisplayName = errors.New("name: 1 to 64 printable characters")
)

// ParseRoomID checks a room name chosen by a client: 1 to 64 ASCII letters, digits,
// '-', '_' or '.'. Names are case-sensitive; nothing is trimmed. The set is narrow so
// that a room name is safe in a URL path, a log line and a Redis key as it is.
func ParseRoomID(s string) (RoomID, error) {
	if len(s) == 0 || len(s) > MaxRoomIDSize {
		return "", ErrBadRoomID
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", ErrBadRoomID
		}
	}
	return RoomID(s), nil
}

// ParseDisplayName checks a display name chosen by a client and returns it trimmed:
// 1 to 64 characters (runes, not bytes: a name in any script gets the same room),
// valid UTF-8, no control characters.
func ParseDisplayName(s string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 || n > MaxDisplayNameSize || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", ErrBadDisplayName
	}
	return s, nil
}
