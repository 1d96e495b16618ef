package hook_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/hook"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/logtest"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/receipts"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// The scenarios of this package run the hook as hook.New builds it, with
// the real guard, the real 8x8 client and a fake 8x8 that validates every
// request against 8x8's OpenAPI specs. Every log line of every scenario is
// scanned for codes, numbers and secrets when the package's tests end.

var suite logtest.Suite

func TestMain(m *testing.M) { os.Exit(suite.Main(m, oktatest.Secrets(), oktatest.Numbers())) }

// setup is what a scenario may change: the deployed defaults, with the
// per-user limit off and a 2 s deadline (a SUCCESSFUL case stays one
// under -race on a loaded machine).
type setup struct {
	opt        hook.Options
	guard      guard.Config
	header     string // Okta's authentication field
	secret     string // its value; "" with open: everyone
	open       bool
	region     string // DEFAULT_REGION
	webhook    string // EIGHTYEIGHTX_WEBHOOK_SECRET
	httpClient *http.Client
	sampled    bool                 // refusals logged through a sampler on the harness's clock
	redis      bool                 // the guard shares its state through Redis (miniredis)
	miniredis  *miniredis.Miniredis // with redis: this one (another harness's instance), else a new one
	conversion hook.Conversion
	sender     hook.Sender                   // nil: the 8x8 client
	wrapGuard  func(*guard.Guard) hook.Guard // nil: the guard as it is
}

// refusedByDefault are REFUSED_NUMBER_TYPES' default types.
var refusedByDefault, _ = guard.ParseRefusedTypes(guard.DefaultRefusedTypes)

func defaults() setup {
	return setup{
		opt: hook.Options{
			Deadline:    2 * time.Second,
			CallerID:    oktatest.Caller,
			SMSSource:   "Acme",
			Repetitions: 2,
			Policy:      guard.Policy{RefusedTypes: refusedByDefault},
		},
		guard:   guard.Config{PerPhone: guard.Limit{N: 5, Window: 15 * time.Minute}},
		header:  "Authorization",
		secret:  oktatest.Secret,
		region:  "US",
		webhook: oktatest.Webhook,
	}
}

// harness is one hook with its fake 8x8.
type harness struct {
	t    *testing.T
	srv  http.Handler
	fake *eightbyeighttest.Server
	clk  *oktatest.Clock
	logs *logtest.Buffer
}

// newHarness builds the hook; each edit changes the setup first.
func newHarness(t *testing.T, edits ...func(*setup)) *harness {
	t.Helper()
	s := defaults()
	for _, e := range edits {
		if e != nil {
			e(&s)
		}
	}
	h := &harness{t: t, fake: eightbyeighttest.New(t), clk: oktatest.NewClock(time.Now()), logs: &logtest.Buffer{}}
	logger := slog.New(logging.NewHandler(suite.Tee(h.logs), logging.Options{Level: slog.LevelDebug, ProjectID: "acme-hooks"}))
	phones, err := phone.NewParser(s.region)
	if err != nil {
		t.Fatal(err)
	}
	sender := s.sender
	if sender == nil && !s.opt.DryRun {
		client, err := eightbyeight.New(eightbyeight.Config{
			VoiceURL: h.fake.VoiceURL(), SMSURL: h.fake.SMSURL(), SubaccountID: oktatest.Sub, APIKey: oktatest.APIKey,
			HTTPClient: s.httpClient,
		})
		if err != nil {
			t.Fatal(err)
		}
		sender = client
	}
	var refusals *logging.Sampler
	if s.sampled {
		refusals = logging.NewSampler(5, time.Minute, h.clk.Now)
	}
	if s.guard.KeySecret == nil {
		s.guard.KeySecret = redisstore.DeriveSecret(oktatest.APIKey)
	}
	var primary guard.Store
	if s.redis {
		mr := s.miniredis
		if mr == nil {
			mr = miniredis.RunT(t)
		}
		client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = client.Close() })
		primary = redisstore.NewGuardStore(client)
	}
	g, err := guard.New(s.guard, primary, logger, h.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	var hg hook.Guard = g
	if s.wrapGuard != nil {
		hg = s.wrapGuard(g)
	}
	h.srv = hook.New(s.opt, hook.Deps{
		Refusals:   refusals,
		Auth:       hook.Auth{Header: okta.NewHeaderAuth(s.header, s.secret), Open: s.open},
		Phones:     phones,
		Guard:      hg,
		Sender:     sender,
		Receipts:   receipts.NewHandler(s.webhook, logger, refusals),
		Conversion: s.conversion,
		Logger:     logger,
		Now:        h.clk.Now,
	})
	return h
}

// do sends one request to the hook and returns the answer.
func (h *harness) do(method, path string, body []byte, header http.Header) *httptest.ResponseRecorder {
	return oktatest.Do(h.srv, method, path, body, header)
}

// hook posts an Okta request with Okta's headers.
func (h *harness) hook(body []byte) *httptest.ResponseRecorder {
	return h.do(http.MethodPost, "/", body, oktatest.Headers())
}

// kind posts an Okta request and returns the kind of its answer.
func (h *harness) kind(r oktatest.Request) string {
	h.t.Helper()
	return oktatest.Decode(h.t, h.hook(r.Body())).Kind()
}

var (
	sms   = oktatest.SMS
	voice = oktatest.Voice
)
