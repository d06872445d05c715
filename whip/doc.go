// Package whip serves WHIP (RFC 9725: publish into a room with one HTTP POST of an
// SDP offer) and WHEP (the WebRTC-HTTP egress draft: watch a room the same way).
//
// Mounted on a mux by Handler.Register:
//
//	POST    /whip/{room}                 publish; ?name= names the participant
//	POST    /whep/{room}                 watch the room's first publisher
//	POST    /whep/{room}/{participant}   watch one participant
//	PATCH   /whip/resource/{id}          trickle ICE candidates, or restart ICE (sdpfrag)
//	DELETE  /whip/resource/{id}          end the session
//	(and the same under /whep/resource/), OPTIONS on all of them.
//
// A WHIP publisher is a participant of the room like any other: every subscriber
// receives its tracks. A WHEP viewer is an sfu.Viewer: see its doc comment for which
// publisher a room-level viewer receives.
package whip
