// Package eightbyeighttest is a fake 8x8 (voice and SMS APIs, SMS
// feedback, speech profiles) for tests. It validates every request it
// receives against 8x8's official OpenAPI specs (from the shared
// contracts, when present) and can play every fault the hook must survive.
package eightbyeighttest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
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
	OK           Fault = iota // 200 with a sessionId / umid / the profile list; feedback: 200, empty
	BadRequest                // 400: voice statusCode -1017, SMS code 1002
	Unauthorized              // 401 with 8x8's error body
	ServerError               // 500 with 8x8's own error body (voice NOT_CREATED, SMS code 2000): not processed
	TooMany                   // 429 with Retry-After: RetryAfter
	Rejected                  // 200 SMS status REJECTED / voice NOT_CREATED
	Garbled                   // 200 with a body that is not JSON
	Hang                      // never answers (until the client gives up)
	Reset                     // reads the request, then resets the connection
	Gateway                   // 504 with a gateway's HTML page: 8x8 may have it
	Unavailable               // 503 with 8x8's own error body: not processed
	// ProxyUnavailable is a front proxy's plain-text 503 ("upstream
	// connect error or disconnect/reset before headers"): it can follow a
	// request 8x8 already took.
	ProxyUnavailable
	// ForeignJSON is a 503 whose JSON is not 8x8's error shape (a load
	// balancer's): a statusCode and a code, but no sessionStatus, no
	// message, no errorId. 8x8 may have the request.
	ForeignJSON
)

var faultNames = [...]string{"ok", "400", "401", "500", "429", "rejected", "garbled", "hang", "reset", "504", "503", "proxy-503", "foreign-json-503"}

func (f Fault) String() string {
	if f < 0 || int(f) >= len(faultNames) {
		return "fault(" + strconv.Itoa(int(f)) + ")"
	}
	return faultNames[f]
}

// Kind is which API a request went to.
type Kind string

const (
	Voice          Kind = "voice"           // POST …/callflows
	SMS            Kind = "sms"             // POST …/messages
	Feedback       Kind = "feedback"        // POST …/messages/{umid}/feedback
	SpeechProfiles Kind = "speech-profiles" // GET …/speech-profiles
)

// Request is one send (voice or SMS) the fake received.
type Request struct {
	Kind          Kind
	Subaccount    string
	Authorization string
	Body          []byte
}

// Callflow decodes a voice request body.
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

// SMS decodes an SMS request body.
func (r Request) SMS() (m struct {
	Destination     string `json:"destination"`
	Text            string `json:"text"`
	Source          string `json:"source"`
	ClientMessageID string `json:"clientMessageId"`
	Encoding        string `json:"encoding"`
	ClientIP        string `json:"clientIp"`
	Track           string `json:"track"`
}) {
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// FeedbackRequest is one SMS feedback the fake received.
type FeedbackRequest struct {
	Subaccount string
	UMID       string // unescaped from the path
	Outcome    string // "success" or "failure"
	Timestamp  string // as sent ("" when absent)
	Answer     Fault  // what the fake answered it
}

// SpeechProfile is one entry of the fake's speech-profiles answer.
type SpeechProfile struct {
	Code, Locale, Description, Gender string
}

// DefaultSpeechProfiles is the account list served until
// SetSpeechProfiles: one voice per locale of the hook's built-in table,
// so an unconfigured fake behaves as a fully provisioned account.
func DefaultSpeechProfiles() []SpeechProfile {
	return []SpeechProfile{
		{"en-US-Jenny", "en-US", "EnglishUS", "F"},
		{"en-GB-Emma", "en-GB", "EnglishUK", "F"},
		{"en-IE-EmilyNeural", "en-IE", "EnglishIreland", "F"},
		{"en-AU-NatashaNeural", "en-AU", "EnglishAustralia", "F"},
		{"en-IN-NeerjaNeural", "en-IN", "EnglishIndia", "F"},
		{"en-CA-ClaraNeural", "en-CA", "EnglishCanada", "F"},
		{"es-ES-ElviraNeural", "es-ES", "Spanish", "F"},
		{"es-US-PalomaNeural", "es-US", "SpanishUS", "F"},
		{"es-MX-DaliaNeural", "es-MX", "SpanishMexico", "F"},
		{"fr-FR-DeniseNeural", "fr-FR", "French", "F"},
		{"fr-CA-SylvieNeural", "fr-CA", "FrenchCanada", "F"},
		{"de-DE-KatjaNeural", "de-DE", "German", "F"},
		{"it-IT-ElsaNeural", "it-IT", "Italian", "F"},
		{"pt-BR-FranciscaNeural", "pt-BR", "PortugueseBrazil", "F"},
		{"pt-PT-RaquelNeural", "pt-PT", "Portuguese", "F"},
		{"nl-NL-ColetteNeural", "nl-NL", "Dutch", "F"},
		{"ja-JP-NanamiNeural", "ja-JP", "Japanese", "F"},
		{"zh-CN-XiaoxiaoNeural", "zh-CN", "ChineseMandarin", "F"},
		{"zh-TW-HsiaoChenNeural", "zh-TW", "ChineseTaiwan", "F"},
		{"zh-HK-HiuMaanNeural", "zh-HK", "ChineseCantonese", "F"},
		{"ko-KR-SunHiNeural", "ko-KR", "Korean", "F"},
		{"ar-SA-ZariyahNeural", "ar-SA", "Arabic", "F"},
		{"ar-EG-SalmaNeural", "ar-EG", "ArabicEgypt", "F"},
		{"hi-IN-SwaraNeural", "hi-IN", "Hindi", "F"},
	}
}

// lane is one fault sequence: sends (voice and SMS share one, as the
// tests of the hook expect), feedback, speech profiles.
type lane struct {
	fault Fault
	queue []Fault
}

// Server is the fake. Its zero fault is OK.
type Server struct {
	*httptest.Server
	errorf     func(format string, args ...any) // a request 8x8 would not accept
	RetryAfter int                              // seconds, for TooMany (default 0: header "0")

	mu           sync.Mutex
	lanes        map[Kind]*lane
	requests     []Request
	feedbacks    []FeedbackRequest
	profileReads int
	profiles     []SpeechProfile
	conns        atomic.Int64
	hang         chan struct{}
	gate         *Gate // see Hold
	n            atomic.Int64
	closeOnce    sync.Once

	voiceRouter, smsRouter routers.Router
	Validated              bool // requests are validated against the specs
}

// New starts a fake 8x8 on loopback for a test, closed at its end. A
// request 8x8's specs refuse fails the test. Without the specs (no
// ../shared) the fake says so in the test's log and checks only what the
// client promises (checkSemantics); CI always has them.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", t.Errorf)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Validated {
		t.Logf("8x8 specs not found (set %s): the fake 8x8 does not validate requests against them", sharedtest.EnvVar)
	}
	t.Cleanup(s.Close)
	return s
}

// Listen starts a fake 8x8 on addr, outside tests (oktasim -serve-8x8);
// errorf reports each request 8x8 would not accept. GET /stats answers
// Stats. Close it when done.
func Listen(addr string, errorf func(format string, args ...any)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		errorf:   errorf,
		hang:     make(chan struct{}),
		lanes:    map[Kind]*lane{Voice: {}, Feedback: {}, SpeechProfiles: {}},
		profiles: DefaultSpeechProfiles(),
	}
	s.lanes[SMS] = s.lanes[Voice]
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.Listener.Close()
	s.Server.Listener = ln
	s.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	if dir, ok := sharedtest.Dir(); ok {
		if s.voiceRouter, err = s.router(filepath.Join(dir, "contracts", "8x8", "voice_v1_api.json")); err == nil {
			s.smsRouter, err = s.router(filepath.Join(dir, "contracts", "8x8", "sms_api.json"))
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Validated = true
	}
	return s, nil
}

// Close answers every hung or held request, then stops the fake.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.hang)
		s.mu.Lock()
		g := s.gate
		s.mu.Unlock()
		if g != nil {
			g.Release()
		}
		s.CloseClientConnections()
		s.Server.Close()
	})
}

// specs caches the parsed specs: parsing both costs about half a second
// under the race detector, and every scenario starts a fake. Each fake
// routes a copy naming its own URL; the parsed document is only read.
var specs sync.Map // path → *specLoad

type specLoad struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

func (s *Server) router(path string) (routers.Router, error) {
	v, _ := specs.LoadOrStore(path, &specLoad{})
	l := v.(*specLoad)
	l.once.Do(func() { l.doc, l.err = openapi3.NewLoader().LoadFromFile(path) })
	if l.err != nil {
		return nil, fmt.Errorf("load 8x8 spec %s: %w", path, l.err)
	}
	doc := *l.doc
	doc.Servers = openapi3.Servers{{URL: s.URL}}
	r, err := gorillamux.NewRouter(&doc)
	if err != nil {
		return nil, fmt.Errorf("route 8x8 spec %s: %w", path, err)
	}
	return r, nil
}

// SetFault makes every later send (voice or SMS) answer f.
func (s *Server) SetFault(f Fault) { s.SetFaultFor(Voice, f) }

// Queue makes the next sends (voice or SMS) answer fs, in order, then the
// set fault.
func (s *Server) Queue(fs ...Fault) { s.QueueFor(Voice, fs...) }

// SetFaultFor makes every later request of kind k answer f. Voice and SMS
// share one sequence.
func (s *Server) SetFaultFor(k Kind, f Fault) {
	s.mu.Lock()
	s.lanes[k].fault = f
	s.mu.Unlock()
}

// QueueFor makes the next requests of kind k answer fs, in order, then
// its set fault. Voice and SMS share one sequence.
func (s *Server) QueueFor(k Kind, fs ...Fault) {
	s.mu.Lock()
	l := s.lanes[k]
	l.queue = append(l.queue, fs...)
	s.mu.Unlock()
}

// SetSpeechProfiles sets the list the speech-profiles route serves.
func (s *Server) SetSpeechProfiles(ps []SpeechProfile) {
	s.mu.Lock()
	s.profiles = append([]SpeechProfile(nil), ps...)
	s.mu.Unlock()
}

// Requests returns the sends (voice and SMS) received so far; feedbacks
// and profile reads are in Feedbacks and ProfileReads.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is the number of sends (voice and SMS) received.
func (s *Server) Count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.requests) }

// Feedbacks returns the SMS feedback requests received so far, each with
// the fault it was answered.
func (s *Server) Feedbacks() []FeedbackRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FeedbackRequest(nil), s.feedbacks...)
}

// ProfileReads is the number of speech-profiles reads received.
func (s *Server) ProfileReads() int { s.mu.Lock(); defer s.mu.Unlock(); return s.profileReads }

// Conns is the number of TCP connections accepted.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// VoiceURL and SMSURL are the base URLs to configure the client with.
func (s *Server) VoiceURL() string { return s.URL }
func (s *Server) SMSURL() string   { return s.URL }

func (s *Server) next(k Kind) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lanes[k]
	if len(l.queue) > 0 {
		f := l.queue[0]
		l.queue = l.queue[1:]
		return f
	}
	return l.fault
}

// route is what a request path names.
type route struct {
	kind       Kind
	subaccount string
	umid       string
}

// match reads the route from the escaped path, so an escaped umid is
// recovered whole.
func match(r *http.Request) (route, bool) {
	parts := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	if len(parts) < 5 || parts[0] != "api" || parts[1] != "v1" || parts[2] != "subaccounts" {
		return route{}, false
	}
	sub, _ := url.PathUnescape(parts[3])
	rt := route{subaccount: sub}
	switch rest := parts[4:]; {
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "callflows":
		rt.kind = Voice
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "messages":
		rt.kind = SMS
	case r.Method == http.MethodPost && len(rest) == 3 && rest[0] == "messages" && rest[2] == "feedback":
		rt.kind = Feedback
		rt.umid, _ = url.PathUnescape(rest[1])
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "speech-profiles":
		rt.kind = SpeechProfiles
	default:
		return route{}, false
	}
	return rt, true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.errorf("fake 8x8: reading request: %v", err)
		return
	}
	if r.Method == http.MethodHead { // connection warm-up
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/stats" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
		return
	}
	rt, ok := match(r)
	if !ok {
		s.errorf("fake 8x8: unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if router := s.routerFor(rt.kind); router != nil {
		if err := validate(router, r, body); err != nil {
			s.errorf("fake 8x8: %s request does not validate against 8x8's spec: %v\nbody: %s", rt.kind, err, body)
		}
	}
	if err := checkSemantics(rt.kind, body); err != nil {
		s.errorf("fake 8x8: %s request: %v\nbody: %s", rt.kind, err, body)
	}
	f := s.next(rt.kind)
	rec := Request{Kind: rt.kind, Subaccount: rt.subaccount, Authorization: r.Header.Get("Authorization"), Body: body}
	s.mu.Lock()
	switch rt.kind {
	case Voice, SMS:
		s.requests = append(s.requests, rec)
	case Feedback:
		var fb struct{ Outcome, Timestamp string }
		_ = json.Unmarshal(body, &fb)
		s.feedbacks = append(s.feedbacks, FeedbackRequest{Subaccount: rt.subaccount, UMID: rt.umid, Outcome: fb.Outcome, Timestamp: fb.Timestamp, Answer: f})
	case SpeechProfiles:
		s.profileReads++
	}
	s.mu.Unlock()
	s.hold(rt.kind)
	s.answer(w, r, f, rec)
}

func (s *Server) routerFor(k Kind) routers.Router {
	if k == SMS || k == Feedback {
		return s.smsRouter
	}
	return s.voiceRouter
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

// feedbackLayout is what the client promises for a feedback timestamp:
// RFC 3339 in UTC with milliseconds (the spec only says date-time).
const feedbackLayout = "2006-01-02T15:04:05.000Z"

// checkSemantics adds what the specs cannot say: the callflow is makeCall
// → say → hangup with an E.164 destination; an SMS goes to an E.164
// number, with a real IP in clientIp and track only ever "Outcome"; a
// feedback timestamp is UTC with milliseconds; a profile read has no body.
func checkSemantics(kind Kind, body []byte) error {
	req := Request{Kind: kind, Body: body}
	switch kind {
	case SMS:
		m := req.SMS()
		if !strings.HasPrefix(m.Destination, "+") || m.Text == "" {
			return fmt.Errorf("destination must be E.164 and text non-empty")
		}
		if m.ClientIP != "" {
			if _, err := netip.ParseAddr(m.ClientIP); err != nil {
				return fmt.Errorf("clientIp %q is not an IP address", m.ClientIP)
			}
		}
		if m.Track != "" && m.Track != "Outcome" {
			return fmt.Errorf("track %q: the client sends only \"Outcome\", or nothing", m.Track)
		}
		return nil
	case Feedback:
		var fb struct{ Outcome, Timestamp string }
		if err := json.Unmarshal(body, &fb); err != nil {
			return err
		}
		if fb.Outcome != "success" && fb.Outcome != "failure" {
			return fmt.Errorf("outcome %q is not success or failure", fb.Outcome)
		}
		if fb.Timestamp != "" {
			if _, err := time.Parse(feedbackLayout, fb.Timestamp); err != nil {
				return fmt.Errorf("timestamp %q is not UTC YYYY-MM-DDTHH:MM:SS.SSSZ", fb.Timestamp)
			}
		}
		return nil
	case SpeechProfiles:
		if len(body) != 0 {
			return fmt.Errorf("a GET carries no body")
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

// voiceError and smsError are 8x8's own error bodies: the voice API's
// CallflowErrorResponse, the SMS API's ErrorResponse.
func voiceError(status int, msg string) string {
	return fmt.Sprintf(`{"sessionStatus":"NOT_CREATED","callFlowRequestId":"767ca1b8-3846-11ef-9e95-b903e2ed7273","statusCode":%d,"statusMessage":%q}`, status, msg)
}

func smsError(code int, msg string) string {
	return fmt.Sprintf(`{"code":%d,"message":%q,"errorId":"db9dced4-3534-4d86-9d18-6b448af0d621","timestamp":"2018-07-02T09:42:38.8988997+00:00"}`, code, msg)
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, f Fault, rec Request) {
	kind := rec.Kind
	voiceAPI := kind == Voice || kind == SpeechProfiles
	id := fmt.Sprintf("%08d-376b-11ef-a28b-0582ff0039d5", s.n.Add(1))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	ownError := func(status int, voiceMsg string, smsCode int, smsMsg string) {
		w.WriteHeader(status)
		if voiceAPI {
			_, _ = io.WriteString(w, voiceError(status, voiceMsg))
		} else {
			_, _ = io.WriteString(w, smsError(smsCode, smsMsg))
		}
	}
	switch f {
	case OK:
		switch kind {
		case Voice:
			fmt.Fprintf(w, `{"sessionId":%q,"sessionStatus":"CREATED","callFlowRequestId":"03cc3e8b-376b-11ef-a28b-4dd5d900ecb3","statusCode":1,"statusMessage":"Created"}`, id)
		case SMS:
			fmt.Fprintf(w, `{"umid":%q,"clientMessageId":"x","destination":"12025550275","encoding":"GSM7","status":{"code":"QUEUED","description":"SMS is accepted and queued for processing"}}`, id)
		case Feedback:
			h.Del("Content-Type") // spec: 200, no content
			w.WriteHeader(http.StatusOK)
		case SpeechProfiles:
			s.mu.Lock()
			ps := s.profiles
			s.mu.Unlock()
			type entry struct {
				Code   string `json:"speechProfileCode"`
				Locale string `json:"localeCode"`
				Desc   string `json:"localeDescription"`
				Gender string `json:"gender"`
			}
			out := struct {
				SpeechProfiles []entry `json:"speechProfiles"`
			}{SpeechProfiles: make([]entry, 0, len(ps))}
			for _, p := range ps {
				out.SpeechProfiles = append(out.SpeechProfiles, entry{p.Code, p.Locale, p.Description, p.Gender})
			}
			_ = json.NewEncoder(w).Encode(out)
		}
	case Rejected:
		switch kind {
		case Voice:
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"sessionStatus":"NOT_CREATED","callFlowRequestId":"x","statusCode":-1013,"statusMessage":"Invalid Callflow"}`)
		case SMS:
			fmt.Fprintf(w, `{"umid":%q,"destination":"12025550275","encoding":"GSM7","status":{"code":"REJECTED","description":"Destination is blocked"}}`, id)
		default:
			ownError(http.StatusBadRequest, "Rejected", 1002, "Rejected")
		}
	case BadRequest:
		switch kind {
		case Voice:
			// 8x8's validation messages can quote the request.
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"sessionStatus":"NOT_CREATED","callFlowRequestId":"c6e6dee5-3846-11ef-9e95-b903e2ed7273","statusCode":-1017,"statusMessage":`+
				strconv.Quote("Invalid destination "+rec.Callflow().Callflow[0].Params.Destination)+`}`)
		case SMS:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":1002,"message":"Invalid MSISDN format (not E.164 international number)","errorId":"b4478860-b76c-e811-814e-022a35cc1c71","timestamp":"2018-08-04T09:25:40.9235752+00:00"}`)
		default:
			ownError(http.StatusBadRequest, "Bad request", 1000, "Invalid request")
		}
	case Unauthorized:
		ownError(http.StatusUnauthorized, "Authentication header not found or token invalid", 1200, "Request was not authenticated properly")
	case ServerError:
		ownError(http.StatusInternalServerError, "Internal server error", 2000, "Internal server error")
	case Unavailable:
		ownError(http.StatusServiceUnavailable, "Service unavailable", 2000, "Service temporarily unavailable")
	case TooMany:
		h.Set("Retry-After", strconv.Itoa(s.RetryAfter))
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"code":429,"message":"Quota exceeded. Please try again in 1 second(s).","errorId":"c8a41b47-57bf-ea11-8273-00155d466a31","timestamp":"2020-07-06T07:07:00.30Z"}`)
	case Gateway:
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = io.WriteString(w, `<html><body>504 Gateway Time-out</body></html>`)
	case ProxyUnavailable:
		h.Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "upstream connect error or disconnect/reset before headers. reset reason: connection termination")
	case ForeignJSON:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"statusCode":503,"code":503,"error":"Service Unavailable","status":"UNAVAILABLE"}`)
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
			s.errorf("fake 8x8: cannot hijack")
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
// spec (when found) and the semantics above. kind is Voice, SMS or
// Feedback.
func (s *Server) Validate(kind Kind, body []byte) error {
	var router routers.Router
	var path string
	switch kind {
	case Voice:
		router, path = s.voiceRouter, "/api/v1/subaccounts/acme_otp/callflows"
	case SMS:
		router, path = s.smsRouter, "/api/v1/subaccounts/acme_otp/messages"
	case Feedback:
		router, path = s.smsRouter, "/api/v1/subaccounts/acme_otp/messages/bda3d56d-1424-e711-813c-06ed3428fe67/feedback"
	default:
		return fmt.Errorf("Validate: %s requests carry no body", kind)
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

// Stats is what the fake counted, as GET /stats answers it: a pumping run
// shows whether every SMS got exactly one feedback.
type Stats struct {
	Calls              int            `json:"calls"`
	SMS                int            `json:"sms"`
	Feedback           map[string]int `json:"feedback"` // per outcome
	UMIDsReported      int            `json:"umidsReported"`
	UMIDsReportedTwice int            `json:"umidsReportedTwice"` // or more
}

// Stats counts the sends and feedbacks received so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Feedback: map[string]int{}}
	for _, r := range s.requests {
		if r.Kind == Voice {
			st.Calls++
		} else {
			st.SMS++
		}
	}
	perUMID := map[string]int{}
	for _, fb := range s.feedbacks {
		st.Feedback[fb.Outcome]++
		if perUMID[fb.UMID]++; perUMID[fb.UMID] == 2 {
			st.UMIDsReportedTwice++
		}
	}
	st.UMIDsReported = len(perUMID)
	return st
}

func (st Stats) String() string {
	return fmt.Sprintf("8x8 stand-in: %d calls, %d SMS; feedback %d success, %d failure; %d umids reported, %d of them more than once",
		st.Calls, st.SMS, st.Feedback["success"], st.Feedback["failure"], st.UMIDsReported, st.UMIDsReportedTwice)
}
