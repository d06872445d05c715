package signal

import (
	"context"

	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// Access is what a session's client may do, as its join token says. The zero value
// allows everything: a server without tokens.
type Access struct {
	// Room is the only room the client may join; empty allows any.
	Room sfu.RoomID
	// Identity is who the client is. A second session joining the room with the same
	// identity replaces this one. Empty: no identity.
	Identity string
	// Name, when set, is the display name, whatever the join message says.
	Name string
	// Grants limit publishing and receiving, in SFU and mesh rooms; nil allows both.
	Grants *sfu.Grants
	// NoNewMeshRooms: the client may not create a mesh room (its join token lacks
	// "mode": "mesh"). It may still join a mesh room that exists, or create one whose
	// name the server's configuration makes a mesh room.
	NoNewMeshRooms bool
	// NoNewAutoRooms: the client may not create an auto room (its join token's mode
	// is neither "auto" nor "mesh"). It may still join one that exists, or create
	// one whose name the server's configuration makes an auto room.
	NoNewAutoRooms bool
}

// joinOptions are the media core's options for a.
func (a Access) joinOptions() sfu.JoinOptions {
	return sfu.JoinOptions{Identity: a.Identity, Grants: a.Grants}
}

// meshOptions are the mesh rooms' options for a, joining room; configured says the
// server's configuration makes room a mesh room.
func (a Access) meshOptions(configured bool) mesh.JoinOptions {
	opts := mesh.JoinOptions{Identity: a.Identity, MustExist: a.NoNewMeshRooms && !configured}
	if g := a.Grants; g != nil {
		opts.Grants = &mesh.Grants{
			Audio:     g.MaySend(sfu.SourceMicrophone),
			Video:     g.MaySend(sfu.SourceCamera) || g.MaySend(sfu.SourceScreen),
			Subscribe: g.Subscribe,
		}
	}
	return opts
}

type accessKey struct{}

// WithAccess returns ctx carrying a: how an authenticating middleware hands a
// request's access to the transport that runs its session.
func WithAccess(ctx context.Context, a Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// AccessFrom returns the Access ctx carries; the zero Access (everything allowed)
// when it carries none.
func AccessFrom(ctx context.Context) Access {
	a, _ := ctx.Value(accessKey{}).(Access)
	return a
}
