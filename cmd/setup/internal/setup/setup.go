// Package setup takes an empty Google Cloud project and Okta org to a
// deployed, verified hook in one idempotent command: preflight, Google
// Cloud (APIs, secrets, service accounts, Memorystore), the Cloud Build
// deploy, 8x8's receipt webhooks, Okta's hooks, monitoring, and Okta's
// execute of the hook as the last check. Every step upserts by a fixed
// name, so a second run changes nothing.
package setup

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"google.golang.org/api/option"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/oktaorg"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/plan"
)

// Config is what the flags say.
type Config struct {
	Project, Region, Account, Subaccount, SourceNumber, AlertEmail string
	Redis, OAuth, ReplaceOktaHook, PlanOnly                        bool
}

func parseFlags(args []string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Project, "project", "", "Google Cloud project id (required)")
	fs.StringVar(&c.Region, "region", "us-central1", "Cloud Run and Memorystore region")
	fs.StringVar(&c.Account, "account", "", "8x8 account id, a UUID: SMS webhooks are per account (required)")
	fs.StringVar(&c.Subaccount, "subaccount", "", "8x8 subaccount id (required)")
	fs.StringVar(&c.SourceNumber, "source-number", "", "caller id 8x8 whitelisted for the subaccount, E.164 (required)")
	fs.StringVar(&c.AlertEmail, "alert-email", "", "email address the alerts go to")
	fs.BoolVar(&c.Redis, "redis", false, "create a Memorystore instance (AUTH, TLS) and Direct VPC egress for it")
	fs.BoolVar(&c.OAuth, "oauth", false, "Okta calls the hook with an OAuth 2.0 token instead of a header secret")
	fs.BoolVar(&c.ReplaceOktaHook, "replace-okta-hook", false, "replace an active telephony hook that points elsewhere")
	fs.BoolVar(&c.PlanOnly, "plan", false, "check and print what would change, change nothing")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"-project", c.Project}, {"-account", c.Account}, {"-subaccount", c.Subaccount}, {"-source-number", c.SourceNumber}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 || fs.NArg() > 0 {
		return c, fmt.Errorf("usage: setup -project P -region R -account A -subaccount S -source-number N [-redis] [-oauth] [-alert-email E] [-replace-okta-hook] [-plan]; missing %s", strings.Join(missing, ", "))
	}
	return c, nil
}

// Deps are what tests replace; the zero value is the real thing.
type Deps struct {
	Google  []option.ClientOption // extra options for every Google client
	Command Command               // runs gcloud; exec by default
	Okta    *http.Client          // Okta's admin API; http.DefaultClient by default
	Dir     string                // the repository root (cloudbuild.yaml); "." by default

	stderr io.Writer // gcloud's output goes to the command's stderr
}

// Run is the command: go run ./cmd/setup -project P ...
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return Deps{}.Run(ctx, args, getenv, stdout, stderr)
}

// Run runs the setup with these dependencies.
func (d Deps) Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.Command == nil {
		d.Command = execCommand
	}
	if d.Dir == "" {
		d.Dir = "."
	}
	d.stderr = stderr

	if err := checkEnv(cfg, getenv); err != nil {
		return err
	}
	c, err := newClients(ctx, d.Google)
	if err != nil {
		return fmt.Errorf("google cloud clients (gcloud auth application-default login): %w", err)
	}
	defer c.close()
	g := &gcp{cfg: cfg, c: c, getenv: getenv}

	// Preflight: what only the operator can fix stops the run here, and
	// the plan pass reads every system (a wrong token fails it).
	fmt.Fprintf(stdout, "preflight: project %s, region %s\n", cfg.Project, cfg.Region)
	if err := g.preflight(ctx); err != nil {
		return err
	}
	changes, _, err := d.pass(ctx, g, &run{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "plan: %d changes\n", plan.Mutations(changes))
	printChanges(stdout, changes)
	if cfg.PlanOnly {
		fmt.Fprintln(stdout, "plan only: nothing was changed")
		return nil
	}

	fmt.Fprintln(stdout, "apply:")
	changes, org, err := d.pass(ctx, g, &run{apply: true, out: stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied: %d changes\n", plan.Mutations(changes))
	answer, err := check(ctx, org)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "end-to-end: Okta executed the telephony hook; it answered %s\n", answer)
	fmt.Fprintln(stdout, "one step left: sign in to Okta as a test user, enroll a phone and choose \"Receive a voice call\".")
	return nil
}

// pass plans (r.apply false) or applies every step in order, and returns
// the changes, and the Okta step for the end-to-end check.
func (d *Deps) pass(ctx context.Context, g *gcp, r *run) ([]plan.Change, *oktaorg.Org, error) {
	url, err := g.sync(ctx, r, d)
	if err != nil {
		return r.changes, nil, err
	}
	steps, org, err := d.steps(ctx, g, r, url)
	if err != nil {
		return r.changes, nil, err
	}
	for _, s := range steps {
		do := s.Plan
		if r.apply {
			do = s.Apply
		}
		cs, err := do(ctx)
		r.add(cs...)
		if err != nil {
			return r.changes, nil, fmt.Errorf("%w (set by %s)", err, s.uses)
		}
	}
	return r.changes, org, nil
}

func printChanges(w io.Writer, cs []plan.Change) {
	for _, c := range cs {
		fmt.Fprintln(w, "  "+c.String())
	}
}

// checkEnv says which credential variables are unset, by name.
func checkEnv(cfg Config, getenv func(string) string) error {
	var missing []string
	want := []string{"OKTA_ORG_URL", "EIGHTYEIGHTX_API_KEY"}
	if cfg.OAuth {
		want = append(want, "OKTA_OAUTH_ISSUER", "OKTA_OAUTH_CLIENT_ID", "OKTA_OAUTH_CLIENT_SECRET")
	}
	for _, k := range want {
		if getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	if getenv("OKTA_API_TOKEN") == "" && (getenv("OKTA_CLIENT_ID") == "" || getenv("OKTA_PRIVATE_KEY") == "") {
		missing = append(missing, "OKTA_API_TOKEN (or OKTA_CLIENT_ID and OKTA_PRIVATE_KEY)")
	}
	if len(missing) > 0 {
		return errors.New("export " + strings.Join(missing, ", ") + " first")
	}
	return nil
}
