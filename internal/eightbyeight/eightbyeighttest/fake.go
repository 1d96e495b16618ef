// Package eightbyeighttest is a fake 8x8 (voice and SMS APIs) for tests. It
// validates every request it receives against 8x8's official OpenAPI specs
// (from the shared contracts, when present) and can play every fault the
// hook must survive.
package eightbyeighttest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// Fault is how the fake answers.
type Fault int

const (
	OK           Fault = iota // 200 with a sessionId / umid
	BadRequest                // 400: voice statusCode -1017, SMS code 1002
	Unauthorized              // 401
	ServerError               // 500
	TooMany                   // 429 with Retry-After: RetryAfter
	Rejected                  // 200 SMS status REJECTED / voice NOT_CREATED
	Garbled                   // 200 with a body that is not JSON
	Hang                      // never answers (until the client gives up)
	Reset                     // reads the request, then resets the connection
	Gateway                   // 504 with a gateway's HTML page: 8x8 may have it
	Unavailable               // 503: not processed
)

func (f Fault) String() string {
	return [...]string{"ok", "400", "401", "500", "429", "rejected", "garbled", "hang", "reset", "504", "503"}[f]
}

// Kind is which API a request went to.
type Kind string

const (
	Voice Kind = "voice"
	SMS   Kind = "sms"
)

// Request is one request the fake received.
type Request struct {
	Kind          Kind
	Subaccount    string
	Authorization string
	Body          []byte
}

// CallflowRequest decodes a voice request body.
func (r Request) Callflow() (c struct {
	ValidUntil string `json:"validUntil"`
	Callflow   []struct {
		Action string `json:"action"`
		Params struct {
			Source       string `json:"source"`
			Destination  string `json:"destination"`
			Text         string `json:"text"`
			VoiceProfile string `json:"voiceProfile"`
			Repetition   int    `json:"repetition"`
		} `json:"params"`
	} `json:"callflow"`
}) {
	_ = json.Unmarshal(r.Body, &c)
	return c
}

// SMSRequest decodes an SMS request body.
func (r Request) SMS() (m struct {
	Destination     string `json:"destination"`
	Text            string `json:"text"`
	Source          string `json:"source"`
	ClientMessageID string `json:"clientMessageId"`
}) {
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Server is the fake. Its zero fault is OK.
type Server struct {
	*httptest.Server
	t          testing.TB
	RetryAfter int // seconds, for TooMany (default 0: header "0")

	mu       sync.Mutex
	fault    Fault
	queue    []Fault
	requests []Request
	conns    atomic.Int64
	hang     chan struct{}
	n        atomic.Int64

	voiceRouter, smsRouter routers.Router
	Validated              bool // requests are validated against the specs
}

// New starts a fake 8x8 on loopback, stopped at the end of the test.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, hang: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	s.loadSpecs()
	t.Cleanup(func() {
		close(s.hang)
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

func (s *Server) loadSpecs() {
	dir, ok := sharedtest.Dir()
	if !ok {
		s.t.Logf("8x8 specs not found (set %s): the fake 8x8 does not validate requests", sharedtest.EnvVar)
		return
	}
	s.voiceRouter = s.router(filepath.Join(dir, "contracts", "8x8", "voice_v1_api.json"))
	s.smsRouter = s.router(filepath.Join(dir, "contracts", "8x8", "sms_api.json"))
	s.Validated = true
}

func (s *Server) router(path string) routers.Router {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		s.t.Fatalf("load 8x8 spec %s: %v", path, err)
	}
	doc.Servers = openapi3.Servers{{URL: s.URL}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		s.t.Fatalf("route 8x8 spec %s: %v", path, err)
	}
	return r
}

// SetFault makes every later request answer f.
func (s *Server) SetFault(f Fault) { s.mu.Lock(); s.fault = f; s.mu.Unlock() }

// Queue makes the next requests answer fs, in order, then the set fault.
func (s *Server) Queue(fs ...Fault) { s.mu.Lock(); s.queue = append(s.queue, fs...); s.mu.Unlock() }

// Requests returns what the fake received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is the number of requests received.
func (s *Server) Count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.requests) }

// Conns is the number of TCP connections accepted.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// VoiceURL and SMSURL are the base URLs to configure the client with.
func (s *Server) VoiceURL() string { return s.URL }
func (s *Server) SMSURL() string   { return s.URL }

func (s *Server) next() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 {
		f := s.queue[0]
		s.queue = s.queue[1:]
		return f
	}
	return s.fault
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("fake 8x8: reading request: %v", err)
		return
	}
	if r.Method == http.MethodHead { // connection warm-up
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	var kind Kind
	var router routers.Router
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/callflows"):
		kind, router = Voice, s.voiceRouter
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages"):
		kind, router = SMS, s.smsRouter
	default:
		s.t.Errorf("fake 8x8: unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	rec := Request{Kind: kind, Authorization: r.Header.Get("Authorization"), Body: body}
	if len(parts) >= 4 {
		rec.Subaccount = parts[3]
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	if router != nil {
		if err := validate(router, r, body); err != nil {
			s.t.Errorf("fake 8x8: %s request does not validate against 8x8's spec: %v\nbody: %s", kind, err, body)
		}
	}
	if err := checkSemantics(kind, body); err != nil {
		s.t.Errorf("fake 8x8: %s request: %v\nbody: %s", kind, err, body)
	}
	s.answer(w, r, kind, s.next(), rec)
}

func validate(router routers.Router, r *http.Request, body []byte) error {
	rr := r.Clone(context.Background())
	rr.Body = io.NopCloser(strings.NewReader(string(body)))
	route, params, err := router.FindRoute(rr)
	if err != nil {
		return fmt.Errorf("no route: %w", err)
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: rr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			MultiError: true,
			AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
				if !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
					return fmt.Errorf("no bearer token")
				}
				return nil
			},
		},
	})
}

// checkSemantics adds what the spec's loose anyOf cannot say: the callflow
// is makeCall → say → hangup with an E.164 destination.
func checkSemantics(kind Kind, body []byte) error {
	req := Request{Kind: kind, Body: body}
	if kind == SMS {
		m := req.SMS()
		if !strings.HasPrefix(m.Destination, "+") || m.Text == "" {
			return fmt.Errorf("destination must be E.164 and text non-empty")
		}
		return nil
	}
	c := req.Callflow()
	if len(c.Callflow) != 3 || c.Callflow[0].Action != "makeCall" || c.Callflow[1].Action != "say" || c.Callflow[2].Action != "hangup" {
		return fmt.Errorf("callflow must be makeCall, say, hangup")
	}
	p := c.Callflow[1].Params
	if !strings.HasPrefix(c.Callflow[0].Params.Destination, "+") || p.Text == "" || len([]rune(p.Text)) > 3000 || p.Repetition < 1 || p.Repetition > 3 {
		return fmt.Errorf("makeCall destination must be E.164, say text 1–3000 characters, repetition 1–3")
	}
	if c.ValidUntil != "" {
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", c.ValidUntil); err != nil {
			return fmt.Errorf("validUntil %q is not YYYY-MM-DDTHH:MM:SS.SSSZ", c.ValidUntil)
		}
	}
	return nil
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, kind Kind, f Fault, rec Request) {
	id := fmt.Sprintf("%08d-376b-11ef-a28b-0582ff0039d5", s.n.Add(1))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	switch f {
	case OK:
		if kind == Voice {
			fmt.Fprintf(w, `{"sessionId":%q,"sessionStatus":"CREATED","callFlowRequestId":"03cc3e8b-376b-11ef-a28b-4dd5d900ecb3","statusCode":1,"statusMessage":"Created"}`, id)
		} else {
			fmt.Fprintf(w, `{"umid":%q,"clientMessageId":"x","destination":"12025550275","encoding":"GSM7","status":{"code":"QUEUED","description":"SMS is accepted and queued for processing"}}`, id)
		}
	case Rejected:
		if kind == Voice {
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"sessionStatus":"NOT_CREATED","callFlowRequestId":"x","statusCode":-1013,"statusMessage":"Invalid Callflow"}`)
		} else {
			fmt.Fprintf(w, `{"umid":%q,"destination":"12025550275","encoding":"GSM7","status":{"code":"REJECTED","description":"Destination is blocked"}}`, id)
		}
	case BadRequest:
		w.WriteHeader(http.StatusBadRequest)
		if kind == Voice {
			// 8x8's validation messages can quote the request.
			fmt.Fprintf(w, `{"sessionStatus":"NOT_CREATED","callFlowRequestId":"c6e6dee5-3846-11ef-9e95-b903e2ed7273","statusCode":-1017,"statusMessage":"Invalid destination %s"}`,
				rec.Callflow().Callflow[0].Params.Destination)
		} else {
			_, _ = io.WriteString(w, `{"code":1002,"message":"Invalid MSISDN format (not E.164 international number)","errorId":"b4478860-b76c-e811-814e-022a35cc1c71","timestamp":"2018-08-04T09:25:40.9235752+00:00"}`)
		}
	case Unauthorized:
		w.WriteHeader(http.StatusUnauthorized)
		if kind == Voice {
			_, _ = io.WriteString(w, `{"sessionStatus":"NOT_CREATED","callFlowRequestId":"fd2fc658","statusCode":401,"statusMessage":"Authentication header not found or token invalid"}`)
		} else {
			_, _ = io.WriteString(w, `{"code":1200,"message":"Request was not authenticated properly","errorId":"db9dced4","timestamp":"2018-08-02T09:42:38.8988997+00:00"}`)
		}
	case ServerError:
		w.WriteHeader(http.StatusInternalServerError)
		if kind == Voice {
			_, _ = io.WriteString(w, `{"sessionStatus":"NOT_CREATED","callFlowRequestId":"767ca1b8","statusCode":500,"statusMessage":"Internal server error"}`)
		} else {
			_, _ = io.WriteString(w, `{"code":2000,"message":"Internal server error","errorId":"db9dced4","timestamp":"2018-07-02T09:42:38.8988997+00:00"}`)
		}
	case TooMany:
		h.Set("Retry-After", strconv.Itoa(s.RetryAfter))
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"code":1100,"message":"Too many requests"}`)
	case Gateway:
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = io.WriteString(w, `<html><body>504 Gateway Time-out</body></html>`)
	case Unavailable:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `<html><body>503 Service Unavailable</body></html>`)
	case Garbled:
		_, _ = io.WriteString(w, `<html>upstream`)
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.hang:
		}
	case Reset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			s.t.Errorf("fake 8x8: cannot hijack")
			return
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		conn.Close()
	}
}

// Validate checks a request body as the fake checks what it receives: the
// spec (when found) and the callflow's shape.
func (s *Server) Validate(kind Kind, body []byte) error {
	router := s.voiceRouter
	path := "/api/v1/subaccounts/acme_otp/callflows"
	if kind == SMS {
		router, path = s.smsRouter, "/api/v1/subaccounts/acme_otp/messages"
	}
	if router != nil {
		r, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(string(body)))
		if err != nil {
			return err
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer k")
		if err := validate(router, r, body); err != nil {
			return err
		}
	}
	return checkSemantics(kind, body)
}
