package telephonyhook

// cloudbuild.yaml is code that no compiler reads: these tests keep the
// deploy consistent with the function, go.mod and the configuration, and
// run its preflight script.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/telephony-hooks/okta-8x8/internal/config"
	"github.com/telephony-hooks/okta-8x8/internal/secrets"
)

type cbStep struct {
	ID         string   `yaml:"id"`
	Name       string   `yaml:"name"`
	Entrypoint string   `yaml:"entrypoint"`
	Args       []string `yaml:"args"`
	WaitFor    []string `yaml:"waitFor"`
}

type cbConfig struct {
	Steps         []cbStep          `yaml:"steps"`
	Substitutions map[string]string `yaml:"substitutions"`
}

func cbLoad(t *testing.T) (cbConfig, map[string]cbStep) {
	t.Helper()
	raw, err := os.ReadFile("cloudbuild.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c cbConfig
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("cloudbuild.yaml: %v", err)
	}
	byID := map[string]cbStep{}
	for _, s := range c.Steps {
		byID[s.ID] = s
	}
	return c, byID
}

// cbExpand substitutes Cloud Build's $X and ${X} as the build would ($$ is
// a shell $).
func cbExpand(s string, subs map[string]string) string {
	out := os.Expand(strings.ReplaceAll(s, "$$", "\x00"), func(name string) string {
		if v, ok := subs[name]; ok {
			return cbExpand(v, subs)
		}
		return "$" + name
	})
	return strings.ReplaceAll(out, "\x00", "$")
}

// cbSubs are the defaults with the README's deploy's settings.
func cbSubs(c cbConfig, overrides ...string) map[string]string {
	subs := map[string]string{"PROJECT_ID": "acme-hooks", "_SUBACCOUNT_ID": "acme_otp", "_SOURCE_NUMBER": "+14155550100"}
	for k, v := range c.Substitutions {
		if _, set := subs[k]; !set {
			subs[k] = v
		}
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		subs[overrides[i]] = overrides[i+1]
	}
	return subs
}

// The checks gate the deploy (in order, none in parallel); the deploy is
// the function, on go.mod's Go, with every variable one the configuration
// reads and every secret a Secret Manager reference; and the deployed
// configuration, defaults expanded, loads.
func TestCloudBuildDeploysTheFunction(t *testing.T) {
	c, steps := cbLoad(t)
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (1\.\d+)`).FindStringSubmatch(string(mod))[1]
	order := []string{"gofmt", "vet", "test", "govulncheck", "preflight", "deploy", "smoke"}
	var ids []string
	for _, s := range c.Steps {
		ids = append(ids, s.ID)
		if len(s.WaitFor) > 0 {
			t.Errorf("step %s has waitFor: a failed check must stop the build before the deploy", s.ID)
		}
		if tag, ok := strings.CutPrefix(s.Name, "golang:"); ok && tag != goVersion {
			t.Errorf("step %s runs %s, go.mod says go %s", s.ID, s.Name, goVersion)
		}
	}
	if !slices.Equal(ids, order) {
		t.Errorf("steps %v, want %v", ids, order)
	}
	gates := map[string]string{"gofmt": "gofmt -l", "vet": "vet ./...", "test": "test -race -count=1 ./...",
		"govulncheck": "govulncheck@v", "preflight": "gcloud secrets describe"}
	for id, want := range gates {
		if !strings.Contains(strings.Join(steps[id].Args, " "), want) {
			t.Errorf("step %s does not run %q", id, want)
		}
	}

	flags := map[string]string{}
	for _, a := range steps["deploy"].Args {
		k, v, _ := strings.Cut(a, "=")
		flags[k] = v
	}
	if flags["--function"] != FunctionName || flags["--base-image"] != "go"+strings.ReplaceAll(goVersion, ".", "") {
		t.Errorf("deploys --function=%s --base-image=%s, want %s on go.mod's Go", flags["--function"], flags["--base-image"], FunctionName)
	}
	vars, found := strings.CutPrefix(flags["--set-env-vars"], "^|^")
	if !found {
		t.Fatal(`--set-env-vars does not start with "^|^" (comma-separated values need another separator)`)
	}
	env := map[string]string{config.KService: "okta-telephony-hook"}
	for _, kv := range strings.Split(vars, "|") {
		k, v, _ := strings.Cut(kv, "=")
		if !slices.Contains(config.Names(), k) || k == config.Port || k == config.KService {
			t.Errorf("env %s is not one the configuration reads (or Cloud Run sets it)", k)
		}
		env[k] = cbExpand(v, cbSubs(c))
	}
	for _, k := range []string{config.OktaSecret, config.APIKey, config.WebhookSecret, config.EventHookSecret} {
		if !strings.HasPrefix(env[k], "sm://acme-hooks/") {
			t.Errorf("env %s=%q: a secret must be a Secret Manager reference, never a build parameter", k, env[k])
		}
	}
	acc := secretsByName{}
	cfg, err := config.Load(context.Background(), func(k string) string { return env[k] },
		config.Options{NewAccessor: func(context.Context, string) (secrets.Accessor, error) { return acc, nil }})
	if err != nil {
		t.Fatalf("the deployed configuration does not load: %v", err)
	}
	if !cfg.Deployed || cfg.DryRun || cfg.SecretRefs != 4 || cfg.APIKey != "value-of-eightbyeightx-api-key" {
		t.Errorf("deployed %v, dry run %v, %d secret references, 8x8 key %q", cfg.Deployed, cfg.DryRun, cfg.SecretRefs, cfg.APIKey)
	}
}

// secretsByName answers every secret with "value-of-" and its name.
type secretsByName struct{}

func (secretsByName) Access(_ context.Context, name string) ([]byte, error) {
	return []byte("value-of-" + strings.Split(name, "/")[3]), nil
}

// The preflight refuses a deploy that would answer 503 or break a
// guarantee, and lets the README's deploy through.
func TestCloudBuildPreflight(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on this machine: the preflight script cannot run here")
	}
	c, steps := cbLoad(t)
	bin := t.TempDir() // a gcloud that finds every secret
	if err := os.WriteFile(filepath.Join(bin, "gcloud"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	redis := []string{"_REDIS_URL", "sm://${PROJECT_ID}/redis-url", "_REDIS_KEY_SECRET", "sm://${PROJECT_ID}/redis-key-secret"}
	for _, tc := range []struct {
		name  string
		subs  []string // overrides: name, value, ...
		wants string   // "" passes; else a phrase of its message
	}{
		{"the README's deploy", nil, ""},
		{"no subaccount", []string{"_SUBACCOUNT_ID", ""}, "set _SUBACCOUNT_ID"},
		{"dry run needs no credentials", []string{"_SUBACCOUNT_ID", "", "_SOURCE_NUMBER", "", "_DRY_RUN", "true"}, ""},
		{"OAuth issuer without the client id", []string{"_OKTA_OAUTH_ISSUER", "https://acme.okta.com/oauth2/default"}, "set _OKTA_OAUTH_CLIENT_ID"},
		{"Redis without its key secret", redis[:2], "set _REDIS_KEY_SECRET"},
		{"Redis with its key secret", redis, ""},
		{"SMS feedback on, several instances, no Redis", []string{"_SMS_FEEDBACK", "on"}, "need _REDIS_URL"},
		{"conversion guard enforced, no Redis", []string{"_CONVERSION_GUARD", "Enforce"}, "need _REDIS_URL"},
		{"both on with Redis", append([]string{"_CONVERSION_GUARD", "enforce", "_SMS_FEEDBACK", "on"}, redis...), ""},
		{"both on, one instance", []string{"_CONVERSION_GUARD", "enforce", "_SMS_FEEDBACK", "true", "_MAX_INSTANCES", "1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bash, "-c", cbExpand(steps["preflight"].Args[1], cbSubs(c, tc.subs...)))
			cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
			out, err := cmd.CombinedOutput()
			switch {
			case tc.wants == "" && err != nil:
				t.Errorf("preflight stopped the deploy: %v\n%s", err, out)
			case tc.wants != "" && (err == nil || !strings.Contains(string(out), tc.wants)):
				t.Errorf("preflight: %v %q, want it to stop with %q", err, out, tc.wants)
			}
		})
	}
}
