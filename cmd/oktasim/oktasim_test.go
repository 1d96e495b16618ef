package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// captured is one request the fake hook received.
type captured struct {
	header http.Header
	body   map[string]any
	raw    []byte
}

// fakeHook plays the telephony hook: it records each request and answers
// with answer.
type fakeHook struct {
	url  string
	mu   sync.Mutex
	reqs []captured
}

func (f *fakeHook) requests() []captured {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func startHook(t *testing.T, answer http.HandlerFunc) *fakeHook {
	t.Helper()
	f := &fakeHook{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.reqs = append(f.reqs, captured{header: r.Header.Clone(), body: body, raw: raw})
		f.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/"
	return f
}

func answerJSON(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func statusAnswer(status string) string {
	return `{"commands":[{"type":"com.okta.telephony.action","value":[{"status":"` + status +
		`","provider":"8x8","transactionId":"5b7c0e2a-1f3d-11f1-9a7e-3b1d2c4e5f60","transactionMetadata":"voice"}]}]}`
}

var fixedNow = time.Date(2026, 3, 14, 9, 26, 53, 417_000_000, time.UTC)

func testEnv(vars map[string]string) env {
	return env{
		getenv: func(k string) string { return vars[k] },
		now:    func() time.Time { return fixedNow },
	}
}

func runTest(t *testing.T, e env, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runWith(context.Background(), args, e, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestClassificationAndExitCode(t *testing.T) {
	// blocked answers only once the client gave up or the test ended:
	// the "slow" hook never answers within -timeout.
	release := make(chan struct{})
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}

	tests := []struct {
		name      string
		answer    http.HandlerFunc
		args      []string
		wantOut   []string
		wantValid bool
	}{
		{
			name:      "SUCCESSFUL",
			answer:    answerJSON(200, statusAnswer("SUCCESSFUL")),
			wantOut:   []string{"HTTP 200 OK", `"status": "SUCCESSFUL"`, "Okta: delivered by the hook (SUCCESSFUL)", "latency: "},
			wantValid: true,
		},
		{
			name:      "PENDING",
			answer:    answerJSON(200, statusAnswer("PENDING")),
			wantOut:   []string{"Okta: hook could not confirm delivery; Okta waits, no second code (PENDING)"},
			wantValid: true,
		},
		{
			name:      "FAILED",
			answer:    answerJSON(200, statusAnswer("FAILED")),
			wantOut:   []string{"Okta: Okta falls back to its own provider (FAILED)"},
			wantValid: true,
		},
		{
			name:      "error object",
			answer:    answerJSON(200, `{"error":{"errorSummary":"Too many codes were sent to this phone. Try again later.","errorCauses":[{"errorSummary":"rate limited"}]}}`),
			wantOut:   []string{"Okta: Okta shows the user: Too many codes were sent to this phone. Try again later. and falls back"},
			wantValid: true,
		},
		{
			name:    "HTTP 503",
			answer:  answerJSON(503, `{"error":{"errorSummary":"not ready"}}`),
			wantOut: []string{"HTTP 503 Service Unavailable", "Okta: Okta skips the hook and falls back (HTTP 503)"},
		},
		{
			name:    "HTTP 401 with an error object is still skipped",
			answer:  answerJSON(401, `{"error":{"errorSummary":"unauthorized"}}`),
			wantOut: []string{"falls back (HTTP 401)"},
		},
		{
			name:    "malformed: invalid status and value not an array (public ACS sample)",
			answer:  answerJSON(200, `{"commands":[{"type":"com.okta.telephony.action","value":{"status":"SUCCESS"}}]}`),
			wantOut: []string{"Okta skips the hook and falls back (malformed: commands[0].value is not a non-empty array of objects)"},
		},
		{
			name:    "malformed: not JSON",
			answer:  answerJSON(200, `<html>oops</html>`),
			wantOut: []string{"<html>oops</html>", "(malformed: not a JSON object)"},
		},
		{
			name:    "timeout",
			answer:  slow,
			args:    []string{"-timeout", "100ms"},
			wantOut: []string{"no answer:", "Okta skips the hook and falls back (timeout: no answer within 100ms)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hook := startHook(t, tc.answer)
			args := append([]string{"-url", hook.url, "-secret", "s"}, tc.args...)
			out, _, err := runTest(t, testEnv(nil), args...)
			if tc.wantValid && err != nil {
				t.Errorf("run = %v, want success", err)
			}
			if !tc.wantValid && !errors.Is(err, errInvalid) {
				t.Errorf("run = %v, want errInvalid", err)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "+14155550123") || strings.Contains(out, "4155550123") {
				t.Errorf("output shows the full phone number:\n%s", out)
			}
			if otp := otpOf(hook.requests()); otp != "" && strings.Contains(out, otp) {
				t.Errorf("output shows the OTP:\n%s", out)
			}
		})
	}
	close(release)
}

func otpOf(reqs []captured) string {
	if len(reqs) == 0 {
		return ""
	}
	s, _ := messageProfile0(reqs[0])["otpCode"].(string)
	return s
}

func messageProfile0(c captured) map[string]any {
	data, _ := c.body["data"].(map[string]any)
	mp, _ := data["messageProfile"].(map[string]any)
	return mp
}

func TestClassifyBody(t *testing.T) {
	tests := []struct {
		body string
		want kind
	}{
		{statusAnswer("SUCCESSFUL"), kindSuccessful},
		{`{"commands":[{"type":"com.okta.telephony.action","value":[{"status":"SUCCESSFUL"}]}]}`, kindSuccessful},
		{statusAnswer("PENDING"), kindPending},
		{statusAnswer("FAILED"), kindFailed},
		{statusAnswer("successful"), kindMalformed},
		{statusAnswer("SUCCESS"), kindMalformed},
		{`{"error":{"errorSummary":"Unable to deliver OTP via provider"}}`, kindError},
		// Okta's OpenAPI failure example, error as an array.
		{`{"error":[{"errorSummary":"Failed"},{"errorCauses":{"errorSummary":"x"}}]}`, kindMalformed},
		{`{"error":{"errorCauses":[]}}`, kindMalformed},
		{`{"error":{"errorSummary":""}}`, kindMalformed},
		{`{"Commands":[{"type":"com.okta.telephony.action","value":[{"status":"SUCCESSFUL"}]}]}`, kindMalformed},
		{`{"commands":[{"type":"com.okta.action.update","value":[{"status":"SUCCESSFUL"}]}]}`, kindMalformed},
		{`{"commands":[]}`, kindMalformed},
		{`{"commands":[{"type":"com.okta.telephony.action","value":[]}]}`, kindMalformed},
		{`{"commands":[{"type":"com.okta.telephony.action","value":[{"status":1}]}]}`, kindMalformed},
		{`{}`, kindMalformed},
		{`null`, kindMalformed},
		{`[]`, kindMalformed},
		{``, kindMalformed},
	}
	for _, tc := range tests {
		if got := classifyBody([]byte(tc.body)); got.kind != tc.want {
			t.Errorf("classifyBody(%s) = %v (%s), want %v", tc.body, got.kind, got.detail, tc.want)
		}
	}
}

func TestAuthentication(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantHeader map[string]string // "" means absent
		wantUsage  bool
		wantStderr string
	}{
		{
			name:       "secret in the Authorization header",
			args:       []string{"-secret", "s3cr3t"},
			wantHeader: map[string]string{"Authorization": "s3cr3t"},
		},
		{
			name:       "secret from OKTA_SECRET",
			env:        map[string]string{"OKTA_SECRET": "from-env"},
			wantHeader: map[string]string{"Authorization": "from-env"},
		},
		{
			name:       "-secret beats OKTA_SECRET",
			env:        map[string]string{"OKTA_SECRET": "from-env"},
			args:       []string{"-secret", "from-flag"},
			wantHeader: map[string]string{"Authorization": "from-flag"},
		},
		{
			name:       "custom header name",
			args:       []string{"-header", "x-telephony-key", "-secret", "k3y"},
			wantHeader: map[string]string{"X-Telephony-Key": "k3y", "Authorization": ""},
		},
		{
			name:       "bearer token; OKTA_SECRET is not used with it",
			env:        map[string]string{"OKTA_SECRET": "from-env"},
			args:       []string{"-token", "eyJhbGciOiJSUzI1NiJ9.e30.sig"},
			wantHeader: map[string]string{"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig"},
		},
		{
			name:       "bearer token and a secret in a custom header",
			args:       []string{"-token", "tok", "-header", "x-telephony-key", "-secret", "k3y"},
			wantHeader: map[string]string{"Authorization": "Bearer tok", "X-Telephony-Key": "k3y"},
		},
		{
			name:      "bearer token and a secret cannot share Authorization",
			args:      []string{"-token", "tok", "-secret", "k3y"},
			wantUsage: true,
		},
		{
			name:       "no credentials: sent without, and said so",
			wantHeader: map[string]string{"Authorization": ""},
			wantStderr: "sending no credentials",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hook := startHook(t, answerJSON(200, statusAnswer("SUCCESSFUL")))
			_, stderr, err := runTest(t, testEnv(tc.env), append([]string{"-url", hook.url}, tc.args...)...)
			if tc.wantUsage {
				if !errors.Is(err, errUsage) || len(hook.requests()) != 0 {
					t.Fatalf("run = %v with %d requests sent, want a usage error and none", err, len(hook.requests()))
				}
				return
			}
			if err != nil {
				t.Fatalf("run = %v", err)
			}
			reqs := hook.requests()
			if len(reqs) != 1 {
				t.Fatalf("hook got %d requests, want 1", len(reqs))
			}
			for name, want := range tc.wantHeader {
				if got := reqs[0].header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.wantStderr)
			}
		})
	}
}

// keyPaths lists the dotted paths of every leaf of v, and fails on a leaf
// that is not a string: Okta's sample has only strings.
func keyPaths(t *testing.T, prefix string, v any, out *[]string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			keyPaths(t, prefix+"."+k, c, out)
		}
	case string:
		*out = append(*out, prefix)
	default:
		t.Errorf("%s is %T, want a string", prefix, v)
	}
}

func TestRequestBody(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "okta-request-mfa-verification-sms.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sample map[string]any
	if err := json.Unmarshal(raw, &sample); err != nil {
		t.Fatal(err)
	}
	var samplePaths []string
	keyPaths(t, "", sample, &samplePaths)
	sort.Strings(samplePaths)
	withoutTemplate := slices.DeleteFunc(slices.Clone(samplePaths), func(p string) bool { return p == ".data.messageProfile.msgTemplate" })

	eventID := regexp.MustCompile(`^[0-9A-Za-z]{22}$`)
	tests := []struct {
		name      string
		args      []string
		wantPaths []string
		want      map[string]string // dotted path → value
	}{
		{
			name:      "SMS MFA verification, defaults",
			wantPaths: samplePaths,
			want: map[string]string{
				".eventType":                           "com.okta.telephony.provider",
				".eventTypeVersion":                    "1.0",
				".contentType":                         "application/json",
				".cloudEventVersion":                   "0.1",
				".requestType":                         "com.okta.user.telephony.mfa-verification",
				".eventTime":                           "2026-03-14T09:26:53.000Z",
				".data.context.request.url.value":      "/idp/idx/challenge",
				".data.context.request.method":         "POST",
				".data.messageProfile.phoneNumber":     "+14155550123",
				".data.messageProfile.otpExpires":      "2026-03-14T09:31:53.417Z",
				".data.messageProfile.deliveryChannel": "SMS",
				".data.messageProfile.locale":          "en-US",
			},
		},
		{
			name:      "voice, full request type, chosen OTP, phone and locale",
			args:      []string{"-channel", "voice", "-request-type", "com.okta.user.telephony.password-reset", "-otp", "482913", "-phone", "14155550199", "-locale", "fr-FR"},
			wantPaths: withoutTemplate,
			want: map[string]string{
				".requestType":                         "com.okta.user.telephony.password-reset",
				".data.messageProfile.deliveryChannel": "Voice",
				".data.messageProfile.otpCode":         "482913",
				".data.messageProfile.phoneNumber":     "14155550199",
				".data.messageProfile.locale":          "fr-FR",
			},
		},
		{
			name:      "SMS template carries the chosen OTP",
			args:      []string{"-otp", "11111"},
			wantPaths: samplePaths,
			want: map[string]string{
				".data.messageProfile.msgTemplate": "Your verification code is 11111",
				".data.messageProfile.otpCode":     "11111",
			},
		},
		{
			name:      "preview",
			args:      []string{"-preview", "-request-type", "pre-enrollment"},
			wantPaths: samplePaths,
			want: map[string]string{
				".data.context.request.url.value": "/api/internal/v1/inlineHooks/com.okta.telephony.provider/generatePreview",
				".requestType":                    "com.okta.user.telephony.pre-enrollment",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hook := startHook(t, answerJSON(200, statusAnswer("SUCCESSFUL")))
			args := append([]string{"-url", hook.url, "-secret", "s"}, tc.args...)
			// Twice, to see a fresh eventId each time.
			for range 2 {
				if _, _, err := runTest(t, testEnv(nil), args...); err != nil {
					t.Fatalf("run = %v", err)
				}
			}
			reqs := hook.requests()
			if len(reqs) != 2 {
				t.Fatalf("hook got %d requests, want 2", len(reqs))
			}
			var paths []string
			keyPaths(t, "", reqs[0].body, &paths)
			sort.Strings(paths)
			if !slices.Equal(paths, tc.wantPaths) {
				t.Errorf("body keys =\n%v\nwant Okta's\n%v", paths, tc.wantPaths)
			}
			for path, want := range tc.want {
				if got := lookup(reqs[0].body, path); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
			id0, id1 := lookup(reqs[0].body, ".eventId"), lookup(reqs[1].body, ".eventId")
			if !eventID.MatchString(id0) || !eventID.MatchString(id1) || id0 == id1 {
				t.Errorf("eventIds %q, %q: want two different 22-character base62 ids", id0, id1)
			}
			mp := messageProfile0(reqs[0])
			otp, _ := mp["otpCode"].(string)
			if !regexp.MustCompile(`^[0-9]{5,}$`).MatchString(otp) {
				t.Errorf("otpCode = %q, want digits", otp)
			}
			if tmpl, ok := mp["msgTemplate"].(string); ok && !strings.Contains(tmpl, otp) {
				t.Errorf("msgTemplate %q lacks the OTP", tmpl)
			}
		})
	}
}

func TestOTPExpiresFiveMinutesAheadOfTheRealClock(t *testing.T) {
	hook := startHook(t, answerJSON(200, statusAnswer("SUCCESSFUL")))
	before := time.Now()
	if err := run(context.Background(), []string{"-url", hook.url, "-secret", "s"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("run = %v", err)
	}
	after := time.Now()
	exp, err := time.Parse(okTimeLayout, lookup(hook.requests()[0].body, ".data.messageProfile.otpExpires"))
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := before.Add(5*time.Minute).Truncate(time.Millisecond), after.Add(5*time.Minute)
	if exp.Before(lo) || exp.After(hi) {
		t.Errorf("otpExpires = %v, want between %v and %v", exp, lo, hi)
	}
}

func lookup(v any, path string) string {
	for _, k := range strings.Split(strings.TrimPrefix(path, "."), ".") {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

func TestJSONPrintsOnlyTheAnswer(t *testing.T) {
	answer := statusAnswer("PENDING")
	hook := startHook(t, answerJSON(200, answer))
	out, _, err := runTest(t, testEnv(nil), "-url", hook.url, "-secret", "s", "-json")
	if err != nil {
		t.Fatalf("run = %v", err)
	}
	if out != answer {
		t.Errorf("stdout = %q, want exactly the answer %q", out, answer)
	}
}

func TestLoad(t *testing.T) {
	var served atomic.Int64
	every5th503 := func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%5 == 0 {
			answerJSON(503, "")(w, r)
			return
		}
		answerJSON(200, statusAnswer("SUCCESSFUL"))(w, r)
	}
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		args       []string
		wantPhones int
		wantOut    []string
		wantValid  bool
	}{
		{
			name:       "50 requests, 8 at a time, all SUCCESSFUL",
			answer:     answerJSON(200, statusAnswer("SUCCESSFUL")),
			args:       []string{"-n", "50", "-c", "8"},
			wantPhones: 50,
			wantOut: []string{
				"requests:    50 (concurrency 8, 50 phone numbers)", "requests/s", "p50 ", "p90 ", "p99 ", "max ",
				"SUCCESSFUL       50", "PENDING          0", "error object     0", "timeout          0",
			},
			wantValid: true,
		},
		{
			name:       "3 phone numbers shared by 50 requests",
			answer:     answerJSON(200, statusAnswer("PENDING")),
			args:       []string{"-n", "50", "-c", "8", "-phones", "3", "-channel", "voice"},
			wantPhones: 3,
			wantOut:    []string{"(concurrency 8, 3 phone numbers)", "PENDING          50"},
			wantValid:  true,
		},
		{
			name:       "error objects are counted with their summaries",
			answer:     answerJSON(200, `{"error":{"errorSummary":"Codes cannot be sent to this country."}}`),
			args:       []string{"-n", "50", "-c", "8"},
			wantPhones: 50,
			wantOut:    []string{"error object     50", "    50× Codes cannot be sent to this country."},
			wantValid:  true,
		},
		{
			name:       "some 503s make the run fail and are counted by code",
			answer:     every5th503,
			args:       []string{"-n", "50", "-c", "8"},
			wantPhones: 50,
			wantOut:    []string{"SUCCESSFUL       40", "HTTP 503         10"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			served.Store(0)
			hook := startHook(t, tc.answer)
			out, stderr, err := runTest(t, testEnv(nil), append([]string{"-url", hook.url, "-secret", "s"}, tc.args...)...)
			if tc.wantValid && err != nil {
				t.Errorf("run = %v, want success", err)
			}
			if !tc.wantValid && !errors.Is(err, errInvalid) {
				t.Errorf("run = %v, want errInvalid", err)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(stderr, "\r50/50 sent") {
				t.Errorf("no final progress line on stderr: %q", stderr)
			}
			reqs := hook.requests()
			if len(reqs) != 50 {
				t.Fatalf("hook got %d requests, want 50", len(reqs))
			}
			ids, phones, users := map[string]bool{}, map[string]bool{}, map[string]bool{}
			for _, r := range reqs {
				ids[lookup(r.body, ".eventId")] = true
				p := lookup(r.body, ".data.messageProfile.phoneNumber")
				if !regexp.MustCompile(`^\+141555501[0-9]{2}$`).MatchString(p) && !regexp.MustCompile(`^\+1415555012[0-9]$`).MatchString(p) {
					t.Errorf("derived phone %q does not keep the base number's prefix", p)
				}
				phones[p] = true
				users[lookup(r.body, ".data.userProfile.userId")] = true
			}
			if len(ids) != 50 {
				t.Errorf("%d distinct eventIds, want 50", len(ids))
			}
			if len(phones) != tc.wantPhones || len(users) != tc.wantPhones {
				t.Errorf("%d distinct phones and %d users, want %d", len(phones), len(users), tc.wantPhones)
			}
		})
	}
}

func TestDerivePhone(t *testing.T) {
	tests := []struct {
		base    string
		k, n    int
		want    string
		wantErr bool
	}{
		{"+14155550123", 0, 10000, "+14155550123", false},
		{"+14155550123", 9876, 10000, "+14155559999", false},
		{"+14155550123", 9877, 10000, "+14155550000", false},
		{"+14155550123", 7, 50, "+14155550130", false},
		{"+14155550123", 80, 100, "+14155550103", false},
		{"14155550123", 1, 2, "14155550124", false},
		{"+123", 1, 100, "", true},
	}
	for _, tc := range tests {
		got, err := derivePhone(tc.base, tc.k, tc.n)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("derivePhone(%q, %d, %d) = %q, %v; want %q (error %v)", tc.base, tc.k, tc.n, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{"-channel", "fax"},
		{"-url", "ftp://example.com/"},
		{"-url", "localhost:8080"},
		{"-n", "0"},
		{"-c", "0"},
		{"-timeout", "0s"},
		{"-json", "-n", "2"},
		{"-request-type", ""},
		{"-phone", "+123", "-n", "200"},
		{"-nosuchflag"},
		{"extra"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			hook := startHook(t, answerJSON(200, statusAnswer("SUCCESSFUL")))
			_, stderr, err := runTest(t, testEnv(nil), append([]string{"-url", hook.url}, args...)...)
			if !errors.Is(err, errUsage) {
				t.Errorf("run = %v, want a usage error", err)
			}
			if stderr == "" {
				t.Error("nothing said on stderr")
			}
			if n := len(hook.requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	srv := httptest.NewServer(answerJSON(200, statusAnswer("SUCCESSFUL")))
	defer srv.Close()
	for b.Loop() {
		err := runWith(context.Background(), []string{"-url", srv.URL, "-secret", "s", "-n", "200", "-c", "8"},
			testEnv(nil), io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(200*b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkLoadWithEvents is BenchmarkLoad playing the event hook too: every
// code verified, its event built, batched and posted.
func BenchmarkLoadWithEvents(b *testing.B) {
	mux := http.NewServeMux()
	mux.Handle("POST /{$}", answerJSON(200, statusAnswer("SUCCESSFUL")))
	mux.HandleFunc("POST /okta/events", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for b.Loop() {
		err := runWith(context.Background(), []string{"-url", srv.URL + "/", "-secret", "s", "-n", "200", "-c", "8",
			"-verify-rate", "*=1", "-event-secret", "e"}, testEnv(nil), io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(200*b.N)/b.Elapsed().Seconds(), "req/s")
}
