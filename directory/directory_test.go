package directory

import (
	"errors"
	"testing"
)

// TestModeMismatch: the first claim fixes a room's mode until its last claim is
// released; a claim for the other mode meanwhile fails and changes nothing.
func TestModeMismatch(t *testing.T) {
	d, err := NewLocal(nil)
	if err != nil {
		t.Fatal(err)
	}
	rel1, err := d.Claim("r", Mesh)
	if err != nil {
		t.Fatal(err)
	}
	rel2, err := d.Claim("r", Mesh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Claim("r", SFU); !errors.Is(err, ErrModeMismatch) {
		t.Fatalf("SFU claim on a mesh room: %v, want ErrModeMismatch", err)
	}
	rel1()
	rel1() // a second call is harmless
	if m, ok := d.Mode("r"); !ok || m != Mesh {
		t.Fatalf("after one of two releases: %q %v, want mesh", m, ok)
	}
	if _, err := d.Claim("r", SFU); !errors.Is(err, ErrModeMismatch) {
		t.Fatalf("SFU claim while still held: %v", err)
	}
	rel2()
	if _, ok := d.Mode("r"); ok {
		t.Fatal("room still held after every release")
	}
	release, err := d.Claim("r", SFU)
	if err != nil {
		t.Fatalf("SFU claim on a free name: %v", err)
	}
	release()
}

// TestConfiguredMeshRooms: names that match a mesh pattern default to mesh and can
// never be SFU rooms; others default to SFU and may be either.
func TestConfiguredMeshRooms(t *testing.T) {
	if _, err := NewLocal([]string{"p2p-["}); err == nil {
		t.Fatal("a malformed pattern was accepted")
	}
	d, err := NewLocal([]string{"p2p-*", "call.?"})
	if err != nil {
		t.Fatal(err)
	}
	for room, want := range map[string]Mode{"p2p-x": Mesh, "call.1": Mesh, "call.12": SFU, "lobby": SFU} {
		if got := d.DefaultMode(room); got != want {
			t.Errorf("DefaultMode(%q) = %s, want %s", room, got, want)
		}
	}
	if _, err := d.Claim("p2p-x", SFU); !errors.Is(err, ErrModeMismatch) {
		t.Errorf("SFU claim on a configured mesh room: %v, want ErrModeMismatch", err)
	}
	release, err := d.Claim("lobby", Mesh)
	if err != nil {
		t.Errorf("mesh claim on an unconfigured room: %v", err)
	} else {
		release()
	}
}
