package setup

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/gcpfake"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/monitoringfake"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/oktafake"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/webhooks8x8/webhooksfake"
	"github.com/telephony-hooks/okta-8x8/internal/app"
	"github.com/telephony-hooks/okta-8x8/internal/config"
)

const project = "acme-hook"

// harness is an empty fake project, an empty fake Okta org and 8x8's
// webhooks APIs with none registered. Its deploy starts the real hook in-process (dry run) as
// "the service", reading the secrets the setup put into the fake project.
type harness struct {
	t       *testing.T
	proj    *gcpfake.Project
	okta    *oktafake.Server
	mon     *monitoringfake.Fake
	eight   *webhooksfake.Server
	deps    Deps
	env     map[string]string
	grpc    string // the fake project's address
	builds  int
	subs    map[string]string // the last build's substitutions
	service *httptest.Server
	logs    syncBuffer // the service's log lines
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, proj: gcpfake.New(project), okta: oktafake.New(t), eight: webhooksfake.New(t, "eight-key-value")}
	gs := grpc.NewServer()
	h.proj.Register(gs)
	h.mon = monitoringfake.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(lis) //nolint:errcheck // returns when the test stops the server
	t.Cleanup(gs.Stop)
	h.grpc = lis.Addr().String()
	h.env = map[string]string{
		"OKTA_ORG_URL":           h.okta.URL,
		"OKTA_API_TOKEN":         oktafake.Token,
		"EIGHTYEIGHTX_API_KEY":   "eight-key-value",
		"EIGHTYEIGHTX_VOICE_URL": h.eight.URL,
		"EIGHTYEIGHTX_SMS_URL":   h.eight.URL,
	}
	h.deps = Deps{
		Google: []option.ClientOption{option.WithEndpoint(h.grpc), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))},
		Command: h.build,
		Okta:    h.okta.Client(),
		Dir:     filepath.Join("..", "..", "..", ".."),
	}
	return h
}

// build plays `gcloud builds submit`: the service gets the variables
// cloudbuild.yaml makes of the substitutions, and runs here.
func (h *harness) build(ctx context.Context, dir string, _, _ io.Writer, name string, args ...string) error {
	h.builds++
	if name != "gcloud" || !slices.Contains(args, "--config=cloudbuild.yaml") || dir != h.deps.Dir {
		h.t.Errorf("unexpected command %s %v in %s", name, args, dir)
	}
	subs := map[string]string{}
	h.subs = subs
	for _, a := range args {
		if s, ok := strings.CutPrefix(a, "--substitutions=^;^"); ok {
			for kv := range strings.SplitSeq(s, ";") {
				k, v, _ := strings.Cut(kv, "=")
				subs[k] = v
			}
		}
	}
	ref := func(s string) string { return "sm://" + project + "/" + s }
	env := map[string]string{
		"OKTA_SECRET": ref(secretOkta), "EIGHTYEIGHTX_API_KEY": ref(secretAPIKey),
		"EIGHTYEIGHTX_WEBHOOK_SECRET": ref(secretWebhook), "OKTA_EVENT_HOOK_SECRET": ref(secretEventHook),
		"EIGHTYEIGHTX_SUBACCOUNT_ID": subs["_SUBACCOUNT_ID"], "EIGHTYEIGHTX_SOURCE_NUMBER": subs["_SOURCE_NUMBER"],
		"SECRETMANAGER_EMULATOR_HOST": h.grpc, "DRY_RUN": "true", "GOOGLE_CLOUD_PROJECT": project,
	}
	if h.service == nil {
		// REDIS_URL stays out: the fake instance has no server behind it.
		cfg, err := config.Load(ctx, func(k string) string { return env[k] }, config.Options{})
		if err != nil {
			return err
		}
		a, err := app.Build(ctx, cfg, app.Options{Stdout: &h.logs})
		if err != nil {
			return err
		}
		h.service = httptest.NewServer(a.Handler)
		h.t.Cleanup(func() { h.service.Close(); _ = a.Close(context.Background()) })
	}
	env["REDIS_URL"] = subs["_REDIS_URL"]
	h.proj.Deploy(subs["_REGION"], serviceName, h.service.URL, env)
	return nil
}

func (h *harness) run(args ...string) (string, error) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	base := []string{"-project", project, "-region", "europe-west1", "-account", "5d1b9a3e-0000-4000-8000-000000000001",
		"-subaccount", "acme_otp", "-source-number", "+14155550100"}
	err := h.deps.Run(context.Background(), append(base, args...), func(k string) string { return h.env[k] }, &out, &errOut)
	all := out.String() + errOut.String() + h.logs.String()
	for _, s := range []string{secretOkta, secretWebhook, secretEventHook, secretRedisKey, secretAPIKey} {
		if v, ok := h.proj.Secret(s); ok && strings.Contains(all, string(v)) {
			h.t.Errorf("the output or the service's logs show the value of %s", s)
		}
	}
	if tok := h.env["OKTA_API_TOKEN"]; tok != "" && strings.Contains(all, tok) {
		h.t.Errorf("the output shows the Okta token")
	}
	return out.String(), err
}

// mutations counts the changes made to every system so far.
func (h *harness) mutations() int {
	return len(h.proj.Mutations()) + h.okta.Mutations() + h.eight.Mutations() + h.mon.Mutations()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }
