package webhook

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// receiver records the deliveries it accepts, and answers the first fail ones with
// status.
type receiver struct {
	fail   int32
	status int
	calls  atomic.Int32

	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := rv.calls.Add(1)
	b, _ := io.ReadAll(r.Body)
	if n <= rv.fail {
		w.WriteHeader(rv.status)
		return
	}
	rv.mu.Lock()
	rv.got = append(rv.got, r)
	rv.body = append(rv.body, b)
	rv.mu.Unlock()
}

func (rv *receiver) delivered() int {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return len(rv.got)
}

func fastConfig(urls ...string) Config {
	return Config{URLs: urls, KeyID: "key1", Secret: testSecret, MinBackoff: time.Millisecond,
		MaxBackoff: 10 * time.Millisecond, DrainTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)}
}

func TestRetriesAfterServerErrors(t *testing.T) {
	rv := &receiver{fail: 2, status: http.StatusInternalServerError}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	s, err := New(fastConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	e := NewEvent(RoomStarted, Room{Name: "r", Kind: "sfu"})
	s.Send(e)
	s.Close()
	if rv.delivered() != 1 || rv.calls.Load() != 3 {
		t.Fatalf("delivered %d in %d calls, want 1 in 3", rv.delivered(), rv.calls.Load())
	}
	r := rv.got[0]
	if r.Header.Get(HeaderDelivery) != e.ID || r.Header.Get(HeaderKey) != "key1" || r.Header.Get(HeaderEvent) != string(RoomStarted) {
		t.Errorf("headers %v", r.Header)
	}
	if !Verify(testSecret, rv.body[0], r.Header.Get(HeaderSignature)) {
		t.Errorf("signature %q does not verify", r.Header.Get(HeaderSignature))
	}
	if st := s.Stats(); st.Delivered != 1 || st.Retried != 2 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestClientErrorIsNotRetried(t *testing.T) {
	rv := &receiver{fail: 1, status: http.StatusBadRequest}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	s, err := New(fastConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	s.Send(NewEvent(RoomStarted, Room{Name: "r", Kind: "sfu"}))
	s.Close()
	if rv.calls.Load() != 1 {
		t.Fatalf("%d calls, want 1", rv.calls.Load())
	}
	if st := s.Stats(); st.Failed != 1 || st.Retried != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestTooManyRequestsIsRetried(t *testing.T) {
	rv := &receiver{fail: 1, status: http.StatusTooManyRequests}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	s, err := New(fastConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	s.Send(NewEvent(RoomStarted, Room{Name: "r", Kind: "sfu"}))
	s.Close()
	if rv.delivered() != 1 {
		t.Fatalf("delivered %d, want 1", rv.delivered())
	}
}

func TestConnectionErrorIsRetriedUpToMaxAttempts(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	cfg := fastConfig(url)
	cfg.MaxAttempts = 3
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Send(NewEvent(RoomStarted, Room{Name: "r", Kind: "sfu"}))
	s.Close()
	if st := s.Stats(); st.Failed != 1 || st.Retried != 2 {
		t.Errorf("stats %+v, want 1 failed after 2 retries", st)
	}
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-release
	}))
	defer srv.Close()
	cfg := fastConfig(srv.URL)
	cfg.QueueSize = 2
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Send(NewEvent(RoomStarted, Room{Name: "r", Kind: "sfu"})) // taken by the endpoint, held by the receiver
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 5 { // two fit in the queue, three are dropped
		s.Send(NewEvent(ParticipantJoined, Room{Name: "r", Kind: "sfu"}))
	}
	if st := s.Stats(); st.Dropped != 3 {
		t.Errorf("dropped %d, want 3", st.Dropped)
	}
	close(release)
	s.Close()
	if st := s.Stats(); st.Delivered != 3 || st.Dropped != 3 {
		t.Errorf("stats %+v, want 3 delivered, 3 dropped", st)
	}
}

func TestCloseAbandonsWithinItsBound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	cfg := fastConfig(srv.URL)
	cfg.MinBackoff, cfg.MaxBackoff, cfg.DrainTimeout = time.Hour, time.Hour, 50*time.Millisecond
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Send(NewEvent(RoomStarted, Room{Name: "r", Kind: "sfu"}))
	s.Send(NewEvent(RoomFinished, Room{Name: "r", Kind: "sfu"}))
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if st := s.Stats(); st.Abandoned != 2 {
		t.Errorf("stats %+v, want 2 abandoned", st)
	}
	s.Send(NewEvent(RoomStarted, Room{Name: "r", Kind: "sfu"}))
	if st := s.Stats(); st.Dropped != 1 {
		t.Errorf("a send after Close: stats %+v, want 1 dropped", st)
	}
}

func TestNewRefusesABadURL(t *testing.T) {
	for _, u := range []string{"ftp://x/y", "/relative", "http://", "::"} {
		if _, err := New(Config{URLs: []string{u}}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"ev_1"}`)
	sig := Sign(testSecret, body)
	if !Verify(testSecret, body, sig) {
		t.Fatal("own signature refused")
	}
	if Verify(testSecret, []byte(`{"id":"ev_2"}`), sig) || Verify("other", body, sig) || Verify(testSecret, body, sig[len("sha256="):]) {
		t.Fatal("a wrong signature verified")
	}
}
