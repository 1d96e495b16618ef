package setup

import (
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/redis/apiv1/redispb"
)

func TestApplyEmptyProjectThenNothing(t *testing.T) {
	h := newHarness(t)
	out, err := h.run()
	if err != nil {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
	first := h.mutations()
	t.Logf("first apply: %d mutations\n%s", first, out)
	for _, s := range []string{"okta-secret", "eightbyeightx-webhook-secret", "okta-event-hook-secret", "redis-key-secret"} {
		v, ok := h.proj.Secret(s)
		if !ok || len(v) != 64 {
			t.Errorf("secret %s: %d bytes, want a 64-hex-digit random value", s, len(v))
		}
		if strings.Contains(out, string(v)) {
			t.Errorf("output shows the value of %s", s)
		}
	}
	if v, _ := h.proj.Secret("eightbyeightx-api-key"); string(v) != "eight-key-value" {
		t.Errorf("8x8 key secret = %q", v)
	}
	deployer := "serviceAccount:okta-hook-deployer@" + project + ".iam.gserviceaccount.com"
	if !slices.Contains(h.proj.Bindings("roles/run.admin"), deployer) {
		t.Errorf("deployer lacks roles/run.admin")
	}
	if h.builds != 1 {
		t.Errorf("%d builds, want 1", h.builds)
	}

	out, err = h.run()
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if n := h.mutations() - first; n != 0 || h.builds != 1 {
		t.Errorf("second apply made %d mutations and %d builds", n, h.builds-1)
	}
	if !strings.Contains(out, "applied: 0 changes") {
		t.Errorf("second apply says:\n%s", out)
	}
}

func TestPlanChangesNothing(t *testing.T) {
	h := newHarness(t)
	out, err := h.run("-plan")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	t.Logf("plan of an empty project and org:\n%s", out)
	if n := h.mutations(); n != 0 || h.builds != 0 {
		t.Errorf("plan made %d mutations and %d builds", n, h.builds)
	}
	for _, want := range []string{"create secret okta-secret", "create service account okta-hook-deployer",
		"create cloud run service okta-telephony-hook", "create voice webhook", "create inline hook", "plan only: nothing was changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
}

// Whatever stops the run in preflight names what to fix, and nothing
// has changed anywhere.
func TestPreflightStopsBeforeAnyChange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *harness)
		want  string
	}{
		{"no Okta token", func(h *harness) { delete(h.env, "OKTA_API_TOKEN") }, "OKTA_API_TOKEN"},
		{"no 8x8 key", func(h *harness) { delete(h.env, "EIGHTYEIGHTX_API_KEY") }, "EIGHTYEIGHTX_API_KEY"},
		{"wrong Okta token", func(h *harness) { h.env["OKTA_API_TOKEN"] = "not-the-token" }, "OKTA_API_TOKEN"},
		{"wrong 8x8 key", func(h *harness) { h.env["EIGHTYEIGHTX_API_KEY"] = "not-the-key" }, "EIGHTYEIGHTX_API_KEY"},
		{"missing role", func(h *harness) { h.proj.Deny("iam.serviceAccounts.create") }, "iam.serviceAccounts.create (roles/iam.serviceAccountAdmin)"},
		{"resource manager API off", func(h *harness) { h.proj.Disable("cloudresourcemanager.googleapis.com") }, "gcloud services enable cloudresourcemanager.googleapis.com"},
		{"service usage API off", func(h *harness) { h.proj.Disable("serviceusage.googleapis.com") }, "gcloud services enable serviceusage.googleapis.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			_, err := h.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %q", err, tc.want)
			}
			if n := h.mutations(); n != 0 || h.builds != 0 {
				t.Errorf("%d mutations and %d builds before stopping", n, h.builds)
			}
		})
	}
}

func TestExistingSecretIsKept(t *testing.T) {
	h := newHarness(t)
	h.proj.SetSecret(secretOkta, []byte("the value Okta already holds"))
	out, err := h.run()
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if v, _ := h.proj.Secret(secretOkta); string(v) != "the value Okta already holds" {
		t.Errorf("okta-secret was overwritten")
	}
	if strings.Contains(out, "create secret okta-secret") {
		t.Errorf("the run says it created okta-secret:\n%s", out)
	}
}

func TestRedis(t *testing.T) {
	h := newHarness(t)
	// The real cloudbuild.yaml must declare the substitutions -redis passes.
	out, err := h.run("-redis")
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	in := h.proj.Instance("europe-west1", redisInstance)
	if in == nil || !in.AuthEnabled || in.TransitEncryptionMode != redispb.Instance_SERVER_AUTHENTICATION || in.AuthorizedNetwork != "projects/"+project+"/global/networks/default" {
		t.Fatalf("instance = %v, want AUTH, TLS and the default network", in)
	}
	if url, _ := h.proj.Secret(secretRedisURL); string(url) != "rediss://:fake-auth-okta-telephony-hook@127.0.0.1:6378" {
		t.Errorf("redis-url secret holds another URL")
	}
	if ca, _ := h.proj.Secret(secretRedisCA); !strings.HasPrefix(string(ca), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("redis-ca-cert = %q, want the server CA", ca)
	}
	for k, v := range map[string]string{"_REDIS_URL": "sm://" + project + "/redis-url", "_REDIS_CA_CERT": "sm://" + project + "/redis-ca-cert",
		"_NETWORK": "default", "_SUBNET": "default", "_VPC_EGRESS": "private-ranges-only"} {
		if h.subs[k] != v {
			t.Errorf("substitution %s = %q, want %q", k, h.subs[k], v)
		}
	}
	first := h.mutations()
	if out, err := h.run("-redis"); err != nil || h.mutations() != first {
		t.Errorf("second apply: %v, %d mutations\n%s", err, h.mutations()-first, out)
	}
}
