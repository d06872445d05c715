package mesh

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// recorder is an Observer that keeps what it is told, as a member's session would
// queue it.
type recorder struct {
	mu     sync.Mutex
	self   PeerInfo
	others []PeerInfo
	events []string // "joined <id>", "left <id>", "relay <from> <data>", "chat <from> <text>"
	// present is the member's view of the room, maintained from its events as a
	// client would.
	present map[PeerID]bool
}

func newRecorder() *recorder { return &recorder{present: map[PeerID]bool{}} }

func (r *recorder) Joined(self PeerInfo, others []PeerInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.self, r.others = self, others
	for _, o := range others {
		r.present[o.ID] = true
	}
}

func (r *recorder) ParticipantJoined(p PeerInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "joined "+string(p.ID))
	r.present[p.ID] = true
}

func (r *recorder) ParticipantLeft(p PeerInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "left "+string(p.ID))
	delete(r.present, p.ID)
}

func (r *recorder) Relay(from PeerID, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "relay "+string(from)+" "+string(data))
}

func (r *recorder) Chat(m ChatMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "chat "+string(m.From)+" "+m.Text)
}

func (r *recorder) Removed(reason error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "removed "+reason.Error())
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *recorder) view() map[PeerID]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[PeerID]bool, len(r.present))
	for id := range r.present {
		out[id] = true
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func join(t *testing.T, rs *Rooms, room RoomID, name string) (*Member, *recorder) {
	t.Helper()
	rec := newRecorder()
	m, err := rs.Join(room, name, rec)
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	t.Cleanup(m.Leave)
	return m, rec
}

// TestRelayReachesOnlyTheTarget: a relay reaches its target, stamped with its sender,
// and nobody else; a relay to oneself, to a stranger or to a member of another room
// fails.
func TestRelayReachesOnlyTheTarget(t *testing.T) {
	rs := NewRooms(Config{Logger: quiet()})
	a, ra := join(t, rs, "r", "a")
	b, rb := join(t, rs, "r", "b")
	_, rc := join(t, rs, "r", "c")
	x, rx := join(t, rs, "other", "x")
	if err := a.Relay(b.ID(), []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	want := "relay " + string(a.ID()) + ` {"n":1}`
	if got := rb.got(); len(got) != 2 || got[1] != want {
		t.Errorf("b got %q, want [joined c, %s]", got, want)
	}
	for _, rec := range []*recorder{ra, rc, rx} {
		for _, e := range rec.got() {
			if e[:5] == "relay" {
				t.Errorf("%s got %q, a relay for b", rec.self.Name, e)
			}
		}
	}
	for _, to := range []PeerID{a.ID(), "p_nobody", x.ID()} {
		if err := a.Relay(to, []byte(`{}`)); !errors.Is(err, ErrUnknownPeer) {
			t.Errorf("relay to %s: %v, want ErrUnknownPeer", to, err)
		}
	}
	a.Leave()
	if err := a.Relay(b.ID(), []byte(`{}`)); !errors.Is(err, ErrLeft) {
		t.Errorf("relay after leave: %v, want ErrLeft", err)
	}
}

// TestMeshMembership: a joiner learns who is there; the others learn of its arrival
// and departure; chat reaches everyone, its sender included.
func TestMeshMembership(t *testing.T) {
	rs := NewRooms(Config{Logger: quiet()})
	a, ra := join(t, rs, "r", "alice")
	b, rb := join(t, rs, "r", "bob")
	if len(rb.others) != 1 || rb.others[0] != (PeerInfo{ID: a.ID(), Name: "alice"}) {
		t.Errorf("bob joined with %v present, want alice", rb.others)
	}
	if len(ra.others) != 0 || ra.self.ID != a.ID() {
		t.Errorf("alice joined as %v with %v present", ra.self, ra.others)
	}
	if err := b.Chat("hi"); err != nil {
		t.Fatal(err)
	}
	b.Leave()
	want := []string{"joined " + string(b.ID()), "chat " + string(b.ID()) + " hi", "left " + string(b.ID())}
	if got := ra.got(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alice got %q, want %q", got, want)
	}
	if got := rb.got(); len(got) != 1 || got[0] != "chat "+string(b.ID())+" hi" {
		t.Errorf("bob got %q, want his own chat only", got)
	}
	a.Leave()
	if rs.Len() != 0 {
		t.Errorf("%d rooms left after everyone left", rs.Len())
	}
}

// TestMeshRoomFull: one more joiner than the maximum is refused, and takes nobody's
// place; once someone leaves, the next joiner gets in.
func TestMeshRoomFull(t *testing.T) {
	rs := NewRooms(Config{MaxSize: 3, Logger: quiet()})
	var members []*Member
	for i := range 3 {
		m, _ := join(t, rs, "r", fmt.Sprint("p", i))
		members = append(members, m)
	}
	if _, err := rs.Join("r", "late", newRecorder()); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("fourth join: %v, want ErrRoomFull", err)
	}
	if got := len(rs.Room("r").Peers()); got != 3 {
		t.Errorf("room has %d peers after a refused join, want 3", got)
	}
	members[0].Leave()
	join(t, rs, "r", "next")
}

// TestMeshDefaultSize: without configuration a mesh room holds six peers.
func TestMeshDefaultSize(t *testing.T) {
	rs := NewRooms(Config{Logger: quiet()})
	for i := range DefaultMaxSize {
		join(t, rs, "r", fmt.Sprint("p", i))
	}
	if _, err := rs.Join("r", "seventh", newRecorder()); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("join beyond %d: %v, want ErrRoomFull", DefaultMaxSize, err)
	}
	if DefaultMaxSize != 6 || rs.MaxSize() != 6 {
		t.Errorf("default size %d, want 6", rs.MaxSize())
	}
}

// TestMeshClaims: a room claims its name when created and releases it when its last
// member leaves; a refused claim is Join's error and creates nothing.
func TestMeshClaims(t *testing.T) {
	var mu sync.Mutex
	held := map[RoomID]int{}
	refuse := RoomID("taken")
	rs := NewRooms(Config{Logger: quiet(), Claim: func(id RoomID) (func(), error) {
		if id == refuse {
			return nil, errors.New("taken")
		}
		mu.Lock()
		held[id]++
		mu.Unlock()
		return func() { mu.Lock(); held[id]--; mu.Unlock() }, nil
	}})
	if _, err := rs.Join(refuse, "x", newRecorder()); err == nil || rs.Len() != 0 {
		t.Fatalf("join of a refused name: %v, %d rooms", err, rs.Len())
	}
	a, _ := join(t, rs, "r", "a")
	b, _ := join(t, rs, "r", "b")
	mu.Lock()
	if held["r"] != 1 {
		t.Errorf("room claimed %d times, want once", held["r"])
	}
	mu.Unlock()
	a.Leave()
	b.Leave()
	mu.Lock()
	defer mu.Unlock()
	if held["r"] != 0 {
		t.Errorf("claim still held (%d) after the room emptied", held["r"])
	}
}

// TestMeshChurn joins, relays, chats and leaves from many goroutines at once (run it
// with -race). Afterwards every remaining member's view of the room, built from its
// events alone, is exactly the room's membership; relays never reached anyone but
// their target; and the room is gone once everyone left.
func TestMeshChurn(t *testing.T) {
	const workers, rounds = 16, 60
	rs := NewRooms(Config{MaxSize: 8, Logger: quiet()})
	type live struct {
		m   *Member
		rec *recorder
	}
	var mu sync.Mutex
	var stayed, all []live
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range rounds {
				rec := newRecorder()
				m, err := rs.Join("churn", fmt.Sprint("w", w), rec)
				if errors.Is(err, ErrRoomFull) {
					continue
				}
				if err != nil {
					t.Errorf("join: %v", err)
					return
				}
				mu.Lock()
				all = append(all, live{m, rec})
				mu.Unlock()
				for range 5 {
					peers := rs.Room("churn").Peers()
					to := peers[rng.IntN(len(peers))].ID
					err := m.Relay(to, []byte(`{"to":"`+string(to)+`"}`))
					if err != nil && !errors.Is(err, ErrUnknownPeer) {
						t.Errorf("relay: %v", err)
					}
				}
				_ = m.Chat("hello")
				if w%4 == 0 && i == rounds-1 {
					mu.Lock()
					stayed = append(stayed, live{m, rec})
					mu.Unlock()
					continue
				}
				m.Leave()
			}
		}()
	}
	wg.Wait()
	room := rs.Room("churn")
	var want map[PeerID]bool
	if room != nil {
		want = map[PeerID]bool{}
		for _, p := range room.Peers() {
			want[p.ID] = true
		}
	}
	for _, s := range stayed {
		view := s.rec.view()
		view[s.m.ID()] = true
		if fmt.Sprint(view) != fmt.Sprint(want) {
			t.Errorf("%s sees %v, the room has %v", s.m.ID(), view, want)
		}
	}
	relays := 0
	for _, s := range all {
		for _, e := range s.rec.got() {
			if !strings.HasPrefix(e, "relay ") {
				continue
			}
			relays++
			if !strings.HasSuffix(e, `{"to":"`+string(s.m.ID())+`"}`) {
				t.Errorf("%s got %q, a relay for another", s.m.ID(), e)
			}
		}
	}
	if relays == 0 {
		t.Error("no relay was delivered")
	}
	t.Logf("%d members, %d relays delivered", len(all), relays)
	for _, s := range stayed {
		s.m.Leave()
	}
	if rs.Len() != 0 {
		t.Errorf("%d rooms after everyone left", rs.Len())
	}
}

// TestMeshIdentityReplaces: a member joining with the identity of one present
// replaces it, even in a full room: the old one is told why, the others see it leave
// before the newcomer joins; without an identity nobody is replaced.
func TestMeshIdentityReplaces(t *testing.T) {
	rs := NewRooms(Config{MaxSize: 2, Logger: quiet()})
	old := newRecorder()
	first, err := rs.JoinWith("r", "ada", old, JoinOptions{Identity: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	_, rb := join(t, rs, "r", "bob")
	second, err := rs.JoinWith("r", "ada", newRecorder(), JoinOptions{Identity: "ada"})
	if err != nil {
		t.Fatalf("replacing join in a full room: %v", err)
	}
	t.Cleanup(second.Leave)
	if got := old.got(); len(got) != 2 || got[1] != "removed "+ErrReplaced.Error() {
		t.Errorf("replaced member got %q", got)
	}
	want := []string{"left " + string(first.ID()), "joined " + string(second.ID())}
	if got := rb.got(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bob got %q, want %q", got, want)
	}
	if err := first.Relay(second.ID(), []byte(`{}`)); !errors.Is(err, ErrLeft) {
		t.Errorf("relay from the replaced member: %v, want ErrLeft", err)
	}
	first.Leave() // as its owner does; the room keeps the others
	if n := len(rs.Room("r").Peers()); n != 2 {
		t.Errorf("%d peers after the replaced member left, want 2", n)
	}
}

// TestMeshRemoveCloseAndMustExist: an administrator's Remove and Close tell the
// members why; MustExist joins only a room that exists.
func TestMeshRemoveCloseAndMustExist(t *testing.T) {
	rs := NewRooms(Config{Logger: quiet()})
	if _, err := rs.JoinWith("r", "x", newRecorder(), JoinOptions{MustExist: true}); !errors.Is(err, ErrNoRoom) || rs.Len() != 0 {
		t.Fatalf("MustExist join of no room: %v, %d rooms", err, rs.Len())
	}
	a, ra := join(t, rs, "r", "a")
	b, rb := join(t, rs, "r", "b")
	c, err := rs.JoinWith("r", "c", newRecorder(), JoinOptions{MustExist: true})
	if err != nil {
		t.Fatalf("MustExist join of a room: %v", err)
	}
	t.Cleanup(c.Leave)
	room := rs.Room("r")
	if err := room.Remove("p_nobody", ErrRemoved); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("remove nobody: %v", err)
	}
	if err := room.Remove(b.ID(), ErrRemoved); err != nil {
		t.Fatal(err)
	}
	if got := rb.got(); len(got) == 0 || got[len(got)-1] != "removed "+ErrRemoved.Error() {
		t.Errorf("b got %q", got)
	}
	if n := room.Close(ErrRoomClosed); n != 2 {
		t.Errorf("close removed %d, want 2", n)
	}
	if got := ra.got(); got[len(got)-1] != "removed "+ErrRoomClosed.Error() {
		t.Errorf("a got %q", got)
	}
	a.Leave()
	b.Leave()
	c.Leave()
	if rs.Len() != 0 {
		t.Error("room left after everyone's owners let go")
	}
}
