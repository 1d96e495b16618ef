package telephonyhook

// cloudbuild.yaml is code that no compiler reads: these tests keep it
// consistent with the function, go.mod and the configuration loader, and
// prove (by mutating a parsed copy) that each check can fail.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	pathpkg "path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/telephony-hooks/okta-8x8/internal/config"
	"github.com/telephony-hooks/okta-8x8/internal/secrets"
)

// cbConfig is the part of Cloud Build's schema cloudbuild.yaml uses;
// decoding with KnownFields rejects a misspelt key (Cloud Build would too).
type cbConfig struct {
	Steps         []cbStep          `yaml:"steps"`
	Substitutions map[string]string `yaml:"substitutions"`
	Options       struct {
		Logging              string   `yaml:"logging"`
		DynamicSubstitutions bool     `yaml:"dynamicSubstitutions"`
		Env                  []string `yaml:"env"`
		Volumes              []struct {
			Name string `yaml:"name"`
			Path string `yaml:"path"`
		} `yaml:"volumes"`
	} `yaml:"options"`
	Timeout string `yaml:"timeout"`
}

type cbStep struct {
	ID         string   `yaml:"id"`
	Name       string   `yaml:"name"`
	Entrypoint string   `yaml:"entrypoint"`
	Args       []string `yaml:"args"`
	WaitFor    []string `yaml:"waitFor"`
}

// cbSecretVars must come from Secret Manager, never from a substitution (a
// substitution's value is visible in the build's history).
var cbSecretVars = []string{config.OktaSecret, config.APIKey, config.WebhookSecret, config.EventHookSecret}

// cbReservedVars are set by Cloud Run itself; a deploy that sets them fails.
var cbReservedVars = []string{config.Port, config.KService, "K_REVISION", "K_CONFIGURATION"}

// cbBuiltins are the ones Cloud Build defines for every build.
var cbBuiltins = []string{"PROJECT_ID", "BUILD_ID", "PROJECT_NUMBER", "LOCATION"}

func cbLoad(t *testing.T) cbConfig {
	t.Helper()
	raw, err := os.ReadFile("cloudbuild.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c cbConfig
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("cloudbuild.yaml: %v", err)
	}
	return c
}

// cbGoVersion returns go.mod's language version as "1.NN". A line scan:
// golang.org/x/mod is not a requirement of this module.
func cbGoVersion(t *testing.T) string {
	t.Helper()
	f, err := os.Open("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^go\s+(1\.\d+)(\.\d+)?\s*$`)
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			return m[1]
		}
	}
	t.Fatal("go.mod has no go 1.NN line")
	return ""
}

// cbDeployArgs is the gcloud run deploy command line, split up.
type cbDeployArgs struct {
	positional []string
	flags      map[string]string // --name=value; "" for a bare --name
	order      []string
}

func cbParseDeploy(args []string) (cbDeployArgs, error) {
	d := cbDeployArgs{flags: map[string]string{}}
	if len(args) < 2 || args[0] != "run" || args[1] != "deploy" {
		return d, errors.New("not a `run deploy` command")
	}
	for _, a := range args[2:] {
		if !strings.HasPrefix(a, "--") {
			d.positional = append(d.positional, a)
			continue
		}
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if _, dup := d.flags[name]; dup {
			return d, fmt.Errorf("--%s given twice", name)
		}
		d.flags[name] = value
		d.order = append(d.order, name)
	}
	return d, nil
}

// cbEnvVars splits a --set-env-vars value, honouring gcloud's ^DELIM^ escape.
func cbEnvVars(v string) ([][2]string, string, error) {
	delim := ","
	if strings.HasPrefix(v, "^") {
		end := strings.Index(v[1:], "^")
		if end < 1 {
			return nil, "", errors.New("malformed ^DELIM^ prefix")
		}
		delim, v = v[1:end+1], v[end+2:]
	}
	var out [][2]string
	for _, kv := range strings.Split(v, delim) {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, "", fmt.Errorf("%q is not KEY=VALUE", kv)
		}
		out = append(out, [2]string{k, val})
	}
	return out, delim, nil
}

// cbRefs returns the names $NAME or ${NAME...} refers to in s;
// $$ is Cloud Build's escaped dollar.
func cbRefs(s string) []string {
	var refs []string
	isName := func(c byte) bool {
		return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			continue
		}
		if s[i+1] == '$' {
			i++
			continue
		}
		j := i + 1
		if s[j] == '{' {
			j++
		}
		k := j
		for k < len(s) && isName(s[k]) {
			k++
		}
		if k > j {
			refs = append(refs, s[j:k])
		}
		i = k - 1
	}
	return refs
}

func cbIsDeploy(s cbStep) bool {
	return len(s.Args) >= 2 && s.Args[0] == "run" && s.Args[1] == "deploy"
}

// checks are the steps that must pass before the deploy, recognised by
// what they run rather than by id.
var cbGatingChecks = []struct {
	name  string
	match func(args string) bool
}{
	{"gofmt", func(a string) bool { return strings.Contains(a, "gofmt -l") }},
	{"go vet", func(a string) bool { return a == "vet ./..." }},
	{"go test -race", func(a string) bool {
		return strings.HasPrefix(a, "test ") && strings.Contains(a, " -race ") && strings.HasSuffix(a, " ./...")
	}},
	{"govulncheck (pinned)", func(a string) bool {
		return regexp.MustCompile(`^run golang\.org/x/vuln/cmd/govulncheck@v\d+\.\d+\.\d+ \./\.\.\.$`).MatchString(a)
	}},
}

// cbCheck returns every inconsistency between c and the code; goVersion
// is go.mod's "1.NN".
func cbCheck(c cbConfig, goVersion string) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	deployAt := slices.IndexFunc(c.Steps, cbIsDeploy)
	if deployAt < 0 {
		return []error{errors.New("no `gcloud run deploy` step")}
	}
	if n := len(slices.DeleteFunc(slices.Clone(c.Steps), func(s cbStep) bool { return !cbIsDeploy(s) })); n != 1 {
		bad("%d deploy steps, want 1", n)
	}
	for _, ck := range cbGatingChecks {
		at := slices.IndexFunc(c.Steps, func(s cbStep) bool { return ck.match(strings.Join(s.Args, " ")) })
		switch {
		case at < 0:
			bad("no %s step", ck.name)
		case at > deployAt:
			bad("the %s step runs after the deploy", ck.name)
		}
	}
	for _, s := range c.Steps {
		// waitFor would let a step start before the checks passed.
		if len(s.WaitFor) > 0 {
			bad("step %q has waitFor: steps must run in order", s.ID)
		}
		if tag, ok := strings.CutPrefix(s.Name, "golang:"); ok && tag != goVersion && !strings.HasPrefix(tag, goVersion+".") && !strings.HasPrefix(tag, goVersion+"-") {
			bad("step %q uses %s, go.mod says go %s", s.ID, s.Name, goVersion)
		}
	}

	step := c.Steps[deployAt]
	if step.Entrypoint != "gcloud" {
		bad("deploy step entrypoint %q, want gcloud", step.Entrypoint)
	}
	d, err := cbParseDeploy(step.Args)
	if err != nil {
		return append(errs, err)
	}
	want := map[string]string{
		"function":   FunctionName,
		"base-image": "go" + strings.ReplaceAll(goVersion, ".", ""),
		"source":     ".",
		"memory":     "256Mi",
		"cpu":        "1",
	}
	for flag, v := range want {
		if got, ok := d.flags[flag]; !ok || got != v {
			bad("--%s=%s, want %s", flag, got, v)
		}
	}
	for _, flag := range []string{"allow-unauthenticated", "cpu-boost", "no-cpu-throttling", "quiet"} {
		if v, ok := d.flags[flag]; !ok || v != "" {
			bad("--%s missing", flag)
		}
	}
	for _, flag := range []string{"region", "service-account", "min-instances", "max-instances", "concurrency", "timeout"} {
		if d.flags[flag] == "" {
			bad("--%s missing or empty", flag)
		}
	}
	if len(d.positional) != 1 {
		bad("deploy names %d services, want 1", len(d.positional))
	}

	vars, delim, err := cbEnvVars(d.flags["set-env-vars"])
	if err != nil {
		bad("--set-env-vars: %v", err)
	}
	known := config.Names()
	seen := map[string]string{}
	for _, kv := range vars {
		k, v := kv[0], kv[1]
		switch {
		case slices.Contains(cbReservedVars, k):
			bad("env %s is reserved by Cloud Run", k)
		case !slices.Contains(known, k):
			bad("env %s is not read by internal/config", k)
		}
		if _, dup := seen[k]; dup {
			bad("env %s set twice", k)
		}
		seen[k] = v
	}
	for _, k := range cbSecretVars {
		v, ok := seen[k]
		if !ok {
			bad("env %s not set", k)
			continue
		}
		ref := strings.ReplaceAll(v, "${PROJECT_ID}", "my-project")
		if _, isRef, err := secrets.ParseReference(ref); !strings.HasPrefix(v, "sm://") || !isRef || err != nil {
			bad("env %s=%q is not an sm:// Secret Manager reference", k, v)
		}
		for _, r := range cbRefs(v) {
			if strings.HasPrefix(r, "_") {
				bad("env %s takes a substitution (%s): secrets must not pass through build parameters", k, r)
			}
		}
	}
	for k, v := range c.Substitutions {
		if delim != "," && strings.Contains(v, delim) {
			bad("substitution %s's default contains the env separator %q", k, delim)
		}
	}

	// Substitutions: each one used has a default, each default is used
	// (Cloud Build refuses a build with either mistake).
	used := map[string]bool{}
	texts := []string{}
	for _, s := range c.Steps {
		texts = append(texts, s.Name, s.Entrypoint)
		texts = append(texts, s.Args...)
	}
	for _, v := range c.Substitutions {
		texts = append(texts, v)
	}
	for _, text := range texts {
		for _, r := range cbRefs(text) {
			used[r] = true
			_, defined := c.Substitutions[r]
			switch {
			case strings.HasPrefix(r, "_") && !defined:
				bad("$%s has no default in substitutions", r)
			case !strings.HasPrefix(r, "_") && !slices.Contains(cbBuiltins, r):
				bad("$%s is neither a substitution nor a Cloud Build built-in (write $$ for a shell $)", r)
			}
		}
	}
	for k, v := range c.Substitutions {
		if !strings.HasPrefix(k, "_") {
			bad("substitution %s must start with _", k)
		}
		if !used[k] {
			bad("substitution %s is never used", k)
		}
		if strings.Contains(v, "$") && !c.Options.DynamicSubstitutions {
			bad("substitution %s refers to another but options.dynamicSubstitutions is off", k)
		}
	}
	if i := slices.IndexFunc(c.Steps, func(s cbStep) bool { return s.ID == "preflight" }); i < 0 || i > deployAt ||
		!strings.Contains(strings.Join(c.Steps[i].Args, " "), `[ -n "${_OKTA_OAUTH_ISSUER}" ] && [ -z "${_OKTA_OAUTH_CLIENT_ID}" ]`) {
		bad("preflight does not require _OKTA_OAUTH_CLIENT_ID with _OKTA_OAUTH_ISSUER before the deploy")
	}
	if c.Options.Logging != "CLOUD_LOGGING_ONLY" && c.Options.Logging != "NONE" {
		bad("options.logging=%q: a build run by a user-managed service account needs CLOUD_LOGGING_ONLY", c.Options.Logging)
	}
	return errs
}

func TestCloudBuildConsistentWithTheCode(t *testing.T) {
	goVersion := cbGoVersion(t)
	for _, err := range cbCheck(cbLoad(t), goVersion) {
		t.Error(err)
	}
}

// TestCloudBuildChecksCatchMistakes mutates a parsed copy: each mistake
// must be reported.
func TestCloudBuildChecksCatchMistakes(t *testing.T) {
	deploy := func(c *cbConfig) *cbStep { return &c.Steps[slices.IndexFunc(c.Steps, cbIsDeploy)] }
	setArg := func(c *cbConfig, prefix, value string) {
		s := deploy(c)
		i := slices.IndexFunc(s.Args, func(a string) bool { return strings.HasPrefix(a, prefix) })
		s.Args[i] = value
	}
	appendEnv := func(c *cbConfig, kv string) {
		s := deploy(c)
		i := slices.IndexFunc(s.Args, func(a string) bool { return strings.HasPrefix(a, "--set-env-vars=") })
		s.Args[i] += "|" + kv
	}
	tests := []struct {
		name      string
		mutate    func(c *cbConfig)
		goVersion string
		wantErr   string
	}{
		{"wrong function name", func(c *cbConfig) { setArg(c, "--function=", "--function=TelephonyHook") }, "", "--function=TelephonyHook, want OktaTelephonyHook"},
		{"base image behind go.mod", nil, "1.27", "--base-image=go126, want go127"},
		{"golang image behind go.mod", nil, "1.27", `uses golang:1.26, go.mod says go 1.27`},
		{"unknown env var", func(c *cbConfig) { appendEnv(c, "OKTA_SECERT=x") }, "", "env OKTA_SECERT is not read by internal/config"},
		{"env var reserved by Cloud Run", func(c *cbConfig) { appendEnv(c, "PORT=9090") }, "", "env PORT is reserved by Cloud Run"},
		{"env var twice", func(c *cbConfig) { appendEnv(c, "DRY_RUN=true") }, "", "env DRY_RUN set twice"},
		{"secret as a plain value", func(c *cbConfig) {
			s := deploy(c)
			i := slices.IndexFunc(s.Args, func(a string) bool { return strings.HasPrefix(a, "--set-env-vars=") })
			s.Args[i] = strings.Replace(s.Args[i], "OKTA_SECRET=sm://${PROJECT_ID}/okta-secret", "OKTA_SECRET=${_OKTA_SECRET}", 1)
			c.Substitutions["_OKTA_SECRET"] = "hunter2"
		}, "", `env OKTA_SECRET="${_OKTA_SECRET}" is not an sm://`},
		{"missing default", func(c *cbConfig) { delete(c.Substitutions, "_REGION") }, "", "$_REGION has no default"},
		{"unused default", func(c *cbConfig) { c.Substitutions["_UNUSED"] = "x" }, "", "substitution _UNUSED is never used"},
		{"shell $ not escaped", func(c *cbConfig) { c.Steps[0].Args[1] = "out=$(gofmt -l .); test -z \"$out\"" }, "", "$out is neither"},
		{"default with the separator", func(c *cbConfig) { c.Substitutions["_ALLOWED_COUNTRIES"] = "US|CA" }, "", `contains the env separator "|"`},
		{"deploy before the tests", func(c *cbConfig) {
			i := slices.IndexFunc(c.Steps, cbIsDeploy)
			d := c.Steps[i]
			c.Steps = slices.Insert(slices.Delete(c.Steps, i, i+1), 0, d)
		}, "", "the go test -race step runs after the deploy"},
		{"no govulncheck", func(c *cbConfig) {
			c.Steps = slices.DeleteFunc(c.Steps, func(s cbStep) bool { return s.ID == "govulncheck" })
		}, "", "no govulncheck (pinned) step"},
		{"govulncheck not pinned", func(c *cbConfig) {
			i := slices.IndexFunc(c.Steps, func(s cbStep) bool { return s.ID == "govulncheck" })
			c.Steps[i].Args[1] = "golang.org/x/vuln/cmd/govulncheck@latest"
		}, "", "no govulncheck (pinned) step"},
		{"parallel step", func(c *cbConfig) { c.Steps[len(c.Steps)-1].WaitFor = []string{"-"} }, "", "has waitFor"},
		{"no min instances", func(c *cbConfig) { setArg(c, "--min-instances=", "--min-instances=") }, "", "--min-instances missing or empty"},
		{"authenticated deploy", func(c *cbConfig) { setArg(c, "--allow-unauthenticated", "--no-allow-unauthenticated") }, "", "--allow-unauthenticated missing"},
		{"CPU throttled between requests", func(c *cbConfig) { setArg(c, "--no-cpu-throttling", "--cpu-throttling") }, "", "--no-cpu-throttling missing"},
		{"OAuth issuer without the client id check", func(c *cbConfig) {
			i := slices.IndexFunc(c.Steps, func(s cbStep) bool { return s.ID == "preflight" })
			c.Steps[i].Args[1] = strings.ReplaceAll(c.Steps[i].Args[1], "_OKTA_OAUTH_CLIENT_ID", "_OKTA_OAUTH_AUDIENCE")
		}, "", "preflight does not require _OKTA_OAUTH_CLIENT_ID"},
		{"logging to a bucket", func(c *cbConfig) { c.Options.Logging = "" }, "", "options.logging"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cbLoad(t)
			if tc.mutate != nil {
				tc.mutate(&c)
			}
			goVersion := tc.goVersion
			if goVersion == "" {
				goVersion = cbGoVersion(t)
			}
			errs := cbCheck(c, goVersion)
			if !slices.ContainsFunc(errs, func(e error) bool { return strings.Contains(e.Error(), tc.wantErr) }) {
				t.Errorf("cbCheck = %v, want an error containing %q", errs, tc.wantErr)
			}
		})
	}
}

// cbExpand resolves substitutions the way Cloud Build does with dynamic
// substitutions on: built-ins first, defaults may refer to them.
func cbExpand(s string, subs map[string]string) string {
	out := os.Expand(strings.ReplaceAll(s, "$$", "\x00"), func(name string) string {
		if v, ok := subs[name]; ok {
			return cbExpand(v, subs)
		}
		return "$" + name
	})
	return strings.ReplaceAll(out, "\x00", "$")
}

// cbFakeSecrets is Secret Manager holding the three secrets the README has
// the admin create. Resolve reads in parallel.
type cbFakeSecrets struct {
	mu    sync.Mutex
	asked []string
}

func (f *cbFakeSecrets) Access(_ context.Context, name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, name)
	// projects/P/secrets/S/versions/V → "value-of-S"
	parts := strings.Split(name, "/")
	return []byte("value-of-" + parts[3]), nil
}

// TestCloudBuildDefaultsLoad gives the deployed env, with the default
// substitutions and the two values an admin must supply, to the real
// configuration loader: every default must be valid, empty ones must mean
// "unset", and the secrets must be the ones the README creates.
func TestCloudBuildDefaultsLoad(t *testing.T) {
	c := cbLoad(t)
	subs := map[string]string{"PROJECT_ID": "acme-hooks"}
	for k, v := range c.Substitutions {
		subs[k] = v
	}
	subs["_SUBACCOUNT_ID"], subs["_SOURCE_NUMBER"] = "acme_otp", "+14155550100"

	s := c.Steps[slices.IndexFunc(c.Steps, cbIsDeploy)]
	d, err := cbParseDeploy(s.Args)
	if err != nil {
		t.Fatal(err)
	}
	vars, _, err := cbEnvVars(cbExpand(d.flags["set-env-vars"], subs))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{config.KService: cbExpand(d.positional[0], subs)}
	for _, kv := range vars {
		env[kv[0]] = kv[1]
	}
	if got := cbExpand(d.flags["service-account"], subs); got != "okta-telephony-hook@acme-hooks.iam.gserviceaccount.com" {
		t.Errorf("--service-account expands to %q", got)
	}

	acc := &cbFakeSecrets{}
	cfg, err := config.Load(context.Background(), func(k string) string { return env[k] },
		config.Options{NewAccessor: func(context.Context, string) (secrets.Accessor, error) { return acc, nil }})
	if err != nil {
		t.Fatalf("the deployed configuration does not load: %v", err)
	}
	slices.Sort(acc.asked)
	wantAsked := []string{
		"projects/acme-hooks/secrets/eightbyeightx-api-key/versions/latest",
		"projects/acme-hooks/secrets/eightbyeightx-webhook-secret/versions/latest",
		"projects/acme-hooks/secrets/okta-event-hook-secret/versions/latest",
		"projects/acme-hooks/secrets/okta-secret/versions/latest",
	}
	if !slices.Equal(acc.asked, wantAsked) {
		t.Errorf("secrets read = %v, want %v", acc.asked, wantAsked)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"deployed", cfg.Deployed, true},
		{"dry run", cfg.DryRun, false},
		{"header auth secret", cfg.Secret, "value-of-okta-secret"},
		{"auth header", cfg.AuthHeader, "Authorization"},
		{"OAuth off", cfg.OAuth.Issuer, ""},
		{"8x8 key", cfg.APIKey, "value-of-eightbyeightx-api-key"},
		{"webhook secret", cfg.WebhookSecret, "value-of-eightbyeightx-webhook-secret"},
		{"SMS source falls back to the caller id", cfg.SMSSource, "+14155550100"},
		{"every country allowed", len(cfg.Policy.Allowed), 0},
		{"memory guard store", cfg.RedisURL, ""},
		{"deadline", cfg.Deadline.String(), "2.5s"},
		{"fallback on failure", cfg.ErrorOnFailure, false},
		{"previews delivered", cfg.PreviewDryRun, false},
		{"secret references", cfg.SecretRefs, 4},
		{"event hook secret", cfg.EventHookSecret, "value-of-okta-event-hook-secret"},
		// Without Redis, Okta's events land on any instance: off.
		{"conversion guard off without Redis", cfg.Conversion.Mode.String(), "off"},
		{"8x8 SMS feedback off without Redis", cfg.Conversion.Feedback, false},
		{"per-IP limit off", cfg.PerIP.Off(), true},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %v, want %v", ck.what, ck.got, ck.want)
		}
	}
}

// TestCloudBuildPreflight runs the preflight step's script, as Cloud Build
// expands it, with a gcloud that finds every secret: each case is a deploy
// the step must stop, or let through.
func TestCloudBuildPreflight(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on this machine: the preflight script cannot run here")
	}
	c := cbLoad(t)
	step := c.Steps[slices.IndexFunc(c.Steps, func(s cbStep) bool { return s.ID == "preflight" })]
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "gcloud"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	redisRef := "sm://${PROJECT_ID}/redis-url"
	cases := []struct {
		name  string
		subs  []string // overrides: name, value, ...
		wants string   // "" passes; else a phrase of its message
	}{
		{"the README's deploy", nil, ""},
		{"no subaccount", []string{"_SUBACCOUNT_ID", ""}, "set _SUBACCOUNT_ID"},
		{"dry run needs no credentials", []string{"_SUBACCOUNT_ID", "", "_SOURCE_NUMBER", "", "_DRY_RUN", "true"}, ""},
		{"OAuth issuer without the client id", []string{"_OKTA_OAUTH_ISSUER", "https://acme.okta.com/oauth2/default"}, "set _OKTA_OAUTH_CLIENT_ID"},
		{"SMS feedback on, several instances, no Redis", []string{"_SMS_FEEDBACK", "on"}, "need _REDIS_URL"},
		{"conversion guard enforced, several instances, no Redis", []string{"_CONVERSION_GUARD", "Enforce"}, "need _REDIS_URL"},
		{"conversion guard recording, several instances, no Redis", []string{"_CONVERSION_GUARD", "record"}, "need _REDIS_URL"},
		{"both on with Redis", []string{"_CONVERSION_GUARD", "enforce", "_SMS_FEEDBACK", "on", "_REDIS_URL", redisRef}, ""},
		{"both on, one instance", []string{"_CONVERSION_GUARD", "enforce", "_SMS_FEEDBACK", "true", "_MAX_INSTANCES", "1"}, ""},
		{"both off explicitly, no Redis", []string{"_CONVERSION_GUARD", "off", "_SMS_FEEDBACK", "off"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			subs := map[string]string{"PROJECT_ID": "acme-hooks"}
			for k, v := range c.Substitutions {
				subs[k] = v
			}
			subs["_SUBACCOUNT_ID"], subs["_SOURCE_NUMBER"] = "acme_otp", "+14155550100"
			for i := 0; i+1 < len(tc.subs); i += 2 {
				subs[tc.subs[i]] = tc.subs[i+1]
			}
			cmd := exec.Command(bash, "-c", cbExpand(step.Args[1], subs))
			cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
			out, err := cmd.CombinedOutput()
			switch {
			case tc.wants == "" && err != nil:
				t.Errorf("preflight stopped the deploy: %v\n%s", err, out)
			case tc.wants != "" && err == nil:
				t.Errorf("preflight let it through, want %q", tc.wants)
			case tc.wants != "" && !strings.Contains(string(out), tc.wants):
				t.Errorf("preflight said %q, want %q", out, tc.wants)
			}
		})
	}
}

// Cloud Build runs go test ./... on what `gcloud builds submit` uploads,
// which .gcloudignore decides: everything left out but what it re-includes.
// What the tests read must be in the upload, or the deploy fails at its
// test step.
func TestUploadHoldsWhatTheTestsRead(t *testing.T) {
	raw, err := os.ReadFile(".gcloudignore")
	if err != nil {
		t.Fatal(err)
	}
	var included []string
	for _, line := range strings.Split(string(raw), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "!/"); ok {
			included = append(included, p)
		}
	}
	uploaded := func(path string) bool {
		for _, p := range included {
			if ok, _ := pathpkg.Match(p, path); ok || strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) {
				return true
			}
		}
		return false
	}
	for _, path := range []string{
		"go.mod", "go.sum", "function.go", "cloudbuild.yaml", "README.md", "docs/security.md",
		"internal/receipts/testdata/", "cmd/oktasim/testdata/",
	} {
		if !uploaded(path) {
			t.Errorf("%s is read by the tests but left out of the upload by .gcloudignore (re-included: %v)", path, included)
		}
	}
}
