package hook_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/conversion"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/proctest"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// 8x8 hangs to the end of the budget and the conversion tracker's Redis
// accepts connections and never answers: recording the send (and checking
// the country's budget before it) must fit in what is left of the
// deadline, so the answer still leaves within HOOK_DEADLINE.
func TestStalledConversionStoreKeepsTheDeadline(t *testing.T) {
	rdb, err := redisstore.Open("redis://"+proctest.BlackHole(t)+"/0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	cfg := conversion.DefaultConfig()
	cfg.Mode, cfg.KeySecret = conversion.Record, []byte("conversion-key-secret-0123456789")
	tracker := conversion.New(cfg, redisstore.NewConversion(rdb), nil, nil, nil)
	h := newHarness(t, func(s *setup) { s.conversion = tracker })
	h.do(http.MethodGet, "/healthz", nil, nil) // loaded
	h.fake.SetFaultFor(eightbyeighttest.SMS, eightbyeighttest.Hang)

	req := sms("+14155550123", "482913")
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(req.Body()))
	r.Header = oktatest.Headers()
	w := httptest.NewRecorder()
	start := time.Now()
	h.srv.ServeHTTP(w, r)
	took := time.Since(start)
	if got := oktatest.Decode(t, w).Kind(); got != "PENDING" {
		t.Errorf("answer %s, want PENDING (8x8 may have the request)", got)
	}
	if deadline := defaults().opt.Deadline; took > deadline {
		t.Errorf("answered after %v, past HOOK_DEADLINE %v", took, deadline)
	}
}
