package hook_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

func TestAuthentication(t *testing.T) {
	body := sms("+14155550123", "482913").Body()
	for _, tt := range []struct {
		name   string
		edit   func(*setup)
		header http.Header
		want   int
	}{
		{"right secret", nil, http.Header{"Authorization": {oktatest.Secret}}, 200},
		{"missing header", nil, http.Header{}, 401},
		{"wrong secret", nil, http.Header{"Authorization": {"nope"}}, 401},
		{"secret with a suffix", nil, http.Header{"Authorization": {oktatest.Secret + "x"}}, 401},
		{"secret prefix only", nil, http.Header{"Authorization": {oktatest.Secret[:10]}}, 401},
		{"header twice", nil, http.Header{"Authorization": {oktatest.Secret, oktatest.Secret}}, 401},
		{"custom header name", func(s *setup) { s.header = "x-telephony-key" }, http.Header{"X-Telephony-Key": {oktatest.Secret}}, 200},
		{"custom header name, secret in Authorization", func(s *setup) { s.header = "x-telephony-key" }, http.Header{"Authorization": {oktatest.Secret}}, 401},
		{"Basic scheme as the secret", func(s *setup) { s.secret = "Basic YWRtaW46c3VwZXJzZWNyZXQ=" }, http.Header{"Authorization": {"Basic YWRtaW46c3VwZXJzZWNyZXQ="}}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.edit)
			tt.header.Set("Content-Type", "application/json")
			resp := h.do(http.MethodPost, "/", body, tt.header)
			if resp.Code != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", resp.Code, tt.want, resp.Body)
			}
			if tt.want == 401 {
				if resp.Body.String() != `{"error":{"errorSummary":"unauthorized"}}` {
					t.Errorf("body = %s", resp.Body)
				}
				if h.fake.Count() != 0 {
					t.Errorf("8x8 called for an unauthenticated request")
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	big := append([]byte(`{"eventId":"e","pad":"`), bytes.Repeat([]byte("a"), 70<<10)...)
	big = append(big, `"}`...)
	for _, tt := range []struct {
		name     string
		method   string
		path     string
		ct       string
		body     string
		want     int
		location string // errorCauses[0].location for 400s
	}{
		{"not JSON", "POST", "/", "application/json", `{"eventId":`, 400, "body"},
		{"JSON array", "POST", "/", "application/json", `[]`, 400, "body"},
		{"no messageProfile", "POST", "/", "application/json", `{"eventId":"e1","data":{}}`, 400, "data.messageProfile"},
		{"no phone", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"otpCode":"482913","deliveryChannel":"SMS"}}}`, 400, "data.messageProfile.phoneNumber"},
		{"no OTP", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"phoneNumber":"+14155550123","deliveryChannel":"SMS"}}}`, 400, "data.messageProfile.otpCode"},
		{"no channel", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913"}}}`, 400, "data.messageProfile.deliveryChannel"},
		{"no eventId", "POST", "/", "application/json", `{"data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913","deliveryChannel":"SMS"}}}`, 400, "eventId"},
		{"phone as a bool", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"phoneNumber":true,"otpCode":"482913","deliveryChannel":"SMS"}}}`, 400, "data.messageProfile.phoneNumber"},
		{"OTP as a fraction", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":4829.13,"deliveryChannel":"SMS"}}}`, 400, "data.messageProfile.otpCode"},
		{"bad otpExpires", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913","deliveryChannel":"SMS","otpExpires":"tomorrow"}}}`, 400, "data.messageProfile.otpExpires"},
		{"form content type", "POST", "/", "application/x-www-form-urlencoded", `a=b`, 400, "Content-Type"},
		{"over 64 KiB", "POST", "/", "application/json", string(big), 413, ""},
		{"PUT /", "PUT", "/", "", "", 405, ""},
		{"DELETE /healthz", "DELETE", "/healthz", "", "", 405, ""},
		{"unknown path", "POST", "/admin", "application/json", `{}`, 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			hdr := http.Header{"Authorization": {oktatest.Secret}}
			if tt.ct != "" {
				hdr.Set("Content-Type", tt.ct)
			}
			resp := h.do(tt.method, tt.path, []byte(tt.body), hdr)
			if resp.Code != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", resp.Code, tt.want, resp.Body)
			}
			if h.fake.Count() != 0 {
				t.Errorf("8x8 called for bad input")
			}
			if tt.want == 400 {
				a := oktatest.Decode(t, resp)
				if a.Error == nil || len(a.Error.ErrorCauses) == 0 || a.Error.ErrorCauses[0].Location != tt.location {
					t.Fatalf("error does not name %s: %s", tt.location, resp.Body)
				}
				where := map[bool]string{false: "body", true: "header"}[tt.location == "Content-Type"]
				if got := a.Error.ErrorCauses[0].LocationType; got != where {
					t.Errorf("locationType %q, want %q: %s", got, where, resp.Body)
				}
			}
			if tt.want == 413 {
				oktatest.Check(t, resp.Body.Bytes())
			}
		})
	}
}

// A body that is not what its headers say: longer than the limit with no
// Content-Length (chunked), or cut off by the client. Each gets its
// answer, in Okta's error shape, and nothing is sent.
func TestBodyNotAsAnnounced(t *testing.T) {
	big := append([]byte(`{"eventId":"e","pad":"`), bytes.Repeat([]byte("a"), 70<<10)...)
	for _, tt := range []struct {
		name string
		body io.Reader
		want int
	}{
		{"over 64 KiB, no Content-Length", bytes.NewReader(big), http.StatusRequestEntityTooLarge},
		{"the connection drops mid-body", io.MultiReader(strings.NewReader(`{"eventId":"e1","data":`), iotest.ErrReader(io.ErrUnexpectedEOF)), http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			r := httptest.NewRequest(http.MethodPost, "/", tt.body)
			r.ContentLength = -1 // unknown, as with Transfer-Encoding: chunked
			r.Header = oktatest.Headers()
			w := httptest.NewRecorder()
			h.srv.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want == http.StatusBadRequest {
				if a := oktatest.Decode(t, w); a.Error == nil || a.Error.ErrorCauses[0].Location != "body" {
					t.Errorf("error does not name the body: %s", w.Body)
				}
			} else {
				oktatest.Check(t, w.Body.Bytes())
			}
			if h.fake.Count() != 0 {
				t.Errorf("8x8 called for a body that was not read whole")
			}
		})
	}
}
