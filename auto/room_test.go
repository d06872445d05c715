package auto

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/roster"
)

// owner is a test seat's owner: it records what its room tells it.
type owner struct {
	name string
	mu   sync.Mutex
	told []string
}

func (o *owner) add(s string) {
	o.mu.Lock()
	o.told = append(o.told, s)
	o.mu.Unlock()
}
func (o *owner) Switch(m Mode, epoch int)   { o.add(fmt.Sprintf("switch %s %d", m, epoch)) }
func (o *owner) Switched(m Mode, epoch int) { o.add(fmt.Sprintf("switched %s %d", m, epoch)) }
func (o *owner) Replaced()                  { o.add("replaced") }

func (o *owner) heard() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.told)
}

// test configuration: promote at 3, demote at 2 after 30 s, switches time out after
// 15 s.
func newTestRooms(t *testing.T) *Rooms {
	t.Helper()
	rs, err := New(Config{PromoteAt: 3, DemoteAt: 2, DemoteAfter: 30 * time.Second, SwitchTimeout: 15 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// seat joins a native participant named name and checks the side it gets.
func seat(t *testing.T, rs *Rooms, name string, want Mode) (*Seat, *owner) {
	t.Helper()
	o := &owner{name: name}
	s, err := rs.Join("r", JoinOptions{Observer: o})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Mode(); got != want {
		t.Fatalf("%s joined the %s side, want %s", name, got, want)
	}
	return s, o
}

func expect(t *testing.T, o *owner, want ...string) {
	t.Helper()
	if got := o.heard(); !slices.Equal(got, want) {
		t.Errorf("%s was told %q, want %q", o.name, got, want)
	}
}

func expectState(t *testing.T, rs *Rooms, want State) {
	t.Helper()
	r := rs.Room("r")
	if r == nil {
		t.Fatal("no room")
	}
	if got := r.State(); got != want {
		t.Errorf("room state %+v, want %+v", got, want)
	}
}

// TestPromotion: the third participant promotes the room: it joins the SFU side at
// once, the two others are told to switch, and once both have reported switched
// (the barrier) both are told the switch is over.
func TestPromotion(t *testing.T) {
	rs := newTestRooms(t)
	a, oa := seat(t, rs, "a", roster.Mesh)
	b, ob := seat(t, rs, "b", roster.Mesh)
	expectState(t, rs, State{Mode: roster.Mesh, Seats: 2})
	_, oc := seat(t, rs, "c", roster.SFU)
	expect(t, oa, "switch sfu 1")
	expect(t, ob, "switch sfu 1")
	expectState(t, rs, State{Mode: roster.SFU, Epoch: 1, Switching: true, Seats: 3, Waiting: 2})
	if a.Switched(2) || a.Switched(0) {
		t.Error("a switched for a switch that is not running was taken")
	}
	if !a.Switched(1) || a.Switched(1) {
		t.Error("a's switched: want taken once")
	}
	expect(t, oa, "switch sfu 1") // b is still awaited
	if !b.Switched(1) {
		t.Error("b's switched was not taken")
	}
	expect(t, oa, "switch sfu 1", "switched sfu 1")
	expect(t, ob, "switch sfu 1", "switched sfu 1")
	expect(t, oc)
	expectState(t, rs, State{Mode: roster.SFU, Epoch: 1, Seats: 3})
}

// TestSwitchTimeout: a participant that never reports switched (its SFU connection
// never completes) is waited for until the switch timeout only; then everyone is
// told the switch is over.
func TestSwitchTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := newTestRooms(t)
		a, oa := seat(t, rs, "a", roster.Mesh)
		_, ob := seat(t, rs, "laggard", roster.Mesh)
		seat(t, rs, "c", roster.SFU)
		a.Switched(1)
		time.Sleep(15*time.Second - time.Millisecond)
		synctest.Wait()
		expect(t, oa, "switch sfu 1")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		expect(t, oa, "switch sfu 1", "switched sfu 1")
		expect(t, ob, "switch sfu 1", "switched sfu 1")
		expectState(t, rs, State{Mode: roster.SFU, Epoch: 1, Seats: 3})
	})
}

// TestJoinDuringPromotion: a fifth joiner during the promotion joins the SFU side at
// once and takes no part in the switch; crossing the threshold again starts nothing.
func TestJoinDuringPromotion(t *testing.T) {
	rs := newTestRooms(t)
	a, oa := seat(t, rs, "a", roster.Mesh)
	b, _ := seat(t, rs, "b", roster.Mesh)
	seat(t, rs, "c", roster.SFU)
	_, od := seat(t, rs, "d", roster.SFU)
	_, oe := seat(t, rs, "e", roster.SFU)
	expectState(t, rs, State{Mode: roster.SFU, Epoch: 1, Switching: true, Seats: 5, Waiting: 2})
	a.Switched(1)
	b.Switched(1)
	expect(t, oa, "switch sfu 1", "switched sfu 1")
	expect(t, od)
	expect(t, oe)
}

// TestLeaveDuringPromotion: a participant that leaves during the promotion is waited
// for no more; when it was the last awaited, the switch completes.
func TestLeaveDuringPromotion(t *testing.T) {
	rs := newTestRooms(t)
	a, oa := seat(t, rs, "a", roster.Mesh)
	b, ob := seat(t, rs, "b", roster.Mesh)
	seat(t, rs, "c", roster.SFU)
	a.Switched(1)
	b.Leave()
	expect(t, oa, "switch sfu 1", "switched sfu 1")
	expect(t, ob, "switch sfu 1")
	expectState(t, rs, State{Mode: roster.SFU, Epoch: 1, Seats: 2, Demoting: true}) // two: small again
}

// TestDemotion: back at two natives, the room becomes mesh again after the delay,
// which starts over when it grows and shrinks again meanwhile.
func TestDemotion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := newTestRooms(t)
		a, oa := seat(t, rs, "a", roster.Mesh)
		b, _ := seat(t, rs, "b", roster.Mesh)
		c, oc := seat(t, rs, "c", roster.SFU)
		a.Switched(1)
		b.Switched(1)
		c.Leave()
		expectState(t, rs, State{Mode: roster.SFU, Epoch: 1, Seats: 2, Demoting: true})
		time.Sleep(20 * time.Second)
		// It grows for a while: the delay starts over when it shrinks again.
		d, _ := seat(t, rs, "d", roster.SFU)
		time.Sleep(20 * time.Second)
		d.Leave()
		time.Sleep(29 * time.Second)
		synctest.Wait()
		expectState(t, rs, State{Mode: roster.SFU, Epoch: 1, Seats: 2, Demoting: true})
		time.Sleep(time.Second)
		synctest.Wait()
		expect(t, oa, "switch sfu 1", "switched sfu 1", "switch mesh 2")
		expectState(t, rs, State{Mode: roster.Mesh, Epoch: 2, Switching: true, Seats: 2, Waiting: 2})
		a.Switched(2)
		b.Switched(2)
		expect(t, oa, "switch sfu 1", "switched sfu 1", "switch mesh 2", "switched mesh 2")
		expect(t, oc) // c joined the SFU side directly and left
	})
}

// demoted brings a room of a and b through a promotion (c joins, then leaves) to the
// start of its demotion.
func demoting(t *testing.T, rs *Rooms) (a, b *Seat, oa, ob *owner) {
	t.Helper()
	a, oa = seat(t, rs, "a", roster.Mesh)
	b, ob = seat(t, rs, "b", roster.Mesh)
	c, _ := seat(t, rs, "c", roster.SFU)
	a.Switched(1)
	b.Switched(1)
	c.Leave()
	time.Sleep(30 * time.Second)
	synctest.Wait()
	expectState(t, rs, State{Mode: roster.Mesh, Epoch: 2, Switching: true, Seats: 2, Waiting: 2})
	return a, b, oa, ob
}

// TestJoinDuringDemotion: a joiner during the demotion joins the mesh side at once;
// one that brings the room to the promotion threshold meanwhile makes it switch back
// only once the demotion has completed.
func TestJoinDuringDemotion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := newTestRooms(t)
		a, b, oa, _ := demoting(t, rs)
		_, od := seat(t, rs, "d", roster.Mesh)
		expectState(t, rs, State{Mode: roster.Mesh, Epoch: 2, Switching: true, Seats: 3, Waiting: 2})
		a.Switched(2)
		b.Switched(2)
		// Three again: promoted at once, d included, now that the demotion is over.
		expect(t, oa, "switch sfu 1", "switched sfu 1", "switch mesh 2", "switched mesh 2", "switch sfu 3")
		expect(t, od, "switch sfu 3")
		expectState(t, rs, State{Mode: roster.SFU, Epoch: 3, Switching: true, Seats: 3, Waiting: 3})
	})
}

// TestFixedSeats: a participant that cannot do mesh promotes the room at once and
// keeps it from demoting while it is in; it takes no part in switches.
func TestFixedSeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := newTestRooms(t)
		a, oa := seat(t, rs, "a", roster.Mesh)
		w, err := rs.Join("r", JoinOptions{Fixed: true})
		if err != nil {
			t.Fatal(err)
		}
		if w.Mode() != roster.SFU {
			t.Errorf("a fixed seat got the %s side", w.Mode())
		}
		expect(t, oa, "switch sfu 1")
		expectState(t, rs, State{Mode: roster.SFU, Epoch: 1, Switching: true, Seats: 2, Fixed: 1, Waiting: 1})
		a.Switched(1)
		time.Sleep(time.Hour)
		synctest.Wait()
		expectState(t, rs, State{Mode: roster.SFU, Epoch: 1, Seats: 2, Fixed: 1})
		w.Leave()
		expectState(t, rs, State{Mode: roster.SFU, Epoch: 1, Seats: 1, Demoting: true})
		time.Sleep(30 * time.Second)
		synctest.Wait()
		expect(t, oa, "switch sfu 1", "switched sfu 1", "switch mesh 2")
	})
}

// TestFixedSeatDuringDemotion: a fixed seat that joins during a demotion goes to the
// SFU side, and the room is promoted again once the demotion is over.
func TestFixedSeatDuringDemotion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := newTestRooms(t)
		a, b, oa, _ := demoting(t, rs)
		w, err := rs.Join("r", JoinOptions{Fixed: true})
		if err != nil {
			t.Fatal(err)
		}
		if w.Mode() != roster.SFU {
			t.Errorf("a fixed seat got the %s side", w.Mode())
		}
		a.Switched(2)
		b.Switched(2)
		expect(t, oa, "switch sfu 1", "switched sfu 1", "switch mesh 2", "switched mesh 2", "switch sfu 3")
	})
}

// TestNewRoomOfFixedSeat: a room created by a fixed seat is an SFU room from the
// start, and a native joining it joins that side.
func TestNewRoomOfFixedSeat(t *testing.T) {
	rs := newTestRooms(t)
	w, err := rs.Join("r", JoinOptions{Fixed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Leave()
	seat(t, rs, "a", roster.SFU)
	expectState(t, rs, State{Mode: roster.SFU, Seats: 2, Fixed: 1})
}

// TestReplacement: a seat joining with the identity of one present replaces it; the
// one replaced is told, takes no part in switches and joins no side.
func TestReplacement(t *testing.T) {
	rs := newTestRooms(t)
	old := &owner{name: "old"}
	s1, err := rs.Join("r", JoinOptions{Identity: "ada", Observer: old})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := rs.Join("r", JoinOptions{Identity: "ada", Observer: &owner{name: "new"}})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, old, "replaced")
	if _, err := s1.JoinMesh("x", nil, mesh.JoinOptions{}); err != ErrLeft {
		t.Errorf("the replaced seat joins a side: %v, want ErrLeft", err)
	}
	expectState(t, rs, State{Mode: roster.Mesh, Seats: 1})
	s1.Leave() // its owner leaves: the room's other seat stays
	expectState(t, rs, State{Mode: roster.Mesh, Seats: 1})
	s2.Leave()
	if rs.Len() != 0 {
		t.Errorf("%d rooms after everyone left", rs.Len())
	}
}

// TestMustExist: a join that may not create the room is refused when it does not
// exist, and seated when it does.
func TestMustExist(t *testing.T) {
	rs := newTestRooms(t)
	if _, err := rs.Join("r", JoinOptions{MustExist: true}); err != ErrNoRoom {
		t.Fatalf("join of a room that does not exist: %v, want ErrNoRoom", err)
	}
	a, _ := seat(t, rs, "a", roster.Mesh)
	b, err := rs.Join("r", JoinOptions{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	a.Leave()
	b.Leave()
}

// TestRacingJoinsLeavesAndSwitches: joins, leaves and switched reports from many
// goroutines at once (under -race), around two participants who stay throughout, so
// that the room keeps crossing both thresholds with switches running. Every seat is
// told of switches in order, each switch's end after its start and before the next
// one; when everyone has left, the room is gone.
func TestRacingJoinsLeavesAndSwitches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs, err := New(Config{PromoteAt: 3, DemoteAt: 2, DemoteAfter: 5 * time.Millisecond,
			SwitchTimeout: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var all []*reporter
		join := func(fixed bool) *Seat {
			o := &reporter{}
			s, err := rs.Join("r", JoinOptions{Observer: o, Fixed: fixed})
			if err != nil {
				t.Error(err) // from the goroutines too: no Fatal
				return nil
			}
			o.seat.Store(s)
			mu.Lock()
			all = append(all, o)
			mu.Unlock()
			return s
		}
		stayers := []*Seat{join(false), join(false)}
		if t.Failed() {
			return
		}
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				for j := range 50 {
					s := join((i+j)%11 == 0)
					if s == nil {
						return
					}
					time.Sleep(time.Duration(i+j%7) * time.Millisecond)
					s.Leave()
					time.Sleep(time.Duration(3*i+j%5) * time.Millisecond)
				}
			})
		}
		wg.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		for _, s := range stayers {
			s.Leave()
		}
		if rs.Len() != 0 {
			t.Errorf("%d rooms after everyone left", rs.Len())
		}
		for _, o := range all {
			if err := o.check(); err != nil {
				t.Error(err)
			}
		}
		if n := len(all[0].told); n < 10 {
			t.Errorf("a participant who stayed throughout was told %d times, want many switches", n)
		}
	})
}

// reporter reports switched as soon as it is told to switch, on a goroutine of its
// own as a session's loop would, and records what it was told.
type reporter struct {
	seat atomic.Pointer[Seat]
	mu   sync.Mutex
	told []int // +epoch for a switch, -epoch for its end
}

func (o *reporter) Switch(_ Mode, epoch int) {
	o.mu.Lock()
	o.told = append(o.told, epoch)
	o.mu.Unlock()
	go func() {
		if s := o.seat.Load(); s != nil {
			s.Switched(epoch)
		}
	}()
}

func (o *reporter) Switched(_ Mode, epoch int) {
	o.mu.Lock()
	o.told = append(o.told, -epoch)
	o.mu.Unlock()
}

func (o *reporter) Replaced() {}

// check reports a sequence of switches out of order: each switch's end right after
// its start, epochs growing.
func (o *reporter) check() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	last := 0
	for i, e := range o.told {
		switch {
		case e > 0 && e <= last, e > 0 && i > 0 && o.told[i-1] > 0:
			return fmt.Errorf("told %v: switch %d out of order", o.told, e)
		case e < 0 && (i == 0 || o.told[i-1] != -e):
			return fmt.Errorf("told %v: end of switch %d without its start", o.told, -e)
		}
		if e > 0 {
			last = e
		}
	}
	return nil
}

// TestConfig: zero values are the defaults; configurations that cannot work are
// refused.
func TestConfig(t *testing.T) {
	rs, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := rs.cfg; c.PromoteAt != DefaultPromoteAt || c.DemoteAt != DefaultDemoteAt || c.DemoteAfter != DefaultDemoteAfter ||
		c.SwitchTimeout != DefaultSwitchTimeout {
		t.Errorf("defaults: %+v", c)
	}
	for _, bad := range []Config{{PromoteAt: 1}, {PromoteAt: 3, DemoteAt: 3}, {DemoteAt: -1}, {DemoteAfter: -time.Second}} {
		if _, err := New(bad); err == nil || !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v): %v, want ErrConfig", bad, err)
		}
	}
}

// events records what Events hears.
type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) add(s string)                                     { e.mu.Lock(); e.got = append(e.got, s); e.mu.Unlock() }
func (e *events) RoomStarted(roster.RoomID)                        { e.add("started") }
func (e *events) RoomFinished(roster.RoomID)                       { e.add("finished") }
func (e *events) ParticipantJoined(_ roster.RoomID, p Participant) { e.add("+" + p.Name) }
func (e *events) ParticipantLeft(_ roster.RoomID, p Participant)   { e.add("-" + p.Name) }

// TestEvents: the room starts with its first seat and finishes after its last; a
// replaced seat leaves; a viewer's seat is not a participant's.
func TestEvents(t *testing.T) {
	ev := &events{}
	rs, err := New(Config{Events: ev, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := rs.Join("r", JoinOptions{Name: "a", Identity: "ada"})
	v, _ := rs.Join("r", JoinOptions{Fixed: true, Viewer: true})
	b, _ := rs.Join("r", JoinOptions{Name: "b", Identity: "ada"})
	for _, s := range []*Seat{a, v, b} {
		s.Leave()
	}
	if want := []string{"started", "+a", "-a", "+b", "-b", "finished"}; !slices.Equal(ev.got, want) {
		t.Errorf("events %q, want %q", ev.got, want)
	}
}
