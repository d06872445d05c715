package roster

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/safe"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// person is a test member: an id, an identity and a log of what it is told.
type person struct {
	id, identity string
	heard        []string
	panics       bool
}

func (p *person) ID() ParticipantID { return ParticipantID(p.id) }
func (p *person) Identity() string  { return p.identity }
func (p *person) Info() string      { return p.id }

func (p *person) Joined(self string, others []string) {
	p.heard = append(p.heard, "joined "+self+" with "+string(rune('0'+len(others))))
}
func (p *person) ParticipantJoined(id string) { p.heard = append(p.heard, "+"+id) }
func (p *person) ParticipantLeft(id string)   { p.heard = append(p.heard, "-"+id) }
func (p *person) Removed(reason error)        { p.heard = append(p.heard, "removed: "+reason.Error()) }
func (p *person) Chat(m ChatMessage) {
	if p.panics {
		panic("injected fault: chat")
	}
	p.heard = append(p.heard, "chat "+string(m.From)+" "+m.Text)
}

type list = Members[string, *person]

func join(t *testing.T, ms *list, p *person, max int) error {
	t.Helper()
	_, err := ms.Join(p, Contact[string]{Events: p, Log: quiet()}, max)
	return err
}

func TestMembersJoinLeaveChat(t *testing.T) {
	var ms list
	a, b := &person{id: "a"}, &person{id: "b"}
	if err := join(t, &ms, a, -1); err != nil {
		t.Fatal(err)
	}
	if err := join(t, &ms, b, -1); err != nil {
		t.Fatal(err)
	}
	ms.Chat(NewChat(b.ID(), "B", "hi"))
	if !ms.Leave(b) || ms.Leave(b) {
		t.Error("Leave: want true once, then false")
	}
	want := []string{"joined a with 0", "+b", "chat b hi", "-b"}
	if !slices.Equal(a.heard, want) {
		t.Errorf("a heard %q, want %q", a.heard, want)
	}
	if want := []string{"joined b with 1", "chat b hi"}; !slices.Equal(b.heard, want) {
		t.Errorf("b heard %q, want %q", b.heard, want)
	}
	if got := ms.Infos(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Infos = %q", got)
	}
}

// TestMembersReplacement: a member with the identity of one present replaces it,
// even in a full room, and the room's Left hook sees the one replaced.
func TestMembersReplacement(t *testing.T) {
	var ms list
	var left []string
	ms.Left = func(p *person) { left = append(left, p.id) }
	a, old, other := &person{id: "a"}, &person{id: "old", identity: "ada"}, &person{id: "x"}
	for _, p := range []*person{a, old} {
		if err := join(t, &ms, p, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := join(t, &ms, other, 2); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("third member of a room of 2: %v, want ErrRoomFull", err)
	}
	repl := &person{id: "new", identity: "ada"}
	if err := join(t, &ms, repl, 2); err != nil {
		t.Fatalf("replacement in a full room: %v", err)
	}
	if !slices.Contains(old.heard, "removed: "+ErrReplaced.Error()) {
		t.Errorf("the replaced member heard %q", old.heard)
	}
	if want := []string{"joined a with 0", "+old", "-old", "+new"}; !slices.Equal(a.heard, want) {
		t.Errorf("a heard %q, want %q", a.heard, want)
	}
	if !slices.Equal(left, []string{"old"}) {
		t.Errorf("Left saw %q", left)
	}
	if _, ok := ms.Find("old"); ok {
		t.Error("the replaced member is still found")
	}
}

func TestMembersRemove(t *testing.T) {
	var ms list
	a, b, c := &person{id: "a"}, &person{id: "b"}, &person{id: "c"}
	for _, p := range []*person{a, b, c} {
		_ = join(t, &ms, p, -1)
	}
	if !ms.Remove("b", ErrRemoved) || ms.Remove("b", ErrRemoved) {
		t.Error("Remove: want true once, then false")
	}
	if got := b.heard[len(b.heard)-1]; got != "removed: "+ErrRemoved.Error() {
		t.Errorf("b last heard %q", got)
	}
	if n := ms.RemoveAll(ErrRoomClosed); n != 2 || ms.Len() != 0 {
		t.Errorf("RemoveAll = %d, %d left; want 2, 0", n, ms.Len())
	}
}

// TestMembersWithoutEvents: a member that hears nothing of the room is told of its
// removal through Fail.
func TestMembersWithoutEvents(t *testing.T) {
	var ms list
	var failed error
	p := &person{id: "whip"}
	if _, err := ms.Join(p, Contact[string]{Fail: func(err error) { failed = err }, Log: quiet()}, -1); err != nil {
		t.Fatal(err)
	}
	ms.Chat(NewChat("x", "x", "nobody hears this"))
	ms.Remove(p.ID(), ErrRemoved)
	if failed != ErrRemoved || len(p.heard) != 0 {
		t.Errorf("failed %v, heard %q; want ErrRemoved and nothing", failed, p.heard)
	}
}

// TestMembersPanicSparesTheOthers: a member whose observer panics is failed; the
// others still hear the event.
func TestMembersPanicSparesTheOthers(t *testing.T) {
	var ms list
	var failed error
	doomed, a := &person{id: "doomed", panics: true}, &person{id: "a"}
	_, _ = ms.Join(doomed, Contact[string]{Events: doomed, Fail: func(err error) { failed = err }, Log: quiet()}, -1)
	_ = join(t, &ms, a, -1)
	ms.Chat(NewChat("a", "A", "hi"))
	if _, ok := errors.AsType[*safe.Error](failed); !ok {
		t.Errorf("failed with %v, want a *safe.Error", failed)
	}
	if !slices.Contains(a.heard, "chat a hi") {
		t.Errorf("a heard %q", a.heard)
	}
}

// TestMembersLeaveQuietly: a member that leaves quietly is taken out and the Left
// hook runs, but the others are told nothing: it goes on in another room.
func TestMembersLeaveQuietly(t *testing.T) {
	var ms list
	var left []string
	ms.Left = func(p *person) { left = append(left, p.id) }
	a, b := &person{id: "a"}, &person{id: "b"}
	_ = join(t, &ms, a, -1)
	_ = join(t, &ms, b, -1)
	if !ms.LeaveQuietly(b) || ms.LeaveQuietly(b) {
		t.Error("LeaveQuietly: want true once, then false")
	}
	if want := []string{"joined a with 0", "+b"}; !slices.Equal(a.heard, want) {
		t.Errorf("a heard %q, want %q", a.heard, want)
	}
	if !slices.Equal(left, []string{"b"}) || ms.Len() != 1 {
		t.Errorf("Left saw %q, %d members left; want b, 1", left, ms.Len())
	}
}
