package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/compat/sfuws"
	"github.com/switchboard-rtc/switchboard/internal/origin"
	"github.com/switchboard-rtc/switchboard/internal/peraddr"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// Admission: every entry point of the server is registered with handle, which puts
// admit in front of it. admit is the one place that decides whether a request gets
// in, in this order:
//
//  0. while the server drains (Drain), requests that open a session are refused
//     (503, code draining, Retry-After); a connection resuming its session is not;
//  1. per-client limits, for requests that open a session: sessions held by the
//     client's address, and how fast it opens new ones (429 or 503, Retry-After);
//  2. the Origin of browser pages, where cookies-free browser access matters
//     (403);
//  3. the embedder's Authorize hook (401);
//  4. the room the request names, by roster.ParseRoomID (400);
//  5. with API keys, the join or admin token and the grants the entry point needs
//     (401, or 403 for a valid token that does not allow it).
//
// What the request may then do (identity, grants) travels in its context as a
// signal.Access; transports read it with signal.AccessFrom. A route of kind public
// (the browser client's files, health checks, CORS preflights) skips admission.

// entry is what an entry point needs of a request.
type entry int

const (
	public    entry = iota // nothing: the browser client, health, CORS preflights
	joinRoom               // a signaling session in a room: a join token
	publish                // WHIP: a join token that grants publishing camera and microphone
	watch                  // WHEP: a join token that grants subscribing
	resource               // a WHIP/WHEP session: a join token of its owner, compared by the handler
	session                // an SSE post: the session's secret, checked by the transport
	tokenInfo              // GET /v1/token: the handler reports on the token itself
	admin                  // the admin API: a token with the admin grant
	probe                  // the connectivity check: a join token, of any room
)

// route is one registered entry point.
type route struct {
	pattern string
	entry   entry
	// room is the room the request names before any message, "" when it names none
	// (the native protocol names it in its join message, checked again there).
	room func(*http.Request) string
	// origin: pages of origins other than the server's own and AllowedOrigins are
	// refused. Off for WHIP/WHEP, which any page may use with a Bearer token
	// (RFC 9725 section 4.9).
	origin bool
	// creates: the request opens a session, counted against the client address's
	// limits until the session ends.
	creates bool
	// stream: the request is a long-lived signaling stream (WebSocket, SSE), exempt
	// from the deadlines of ordinary requests.
	stream bool
	// resumes, when set, reports whether a request resumes a session (each
	// transport has its own way of saying so). Such a request needs no token: it
	// carries the session's secret, which the transport checks, and the token may
	// have expired since; the session it opened has not.
	resumes func(*http.Request) bool
}

// sseResumes: an SSE stream with Last-Event-ID resumes its session.
func sseResumes(r *http.Request) bool { return r.Header.Get("Last-Event-ID") != "" }

// wsResumes: a WebSocket with the query parameter resume resumes its session
// (signal/ws).
func wsResumes(r *http.Request) bool { return r.URL.Query().Get("resume") != "" }

// resuming reports whether r, to rt, resumes a session.
func (rt route) resuming(r *http.Request) bool { return rt.resumes != nil && rt.resumes(r) }

func queryRoom(r *http.Request) string { return r.URL.Query().Get("room") }
func pathRoom(r *http.Request) string  { return r.PathValue("room") }

// compatRoom is the room of an sfu-ws connection: the query's, or the default room.
func compatRoom(r *http.Request) string {
	if room := r.URL.Query().Get("room"); room != "" {
		return room
	}
	return sfuws.DefaultRoom
}

// handle registers h at rt.pattern behind admission.
func (s *Server) handle(rt route, h http.Handler) {
	s.routes = append(s.routes, rt)
	h = s.routeCluster(rt, h)
	if rt.stream {
		h = longLived(h)
	}
	s.mux.Handle(rt.pattern, s.admit(rt, h))
}

// Refusal is why admission turned a request away: the HTTP status, a stable code
// and a reason for people; RetryAfter, when not zero, is when trying again may work.
type Refusal struct {
	Status     int
	Code       string
	Reason     string
	RetryAfter time.Duration
}

func (e *Refusal) Error() string { return e.Reason }

func refuse(status int, code, reason string) *Refusal {
	return &Refusal{Status: status, Code: code, Reason: reason}
}

// admit wraps h with the admission of rt.
func (s *Server) admit(rt route, h http.Handler) http.Handler {
	if rt.entry == public {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.admitForwarded(w, r, h) {
			return
		}
		var release func()
		if rt.creates {
			var err error
			if err = s.refuseDraining(rt, r); err != nil {
				WriteRefusal(w, err)
				return
			}
			if release, err = s.acquire(r); err != nil {
				s.metrics.refused(err)
				WriteRefusal(w, err)
				return
			}
		}
		ctx, err := s.check(rt, r)
		if err != nil {
			if release != nil {
				release()
			}
			s.metrics.refused(err)
			WriteRefusal(w, err)
			return
		}
		if release != nil {
			var hold *peraddr.Hold
			ctx, hold = peraddr.WithHold(ctx, release)
			defer hold.Done()
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// acquire counts a new session of r's client address.
func (s *Server) acquire(r *http.Request) (func(), error) {
	release, retry, err := s.perAddr.Acquire(r.RemoteAddr)
	switch {
	case err == nil:
		return release, nil
	case errors.Is(err, peraddr.ErrTooFast):
		return nil, &Refusal{Status: http.StatusTooManyRequests, Code: "rate-limited", Reason: err.Error(), RetryAfter: retry}
	default:
		return nil, &Refusal{Status: http.StatusServiceUnavailable, Code: "too-many-sessions", Reason: err.Error(), RetryAfter: retry}
	}
}

// check runs the steps of admission after the per-client limits, and returns the
// request's context with what it may do.
func (s *Server) check(rt route, r *http.Request) (context.Context, error) {
	if rt.origin {
		if err := origin.Check(r, s.origins); err != nil {
			return nil, refuse(http.StatusForbidden, "forbidden-origin", err.Error())
		}
	}
	if s.authorize != nil {
		if err := s.authorize(r); err != nil {
			return nil, refuse(http.StatusUnauthorized, "unauthorized", "unauthorized: "+err.Error())
		}
	}
	var room string
	if rt.room != nil {
		if room = rt.room(r); room != "" {
			if _, err := roster.ParseRoomID(room); err != nil {
				return nil, refuse(http.StatusBadRequest, "bad-request", err.Error())
			}
		}
	}
	if s.verifier == nil {
		if rt.entry == admin {
			return nil, refuse(http.StatusForbidden, "admin-disabled",
				"the admin API needs an API key: start the server with --api-key and --api-secret")
		}
		return r.Context(), nil
	}
	return s.checkToken(rt, r, room)
}

// checkToken verifies the request's token for what rt needs.
func (s *Server) checkToken(rt route, r *http.Request, room string) (context.Context, error) {
	ctx := r.Context()
	switch rt.entry {
	case session, tokenInfo:
		return ctx, nil
	case joinRoom:
		if rt.resuming(r) {
			return ctx, nil
		}
		a, err := s.joinAccess(r, room)
		if err != nil {
			return nil, tokenRefusal(err)
		}
		return signal.WithAccess(ctx, a), nil
	case probe:
		a, err := s.joinAccess(r, "")
		if err != nil {
			return nil, tokenRefusal(err)
		}
		return signal.WithAccess(ctx, a), nil
	case publish, watch, resource:
		a, err := s.mediaAccess(r, room, rt.entry)
		if err != nil {
			return nil, tokenRefusal(err)
		}
		return signal.WithAccess(ctx, a), nil
	case admin:
		c, err := s.adminClaims(r)
		if err != nil {
			return nil, err
		}
		return context.WithValue(ctx, claimsKey{}, c), nil
	}
	return nil, refuse(http.StatusInternalServerError, "internal", "no admission rule for this route")
}

// mediaAccess verifies the token of a WHIP or WHEP request: publish needs the publish
// grant for camera and microphone (a WHIP client's tracks are published as those),
// watch the subscribe grant, and a resource request only a join token, which the
// handler compares with the session's owner.
func (s *Server) mediaAccess(r *http.Request, room string, e entry) (signal.Access, error) {
	a, err := s.joinAccess(r, room)
	if err != nil {
		return a, err
	}
	g := a.Grants
	switch {
	case e == publish && g != nil && !g.Publish:
		return a, &auth.Error{Reason: "token does not grant publish"}
	case e == publish && !(g.MaySend(sfu.SourceCamera) && g.MaySend(sfu.SourceMicrophone)):
		return a, &auth.Error{Reason: "token does not grant publishing camera and microphone"}
	case e == watch && !g.MaySubscribe():
		return a, &auth.Error{Reason: "token does not grant subscribe"}
	}
	return a, nil
}

// adminClaims verifies an admin token, and its room claim for calls on one room.
func (s *Server) adminClaims(r *http.Request) (*auth.Claims, error) {
	c, err := s.verifier.Verify(auth.FromRequest(r))
	if err != nil {
		return nil, tokenRefusal(err)
	}
	if !c.Grants.Admin {
		return nil, refuse(http.StatusForbidden, "forbidden", "token does not grant admin")
	}
	if room := r.PathValue("room"); room != "" && !adminAllows(c, room) {
		return nil, refuse(http.StatusForbidden, "forbidden", "token is for room "+quote(c.Room))
	}
	return c, nil
}

type claimsKey struct{}

// adminClaimsFrom returns the admin token admission verified.
func adminClaimsFrom(ctx context.Context) *auth.Claims {
	c, _ := ctx.Value(claimsKey{}).(*auth.Claims)
	return c
}

// tokenRefusal is a token's refusal: 401 with its reason.
func tokenRefusal(err error) *Refusal {
	reason := "invalid token"
	var e *auth.Error
	if errors.As(err, &e) {
		reason = e.Reason
	}
	return refuse(http.StatusUnauthorized, "unauthorized", reason)
}

// WriteRefusal answers a request refused by admission (Admit): {"error": {"code",
// "message"}} with its status, a Bearer challenge on 401, and Retry-After when
// trying later may work.
func WriteRefusal(w http.ResponseWriter, err error) {
	rf := refusalOf(err)
	if rf.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
	}
	if rf.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((rf.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSONError(w, rf.Status, rf.Code, rf.Reason)
}

// refusalOf is the Refusal err is or wraps; any other error is an internal one.
func refusalOf(err error) *Refusal {
	var rf *Refusal
	if !errors.As(err, &rf) {
		rf = refuse(http.StatusInternalServerError, "internal", "internal error")
	}
	return rf
}
