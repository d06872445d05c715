package directory

import (
	"errors"
	"testing"
)

// TestModeMismatch: the first claim fixes a room's mode until its last claim is
// released; a claim for the other mode meanwhile fails and changes nothing.
func TestModeMismatch(t *testing.T) {
	d, err := NewLocal(Config{})
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
	if _, err := NewLocal(Config{MeshRooms: []string{"p2p-["}}); err == nil {
		t.Fatal("a malformed pattern was accepted")
	}
	d, err := NewLocal(Config{MeshRooms: []string{"p2p-*", "call.?"}})
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

// TestMaxRoomsCountsBothModes: the limit counts names held in either mode; a claim
// on a held name is no new room, and a released name makes room for another.
func TestMaxRoomsCountsBothModes(t *testing.T) {
	d, err := NewLocal(Config{MaxRooms: 2})
	if err != nil {
		t.Fatal(err)
	}
	relMesh, err := d.Claim("a", Mesh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Claim("b", SFU); err != nil {
		t.Fatal(err)
	}
	for _, m := range []Mode{Mesh, SFU} {
		if _, err := d.Claim("c", m); !errors.Is(err, ErrTooManyRooms) {
			t.Errorf("%s claim of a third name: %v, want ErrTooManyRooms", m, err)
		}
	}
	relAgain, err := d.Claim("a", Mesh)
	if err != nil {
		t.Fatalf("second claim of a held name: %v", err)
	}
	relMesh()
	if _, err := d.Claim("c", Mesh); !errors.Is(err, ErrTooManyRooms) {
		t.Errorf("a is still held once: %v, want ErrTooManyRooms", err)
	}
	relAgain()
	if _, err := d.Claim("c", Mesh); err != nil {
		t.Errorf("claim once a is free: %v", err)
	}
}

// TestAutoRooms: names matching an auto pattern are auto rooms by default and may be
// claimed in no other mode; a mesh pattern wins over an auto one; an auto room
// claimed by its first joiner refuses the other modes while held.
func TestAutoRooms(t *testing.T) {
	d, err := NewLocal(Config{MeshRooms: []string{"p2p-*"}, AutoRooms: []string{"call-*", "p2p-*"}})
	if err != nil {
		t.Fatal(err)
	}
	for room, want := range map[string]Mode{"call-1": Auto, "p2p-1": Mesh, "other": SFU} {
		if got := d.DefaultMode(room); got != want {
			t.Errorf("DefaultMode(%q) = %q, want %q", room, got, want)
		}
	}
	for _, m := range []Mode{SFU, Mesh} {
		if _, err := d.Claim("call-1", m); !errors.Is(err, ErrModeMismatch) {
			t.Errorf("%s claim of a configured auto room: %v, want ErrModeMismatch", m, err)
		}
	}
	release, err := d.Claim("huddle", Auto)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := d.Claim("huddle", SFU); !errors.Is(err, ErrModeMismatch) {
		t.Errorf("SFU claim of an auto room: %v, want ErrModeMismatch", err)
	}
	if _, err := NewLocal(Config{AutoRooms: []string{"["}}); err == nil {
		t.Error("a malformed auto pattern was taken")
	}
}
