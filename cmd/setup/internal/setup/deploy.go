package setup

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"cloud.google.com/go/run/apiv2/runpb"
	"gopkg.in/yaml.v3"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/plan"
)

// Command runs an external program (gcloud) in dir. Tests replace it.
type Command func(ctx context.Context, dir string, stdout, stderr io.Writer, name string, args ...string) error

func execCommand(ctx context.Context, dir string, stdout, stderr io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, stdout, stderr
	return cmd.Run()
}

// substitution is one cloudbuild.yaml substitution the setup passes;
// optional ones are passed only when the file declares them.
type substitution struct {
	key, value string
	optional   bool
}

func (g *gcp) substitutions() []substitution {
	subs := []substitution{
		{key: "_REGION", value: g.cfg.Region},
		{key: "_SUBACCOUNT_ID", value: g.cfg.Subaccount},
		{key: "_SOURCE_NUMBER", value: g.cfg.SourceNumber},
		{key: "_REDIS_KEY_SECRET", value: g.ref(secretRedisKey), optional: true},
	}
	if g.cfg.OAuth {
		subs = append(subs,
			substitution{key: "_OKTA_OAUTH_ISSUER", value: g.getenv("OKTA_OAUTH_ISSUER")},
			substitution{key: "_OKTA_OAUTH_CLIENT_ID", value: g.getenv("OKTA_OAUTH_CLIENT_ID")})
	}
	if g.cfg.Redis {
		subs = append(subs,
			substitution{key: "_REDIS_URL", value: g.ref(secretRedisURL)},
			substitution{key: "_REDIS_CA_CERT", value: g.ref(secretRedisCA)},
			substitution{key: "_NETWORK", value: network},
			substitution{key: "_SUBNET", value: subnet},
			// Only Memorystore's private range goes through the VPC; 8x8
			// and Okta stay on Cloud Run's own egress.
			substitution{key: "_VPC_EGRESS", value: "private-ranges-only"},
		)
	}
	return subs
}

// buildArgs is the gcloud builds submit command line. A substitution the
// file does not declare would fail the build (Cloud Build refuses unused
// ones), so a required one missing is reported before anything runs.
func (g *gcp) buildArgs(dir string) ([]string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "cloudbuild.yaml"))
	if err != nil {
		return nil, fmt.Errorf("run the setup from the repository's root: %w", err)
	}
	var file struct {
		Substitutions map[string]string `yaml:"substitutions"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("cloudbuild.yaml: %w", err)
	}
	var kv []string
	for _, s := range g.substitutions() {
		if _, ok := file.Substitutions[s.key]; !ok {
			if s.optional {
				continue
			}
			return nil, fmt.Errorf("cloudbuild.yaml declares no substitution %s, which this setup needs", s.key)
		}
		kv = append(kv, s.key+"="+s.value)
	}
	return []string{"builds", "submit", "--config=cloudbuild.yaml", "--project=" + g.cfg.Project,
		"--service-account=" + g.project() + "/serviceAccounts/" + g.email(deployerAccount),
		// "^;^" makes ";" the separator: no value here holds one.
		"--substitutions=^;^" + strings.Join(kv, ";"), "."}, nil
}

// wantEnv is what the deployed service's variables say when it was
// deployed with this run's flags; any difference means a deploy.
func (g *gcp) wantEnv() map[string]string {
	env := map[string]string{"EIGHTYEIGHTX_SUBACCOUNT_ID": g.cfg.Subaccount, "EIGHTYEIGHTX_SOURCE_NUMBER": g.cfg.SourceNumber, "REDIS_URL": ""}
	if g.cfg.Redis {
		env["REDIS_URL"] = g.ref(secretRedisURL)
	}
	if g.cfg.OAuth {
		env["OKTA_OAUTH_ISSUER"], env["OKTA_OAUTH_CLIENT_ID"] = g.getenv("OKTA_OAUTH_ISSUER"), g.getenv("OKTA_OAUTH_CLIENT_ID")
	}
	return env
}

// deploy runs the gated Cloud Build deploy when the service is missing or
// was deployed with other settings, and returns the service's URL ("" in
// plan mode before the first deploy).
func (g *gcp) deploy(ctx context.Context, r *run, d *Deps) (string, error) {
	name := g.location() + "/services/" + serviceName
	svc, err := g.c.run.GetService(ctx, &runpb.GetServiceRequest{Name: name})
	action := plan.Update
	switch {
	case err == nil && envMatches(svc, g.wantEnv()):
		return svc.Uri, nil
	case r.missing(err):
		action = plan.Create
	case err != nil:
		return "", explain(err)
	}
	args, err := g.buildArgs(d.Dir)
	if err != nil {
		return "", err
	}
	err = r.change(plan.Change{System: "gcp", Action: action, Resource: "cloud run service " + serviceName, Detail: "gcloud builds submit --config=cloudbuild.yaml"}, func() error {
		if err := d.Command(ctx, d.Dir, d.stderr, d.stderr, "gcloud", args...); err != nil {
			return fmt.Errorf("gcloud builds submit: %w", err)
		}
		svc, err = g.c.run.GetService(ctx, &runpb.GetServiceRequest{Name: name})
		return err
	})
	return svc.GetUri(), err
}

func envMatches(svc *runpb.Service, want map[string]string) bool {
	cs := svc.GetTemplate().GetContainers()
	if len(cs) == 0 {
		return false
	}
	for k, v := range want {
		i := slices.IndexFunc(cs[0].Env, func(e *runpb.EnvVar) bool { return e.Name == k })
		if (i < 0 && v != "") || (i >= 0 && cs[0].Env[i].GetValue() != v) {
			return false
		}
	}
	return true
}
