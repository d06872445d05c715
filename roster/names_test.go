package roster

import (
	"strings"
	"testing"
)

func TestParseRoomID(t *testing.T) {
	for _, ok := range []string{"a", "standup", "Team-1_x.y", strings.Repeat("r", 64)} {
		if id, err := ParseRoomID(ok); err != nil || string(id) != ok {
			t.Errorf("ParseRoomID(%q) = %q, %v", ok, id, err)
		}
	}
	for _, bad := range []string{"", " ", "a b", "a/b", "ä", "room!", strings.Repeat("r", 65), "a\x00", "%2e"} {
		if _, err := ParseRoomID(bad); err != ErrBadRoomID {
			t.Errorf("ParseRoomID(%q): %v, want ErrBadRoomID", bad, err)
		}
	}
}

func TestParseDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"Ada": "Ada", "  Ada  ": "Ada", strings.Repeat("é", 64): strings.Repeat("é", 64), "李雷": "李雷",
	} {
		if got, err := ParseDisplayName(in); err != nil || got != want {
			t.Errorf("ParseDisplayName(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "   ", strings.Repeat("é", 65), "a\nb", "a\x00", "\xff"} {
		if _, err := ParseDisplayName(bad); err != ErrBadDisplayName {
			t.Errorf("ParseDisplayName(%q): %v, want ErrBadDisplayName", bad, err)
		}
	}
}
