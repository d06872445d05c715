package wire

// Resuming a WebSocket session, and restarting ICE. See docs/protocol.md.

// Transport-level messages of a resumable WebSocket session (opened with the query
// parameter resumable=1). The server sends them outside the numbered sequence of the
// session's messages: a client does not count them.
const (
	// TypeSession (body Session) is the first message of a resumable session: the
	// token that resumes it.
	TypeSession = "session"
	// TypeResumed (body Resumed) is the first message on a connection that resumed
	// its session; the messages the client missed follow.
	TypeResumed = "resumed"
)

// TypeRestartICE (body RestartICE) asks the server to restart ICE on one of the
// client's connections: for the subscriber connection, the server sends a
// subscribe-offer with new ICE credentials. (A client restarts its publisher
// connection itself, with a publish-offer made with iceRestart.)
const TypeRestartICE = "restart-ice"

// CodeCannotResume: a resumable session cannot be resumed (it has ended, the token
// is not one, or the messages after the client's last are no longer kept). The
// connection closes; the client joins again.
const CodeCannotResume = "cannot-resume"

// Session is the body of TypeSession. Resume is an unguessable token that only this
// session's client knows: a connection to the WebSocket path with the query
// parameters resume=<Resume> and last=<the number of messages received> resumes it.
type Session struct {
	Resume string `json:"resume"`
}

// Resumed is the body of TypeResumed: Last is the number of the last message the
// server knows the client received (the last it asked for); the next message is
// Last+1.
type Resumed struct {
	Last uint64 `json:"last"`
}

// RestartICE is the body of TypeRestartICE: Target is TargetSubscriber (the only
// connection the server offers on).
type RestartICE struct {
	Target string `json:"target"`
}
