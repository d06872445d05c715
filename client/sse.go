package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const (
	// maxEventSize bounds one event of the stream: the server's messages are bounded
	// by its own limits (an SDP of 192 KiB, escaped); 1 MiB leaves room.
	maxEventSize = 1 << 20
	// resumeFor is how long a dropped stream is retried: well within the server's
	// default grace period of 15 s.
	resumeFor = 10 * time.Second
	// resumeEvery spaces the attempts.
	resumeEvery = 100 * time.Millisecond
)

// ErrSessionOver is returned by the SSE transport when the server says the session
// has ended.
var ErrSessionOver = errors.New("client: the server ended the session")

// sseWire is the native protocol over Server-Sent Events (the server's messages) and
// POST (the client's). A dropped stream is reopened with Last-Event-ID, as EventSource
// does; the events must then continue exactly where they stopped.
type sseWire struct {
	url    string
	hc     *http.Client
	ctx    context.Context // ends the stream requests on Close
	cancel context.CancelFunc

	token           string // sent when opening the stream
	session, secret string
	postURL         string // the stream URL's path + "/" + session, with its query

	// Owned by the reader.
	body    io.ReadCloser
	lines   *bufio.Scanner
	lastID  string
	lastSeq uint64

	resumed atomic.Int64
}

func dialSSE(ctx context.Context, url string, hc *http.Client, token string) (*sseWire, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	w := &sseWire{url: url, hc: hc, token: token}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, w.cancel) // the dial's deadline bounds the first event
	defer stop()
	if err := w.open(""); err != nil {
		w.cancel()
		return nil, err
	}
	name, id, data, err := w.next()
	if err == nil && name != "session" {
		err = fmt.Errorf("client: sse: first event is %q, want session", name)
	}
	var s struct{ Session, Secret string }
	if err == nil {
		err = json.Unmarshal(data, &s)
	}
	if err != nil || s.Session == "" || s.Secret == "" {
		_ = w.Close()
		return nil, errors.Join(errors.New("client: sse: no session event"), err)
	}
	w.session, w.secret, w.lastID = s.Session, s.Secret, id
	u, err := neturl.Parse(url)
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	u.Path += "/" + neturl.PathEscape(s.Session)
	w.postURL = u.String()
	return w, nil
}

// open starts a stream request, resuming after lastID when it is set.
func (w *sseWire) open(lastID string) error {
	req, err := http.NewRequestWithContext(w.ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	} else if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusNoContent:
		resp.Body.Close()
		return ErrSessionOver
	case resp.StatusCode == http.StatusUnauthorized:
		defer resp.Body.Close()
		return refusedBy(resp)
	case resp.StatusCode != http.StatusOK:
		defer resp.Body.Close()
		return fmt.Errorf("client: sse: %s: %s", resp.Status, readSome(resp.Body))
	}
	w.body = resp.Body
	w.lines = bufio.NewScanner(resp.Body)
	w.lines.Buffer(make([]byte, 0, 64<<10), maxEventSize)
	return nil
}

// Read returns the next message, reopening the stream if it drops. It fails when the
// session ends or when the events after a reopening do not follow on from the last
// one received (an event lost or repeated).
func (w *sseWire) Read(ctx context.Context) ([]byte, error) {
	for {
		name, id, data, err := w.next()
		if err != nil {
			if err = w.resume(ctx); err != nil {
				return nil, err
			}
			continue
		}
		switch name {
		case "end":
			return nil, fmt.Errorf("%w: %s", ErrSessionOver, data)
		case "", "message":
			if err := w.follows(id); err != nil {
				return nil, err
			}
			return data, nil
		}
	}
}

// follows checks that event id comes right after the last one received.
func (w *sseWire) follows(id string) error {
	i := strings.LastIndexByte(id, ':')
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil || seq != w.lastSeq+1 {
		return fmt.Errorf("client: sse: event %q after %d: events lost or repeated", id, w.lastSeq)
	}
	w.lastSeq, w.lastID = seq, id
	return nil
}

// resume reopens the stream after the last event received, retrying for resumeFor.
func (w *sseWire) resume(ctx context.Context) error {
	_ = w.body.Close()
	deadline := time.Now().Add(resumeFor)
	for {
		err := w.open(w.lastID)
		if err == nil {
			w.resumed.Add(1)
			return nil
		}
		if errors.Is(err, ErrSessionOver) || time.Now().After(deadline) || w.ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(resumeEvery):
		case <-ctx.Done():
			return ctx.Err()
		case <-w.ctx.Done():
			return w.ctx.Err()
		}
	}
}

// next reads one event: its name, id and data. Comments and retry fields are skipped.
func (w *sseWire) next() (name, id string, data []byte, err error) {
	var seen bool
	for w.lines.Scan() {
		line := w.lines.Text()
		if line == "" {
			if seen {
				return name, id, data, nil
			}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name, seen = value, true
		case "id":
			id, seen = value, true
		case "data":
			if data != nil {
				data = append(data, '\n')
			}
			data, seen = append(data, value...), true
		}
	}
	if err = w.lines.Err(); err == nil {
		err = io.ErrUnexpectedEOF
	}
	return "", "", nil, err
}

// Write posts one message with the session's secret.
func (w *sseWire) Write(ctx context.Context, msg []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.postURL, bytes.NewReader(msg))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+w.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("client: sse: post: %s: %s", resp.Status, readSome(resp.Body))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return nil
}

// Close ends the stream; the session ends on the server after its grace period, or
// at once after a leave.
func (w *sseWire) Close() error {
	w.cancel() // ends the stream request, and with it a Read in progress
	return nil
}

// Session is the session id and secret the server gave this stream.
func (w *sseWire) Session() (id, secret string) { return w.session, w.secret }

// readSome reads the start of an error body, for an error message.
func readSome(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 1<<10))
	return strings.TrimSpace(string(b))
}
