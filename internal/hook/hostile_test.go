package hook_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

// An eventId that decoding would repair (invalid UTF-8, a lone surrogate)
// is refused naming the field: repaired, two different ids would share one
// key and the second code would never be sent.
func TestEventIDThatDecodingWouldRepair(t *testing.T) {
	h := newHarness(t)
	for _, id := range []string{"ev\xffA", "ev\xfeA", `ev\ud800A`, `ev\udbffA`} {
		body := `{"eventId":"` + id + `","data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913","deliveryChannel":"SMS"}}}`
		resp := h.hook([]byte(body))
		a := oktatest.Decode(t, resp)
		if resp.Code != http.StatusBadRequest || a.Error == nil || a.Error.ErrorCauses[0].Location != "eventId" {
			t.Errorf("eventId %q: HTTP %d %s, want 400 naming eventId", id, resp.Code, resp.Body)
		}
	}
	if h.fake.Count() != 0 {
		t.Errorf("8x8 received %d requests", h.fake.Count())
	}
}

// Duplicate keys, also across case: the last one wins (encoding/json), and
// the number screened is the number 8x8 receives.
func TestDuplicateKeysScreenWhatIsSent(t *testing.T) {
	for _, tt := range []struct {
		name, profile, want string
		sent                bool
	}{
		{"the allowed number last", `"phoneNumber":"+33612345678","PHONENUMBER":"+14155550123"`, "SUCCESSFUL", true},
		{"the blocked number last", `"phoneNumber":"+14155550123","PHONENUMBER":"+33612345678"`, "error:country_not_allowed", false},
		{"same key twice", `"phoneNumber":"+14155550123","phoneNumber":"+33612345678"`, "error:country_not_allowed", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, blocked("FR"))
			body := `{"eventId":"` + oktatest.EventID() + `","data":{"messageProfile":{` + tt.profile + `,"otpCode":"482913","deliveryChannel":"SMS","msgTemplate":"Code 482913"}}}`
			if got := oktatest.Decode(t, h.hook([]byte(body))).Kind(); got != tt.want {
				t.Fatalf("answer %s, want %s", got, tt.want)
			}
			reqs := h.fake.Requests()
			if !tt.sent {
				if len(reqs) != 0 {
					t.Fatalf("8x8 received %d requests for a refused number", len(reqs))
				}
				return
			}
			if len(reqs) != 1 || reqs[0].SMS().Destination != "+14155550123" {
				t.Fatalf("8x8 received %v, want the screened number", reqs)
			}
		})
	}
}

// "Expect: 100-continue" with a Content-Length over the limit gets 413 at
// once: no "100 Continue", no wait for a body that is never read.
func TestExpectContinueTooLarge(t *testing.T) {
	h := newHarness(t)
	srv := httptest.NewServer(h.srv)
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second)) // a bound for the failure case only
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: hook\r\nAuthorization: %s\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n",
		oktatest.Secret, 1<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("HTTP %d, want 413 at once", resp.StatusCode)
	}
}
