package eightbyeighttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// The fake must be able to refuse: these bodies break 8x8's specs or what
// the client promises.
func TestValidateRefusesBadRequests(t *testing.T) {
	sharedtest.Require(t)
	s := New(t)
	good := `{"callflow":[{"action":"makeCall","params":{"source":"+14155550100","destination":"+33612345678"}},{"action":"say","params":{"text":"1. 2. 3.","voiceProfile":"en-US-Jenny","repetition":2}},{"action":"hangup"}]}`
	tests := []struct {
		name string
		kind Kind
		body string
		ok   bool
	}{
		{"valid callflow", Voice, good, true},
		{"say without voiceProfile", Voice, `{"callflow":[{"action":"makeCall","params":{"source":"+1","destination":"+33612345678"}},{"action":"say","params":{"text":"x","repetition":1}},{"action":"hangup"}]}`, false},
		{"speed as a fraction (spec says integer)", Voice, `{"callflow":[{"action":"makeCall","params":{"source":"+1","destination":"+33612345678"}},{"action":"say","params":{"text":"x","voiceProfile":"en-US-Jenny","repetition":1,"speed":1.5}},{"action":"hangup"}]}`, false},
		{"makeCall without source", Voice, `{"callflow":[{"action":"makeCall","params":{"destination":"+33612345678"}},{"action":"say","params":{"text":"x","voiceProfile":"v","repetition":1}},{"action":"hangup"}]}`, false},
		{"no hangup", Voice, `{"callflow":[{"action":"makeCall","params":{"source":"+1","destination":"+33612345678"}},{"action":"say","params":{"text":"x","voiceProfile":"v","repetition":1}}]}`, false},
		{"valid sms", SMS, `{"destination":"+14155550123","text":"Your code is 1","source":"Acme","clientMessageId":"e1","encoding":"AUTO"}`, true},
		{"valid tracked sms with the user's IP", SMS, `{"destination":"+14155550123","text":"x","encoding":"AUTO","clientIp":"2001:db8::1","track":"Outcome"}`, true},
		{"sms source over 16 characters", SMS, `{"destination":"+14155550123","text":"x","source":"AcmeCorporationOTP"}`, false},
		{"sms destination not a number", SMS, `{"destination":"+1-415-555","text":"x"}`, false},
		{"sms bad encoding", SMS, `{"destination":"+14155550123","text":"x","encoding":"UTF8"}`, false},
		{"sms track not in the spec's enum", SMS, `{"destination":"+14155550123","text":"x","track":"outcome"}`, false},
		{"sms track None: the client never sends it", SMS, `{"destination":"+14155550123","text":"x","track":"None"}`, false},
		{"sms clientIp not an IP", SMS, `{"destination":"+14155550123","text":"x","clientIp":"203.0.113"}`, false},
		{"valid feedback", Feedback, `{"outcome":"success","timestamp":"2026-03-14T10:07:11.902Z"}`, true},
		{"feedback without timestamp", Feedback, `{"outcome":"failure"}`, true},
		{"feedback without outcome", Feedback, `{"timestamp":"2026-03-14T10:07:11.902Z"}`, false},
		{"feedback outcome not in the enum", Feedback, `{"outcome":"verified"}`, false},
		{"feedback timestamp not UTC", Feedback, `{"outcome":"success","timestamp":"2026-03-14T11:07:11.902+01:00"}`, false},
		{"feedback timestamp without milliseconds", Feedback, `{"outcome":"success","timestamp":"2026-03-14T10:07:11Z"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate(tt.kind, []byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// The fake's answers are 8x8's: each one the spec describes validates
// against the spec's response for that status, and the proxies' answers
// are not 8x8's error shape.
func TestAnswersMatchTheSpecs(t *testing.T) {
	sharedtest.Require(t)
	requests := []struct {
		kind         Kind
		method, path string
		body         string
	}{
		{Voice, http.MethodPost, "/api/v1/subaccounts/acme_otp/callflows",
			`{"callflow":[{"action":"makeCall","params":{"source":"+14155550100","destination":"+33612345678"}},{"action":"say","params":{"text":"1. 2.","voiceProfile":"en-US-Jenny","repetition":1}},{"action":"hangup"}]}`},
		{SMS, http.MethodPost, "/api/v1/subaccounts/acme_otp/messages", `{"destination":"+14155550123","text":"x","encoding":"AUTO"}`},
		{Feedback, http.MethodPost, "/api/v1/subaccounts/acme_otp/messages/bda3d56d/feedback", `{"outcome":"success"}`},
		{SpeechProfiles, http.MethodGet, "/api/v1/subaccounts/acme_otp/speech-profiles", ""},
	}
	s := New(t) // one fake: loading the specs is most of a test's time
	for _, rq := range requests {
		for _, f := range []Fault{OK, BadRequest, Unauthorized, ServerError, TooMany, Unavailable, ProxyUnavailable, ForeignJSON} {
			t.Run(string(rq.kind)+"/"+f.String(), func(t *testing.T) {
				s.SetFaultFor(rq.kind, f)
				var body io.Reader
				if rq.body != "" {
					body = strings.NewReader(rq.body)
				}
				req, err := http.NewRequest(rq.method, s.URL+rq.path, body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer k")
				if rq.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()

				route, params, err := s.routerFor(rq.kind).FindRoute(req)
				if err != nil {
					t.Fatal(err)
				}
				if route.Operation.Responses.Status(resp.StatusCode) == nil {
					// The spec says nothing about this status (a proxy's
					// 503, a 429 on voice): check the shape instead.
					own := strings.Contains(string(got), `"sessionStatus":"NOT_CREATED"`) || strings.Contains(string(got), `"errorId"`)
					if wantOwn := f != ProxyUnavailable && f != ForeignJSON; own != wantOwn {
						t.Errorf("HTTP %d %s: 8x8's own error shape = %v, want %v", resp.StatusCode, got, own, wantOwn)
					}
					return
				}
				in := &openapi3filter.ResponseValidationInput{
					RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
					Status:                 resp.StatusCode,
					Header:                 resp.Header,
					Body:                   io.NopCloser(bytes.NewReader(got)),
					Options:                &openapi3filter.Options{IncludeResponseStatus: true},
				}
				if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
					t.Errorf("HTTP %d %s does not match 8x8's spec: %v", resp.StatusCode, got, err)
				}
			})
		}
	}
}

// Outside a test (oktasim -serve-8x8) the fake counts each SMS's feedback
// per umid, and GET /stats says how many umids were reported more than
// once; a held send waits for Release, taken and counted.
func TestListenStats(t *testing.T) {
	var refused []string
	s, err := Listen("127.0.0.1:0", func(f string, a ...any) { refused = append(refused, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	post := func(path, body string) error {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/subaccounts/acme_otp"+path, strings.NewReader(body))
		req.Header = http.Header{"Authorization": {"Bearer k"}, "Content-Type": {"application/json"}}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	const sms = `{"destination":"+14155550123","text":"x","encoding":"AUTO"}`
	gate := s.Hold()
	held := make(chan error, 1)
	go func() { held <- post("/messages", sms) }()
	<-gate.Arrived
	if n := s.Count(); n != 1 {
		t.Errorf("a held send counted %d times, want 1", n)
	}
	gate.Release()
	errs := []error{<-held, post("/messages", sms)}
	for _, fb := range [][2]string{{"u1", "success"}, {"u2", "failure"}, {"u1", "success"}} {
		errs = append(errs, post("/messages/"+fb[0]+"/feedback", `{"outcome":"`+fb[1]+`"}`))
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	want := Stats{SMS: 2, Feedback: map[string]int{"success": 2, "failure": 1}, UMIDsReported: 2, UMIDsReportedTwice: 1}
	if fmt.Sprint(st) != fmt.Sprint(want) || len(refused) != 0 {
		t.Errorf("stats %v, want %v; refused %q", st, want, refused)
	}
}
