package roster

import (
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/safe"
)

// Observer is how a room tells a member's owner (its signaling session) about the
// room's membership and chat; I is how the room describes a member. Every method must
// return quickly and never block: implementations queue the event and return. Calls
// come from the room's serialised context (see the package comment), so every member
// sees the room's events in the same order.
type Observer[I any] interface {
	// Joined reports that the member is in the room, with the others present.
	Joined(self I, others []I)
	// ParticipantJoined and ParticipantLeft report another member arriving and
	// leaving (or being removed).
	ParticipantJoined(I)
	ParticipantLeft(I)
	// Chat carries a chat message to the room, the sender's own included.
	Chat(ChatMessage)
	// Removed reports that the server took the member out of its room for reason
	// (ErrReplaced, ErrRemoved, ErrRoomClosed): the others have been told it left.
	// The owner should tell its client why and end the member.
	Removed(reason error)
}

// ChatMessage is a text message to a whole room, stamped by the server.
type ChatMessage struct {
	From ParticipantID
	Name string
	Text string
	Time time.Time
}

// NewChat stamps text from the member from, named name, with the current time.
func NewChat(from ParticipantID, name, text string) ChatMessage {
	return ChatMessage{From: from, Name: name, Text: text, Time: time.Now().UTC()}
}

// Member is what a room's member list needs of a member: its ids and how it is
// described to the others. M is compared with == to find a member again.
type Member[I any] interface {
	comparable
	ID() ParticipantID
	// Identity is who the member is, from its join token; empty without one.
	Identity() string
	// Info describes the member now.
	Info() I
}

// Contact is how the room reaches a member's owner.
type Contact[I any] struct {
	// Events receives the room's events; nil: the member hears nothing of the room,
	// and a removal is reported to Fail with its reason.
	Events Observer[I]
	// Fail is told that the member must end: code serving it (its Events) panicked,
	// the panic (a *safe.Error) already logged and counted; or, without Events, that
	// it was removed. It must return quickly. Nil: nobody is told.
	Fail func(error)
	// Log is the member's logger. Required.
	Log *slog.Logger
}

type entry[I any, M Member[I]] struct {
	m M
	c Contact[I]
}

// Members is the member list of one room, in join order, and the rules of joining
// it. The zero value is an empty list. It is not safe for concurrent use: the room
// runs every call on one operation queue or under one lock (see the package
// comment), and observers are called from within the calls.
type Members[I any, M Member[I]] struct {
	list []entry[I, M]
	// Left, when set, is called with a member just taken out of the list (it left,
	// was removed or replaced), before the others are told it left: where a room
	// kind undoes what the member brought (its tracks).
	Left func(M)
}

// Len is the number of members.
func (ms *Members[I, M]) Len() int { return len(ms.list) }

// Find is the member id, and whether there is one.
func (ms *Members[I, M]) Find(id ParticipantID) (M, bool) {
	for _, e := range ms.list {
		if e.m.ID() == id {
			return e.m, true
		}
	}
	var zero M
	return zero, false
}

// Has reports whether m is a member (m itself, not another with its id).
func (ms *Members[I, M]) Has(m M) bool { return ms.index(m) >= 0 }

func (ms *Members[I, M]) index(m M) int {
	return slices.IndexFunc(ms.list, func(e entry[I, M]) bool { return e.m == m })
}

// All yields the members in join order. The list must not change while it yields.
func (ms *Members[I, M]) All() iter.Seq[M] {
	return func(yield func(M) bool) {
		for _, e := range ms.list {
			if !yield(e.m) {
				return
			}
		}
	}
}

// Infos describes every member, in join order.
func (ms *Members[I, M]) Infos() []I {
	out := make([]I, 0, len(ms.list))
	for _, e := range ms.list {
		out = append(out, e.m.Info())
	}
	return out
}

// Join adds m, reached through c, and tells everyone: the others ParticipantJoined,
// m Joined with the others present. A member with m's identity (when it has one) is
// removed first with ErrReplaced, and does not count against max: Join refuses m
// with ErrRoomFull when max others would remain (max negative: no limit). It
// returns how many others were present.
func (ms *Members[I, M]) Join(m M, c Contact[I], max int) (int, error) {
	old := -1
	if id := m.Identity(); id != "" {
		old = slices.IndexFunc(ms.list, func(e entry[I, M]) bool { return e.m.Identity() == id })
	}
	present := len(ms.list)
	if old >= 0 {
		present--
	}
	if max >= 0 && present >= max {
		return 0, fmt.Errorf("%w (at most %d)", ErrRoomFull, max)
	}
	if old >= 0 {
		e := ms.list[old]
		e.c.Log.Info("replaced by a new connection with its identity")
		ms.remove(e, ErrReplaced)
	}
	self := m.Info()
	others := ms.Infos()
	for _, e := range ms.list {
		tell(e, "participant-joined notice", func(o Observer[I]) { o.ParticipantJoined(self) })
	}
	ms.list = append(ms.list, entry[I, M]{m: m, c: c})
	tell(ms.list[len(ms.list)-1], "joined notice", func(o Observer[I]) { o.Joined(self, others) })
	return len(others), nil
}

// Leave takes m out and tells the others; it reports false when m is not a member.
func (ms *Members[I, M]) Leave(m M) bool {
	i := ms.index(m)
	if i < 0 {
		return false
	}
	ms.leave(i)
	return true
}

// LeaveQuietly takes m out without telling the others: m goes on under its id in
// another room of the same call (an auto room's other mode), so to them it has not
// left. The Left hook still runs. It reports false when m is not a member.
func (ms *Members[I, M]) LeaveQuietly(m M) bool {
	i := ms.index(m)
	if i < 0 {
		return false
	}
	ms.take(i)
	return true
}

// take deletes the member at i and runs the Left hook; it returns the member.
func (ms *Members[I, M]) take(i int) M {
	gone := ms.list[i].m
	ms.list = slices.Delete(ms.list, i, i+1)
	if ms.Left != nil {
		ms.Left(gone)
	}
	return gone
}

func (ms *Members[I, M]) leave(i int) {
	gone := ms.take(i)
	info := gone.Info()
	for _, e := range ms.list {
		tell(e, "participant-left notice", func(o Observer[I]) { o.ParticipantLeft(info) })
	}
}

// remove takes e out as if it had left and tells its owner why; the owner then ends
// the member, whose own leave finds it gone.
func (ms *Members[I, M]) remove(e entry[I, M], reason error) {
	if i := ms.index(e.m); i >= 0 {
		ms.leave(i)
	}
	if e.c.Events == nil {
		if e.c.Fail != nil {
			e.c.Fail(reason)
		}
		return
	}
	tell(e, "removed notice", func(o Observer[I]) { o.Removed(reason) })
}

// Remove takes the member id out for reason (ErrRemoved, say): the others are told
// it left, and its owner why (Observer.Removed). It reports false when id is not a
// member.
func (ms *Members[I, M]) Remove(id ParticipantID, reason error) bool {
	i := slices.IndexFunc(ms.list, func(e entry[I, M]) bool { return e.m.ID() == id })
	if i < 0 {
		return false
	}
	e := ms.list[i]
	e.c.Log.Info("participant removed", "reason", reason)
	ms.remove(e, reason)
	return true
}

// RemoveAll removes every member for reason (ErrRoomClosed), as Remove does, and
// returns how many.
func (ms *Members[I, M]) RemoveAll(reason error) int {
	n := 0
	for len(ms.list) > 0 {
		ms.remove(ms.list[0], reason)
		n++
	}
	return n
}

// Chat tells every member msg, its sender included.
func (ms *Members[I, M]) Chat(msg ChatMessage) {
	for _, e := range ms.list {
		tell(e, "chat notice", func(o Observer[I]) { o.Chat(msg) })
	}
}

// tell calls fn with e's observer, if it has one. A panic there is in code serving
// e's member alone: it is logged and counted, the member's owner is told to end it
// (Contact.Fail), and the caller goes on with the others.
func tell[I any, M Member[I]](e entry[I, M], what string, fn func(Observer[I])) {
	if e.c.Events == nil {
		return
	}
	defer safe.Recover(e.c.Log, what, e.c.Fail)
	fn(e.c.Events)
}
