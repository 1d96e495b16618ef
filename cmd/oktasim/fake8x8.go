package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// fake8x8 plays 8x8 for a local run (-serve-8x8): it takes every call and
// SMS at once, with 8x8's success answers, and counts the SMS feedback it
// receives per outcome and per umid, so a pumping run shows each umid
// reported once. Nothing leaves the machine. GET /stats answers the
// counts as JSON.
type fake8x8 struct {
	mu       sync.Mutex
	n        int
	calls    int
	sms      int
	feedback map[string]int // outcome → reports
	perUMID  map[string]int // umid → reports
}

func newFake8x8() *fake8x8 {
	return &fake8x8{feedback: map[string]int{}, perUMID: map[string]int{}}
}

// fake8x8Stats is what GET /stats answers.
type fake8x8Stats struct {
	Calls              int            `json:"calls"`
	SMS                int            `json:"sms"`
	Feedback           map[string]int `json:"feedback"`
	UMIDsReported      int            `json:"umidsReported"`
	UMIDsReportedTwice int            `json:"umidsReportedTwice"`
}

func (s *fake8x8) stats() fake8x8Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := fake8x8Stats{Calls: s.calls, SMS: s.sms, Feedback: map[string]int{}, UMIDsReported: len(s.perUMID)}
	for k, v := range s.feedback {
		st.Feedback[k] = v
	}
	for _, c := range s.perUMID {
		if c > 1 {
			st.UMIDsReportedTwice++
		}
	}
	return st
}

func (st fake8x8Stats) String() string {
	return fmt.Sprintf("8x8 stand-in: %d calls, %d SMS; feedback %d success, %d failure; %d umids reported, %d of them more than once",
		st.Calls, st.SMS, st.Feedback["success"], st.Feedback["failure"], st.UMIDsReported, st.UMIDsReportedTwice)
}

// id is an 8x8-shaped id (a UUID), distinct per send.
func (s *fake8x8) id() string {
	s.n++
	return fmt.Sprintf("%08x-0000-4000-8000-000000000000", s.n)
}

func (s *fake8x8) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	w.Header().Set("Content-Type", "application/json")
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && p == "/stats":
		_ = json.NewEncoder(w).Encode(s.stats())
	case r.Method == http.MethodHead: // the hook's connection warm-up
		w.WriteHeader(http.StatusMethodNotAllowed)
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/speech-profiles"):
		// An empty list: the hook keeps its built-in voice per locale.
		fmt.Fprint(w, `{"speechProfiles":[],"statusCode":1,"statusMessage":"OK"}`)
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/callflows"):
		s.mu.Lock()
		s.calls++
		id := s.id()
		s.mu.Unlock()
		fmt.Fprintf(w, `{"sessionId":%q,"sessionStatus":"CREATED","statusCode":1,"statusMessage":"Created"}`, id)
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/messages"):
		s.mu.Lock()
		s.sms++
		id := s.id()
		s.mu.Unlock()
		fmt.Fprintf(w, `{"umid":%q,"status":{"code":"QUEUED","description":"SMS is accepted and queued for processing"}}`, id)
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/feedback"):
		var f struct{ Outcome string }
		_ = json.Unmarshal(body, &f)
		parts := strings.Split(strings.TrimSuffix(p, "/feedback"), "/")
		s.mu.Lock()
		s.feedback[f.Outcome]++
		s.perUMID[parts[len(parts)-1]]++
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

// serve8x8 serves the stand-in on addr until ctx ends, then prints its
// counts.
func serve8x8(ctx context.Context, addr string, stdout, stderr io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := newFake8x8()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stderr, "oktasim: playing 8x8 on http://%s (set EIGHTYEIGHTX_VOICE_URL and EIGHTYEIGHTX_SMS_URL to it); counts at GET /stats and on exit\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(stdout, s.stats())
	return nil
}
