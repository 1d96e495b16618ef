package setup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"cloud.google.com/go/iam"
	admin "cloud.google.com/go/iam/admin/apiv1"
	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/redis/apiv1/redispb"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/grpc/codes"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/plan"
)

// gcp is the Google Cloud step: one pass plans or applies it.
type gcp struct {
	cfg    Config
	c      *clients
	getenv func(string) string
}

func (g *gcp) project() string  { return "projects/" + g.cfg.Project }
func (g *gcp) location() string { return g.project() + "/locations/" + g.cfg.Region }
func (g *gcp) email(account string) string {
	return account + "@" + g.cfg.Project + ".iam.gserviceaccount.com"
}
func (g *gcp) ref(secret string) string { return "sm://" + g.cfg.Project + "/" + secret }

// sync brings the project to what the hook needs, then deploys; it returns
// the service's URL.
func (g *gcp) sync(ctx context.Context, r *run, d *Deps) (string, error) {
	if err := g.enableAPIs(ctx, r); err != nil {
		return "", err
	}
	secrets := []string{secretOkta, secretAPIKey, secretWebhook, secretEventHook, secretRedisKey}
	for _, id := range secrets {
		value, detail := randomValue, "random"
		if id == secretAPIKey {
			value, detail = func() (string, error) { return g.getenv("EIGHTYEIGHTX_API_KEY"), nil }, "from EIGHTYEIGHTX_API_KEY"
		}
		if err := g.ensureSecret(ctx, r, id, detail, value); err != nil {
			return "", err
		}
	}
	for _, a := range []struct{ id, display string }{{runtimeAccount, "Okta telephony hook"}, {deployerAccount, "Okta telephony hook deployer"}} {
		if err := g.ensureAccount(ctx, r, a.id, a.display); err != nil {
			return "", err
		}
	}
	err := ensurePolicy(r, "project "+g.cfg.Project, g.projectBindings(),
		func() (*iampb.Policy, error) {
			return g.c.projects.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: g.project(), Options: &iampb.GetPolicyOptions{RequestedPolicyVersion: 3}})
		},
		func(p *iampb.Policy) error {
			_, err := g.c.projects.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: g.project(), Policy: p})
			return err
		})
	if err != nil {
		return "", err
	}
	// The deployer deploys a service that runs as the runtime account, and
	// runs the source build as itself.
	deployer := binding{"roles/iam.serviceAccountUser", "serviceAccount:" + g.email(deployerAccount)}
	for _, a := range []string{runtimeAccount, deployerAccount} {
		name := g.project() + "/serviceAccounts/" + g.email(a)
		err := ensurePolicy(r, "service account "+a, []binding{deployer},
			func() (*iampb.Policy, error) {
				p, err := g.c.iam.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: name})
				if err != nil {
					return nil, err
				}
				return p.InternalProto, nil
			},
			func(p *iampb.Policy) error {
				_, err := g.c.iam.SetIamPolicy(ctx, &admin.SetIamPolicyRequest{Resource: name, Policy: &iam.Policy{InternalProto: p}})
				return err
			})
		if err != nil {
			return "", err
		}
	}
	if g.cfg.Redis {
		in, err := g.ensureRedis(ctx, r)
		if err != nil {
			return "", err
		}
		if err := g.redisSecrets(ctx, r, in); err != nil {
			return "", err
		}
		secrets = append(secrets, secretRedisURL, secretRedisCA)
	}
	// The runtime account reads these secrets and no others.
	reader := binding{"roles/secretmanager.secretAccessor", "serviceAccount:" + g.email(runtimeAccount)}
	for _, id := range secrets {
		name := g.project() + "/secrets/" + id
		err := ensurePolicy(r, "secret "+id, []binding{reader},
			func() (*iampb.Policy, error) {
				return g.c.secrets.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: name})
			},
			func(p *iampb.Policy) error {
				_, err := g.c.secrets.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: name, Policy: p})
				return err
			})
		if err != nil {
			return "", err
		}
	}
	return g.deploy(ctx, r, d)
}

func (g *gcp) ensureAccount(ctx context.Context, r *run, id, display string) error {
	_, err := g.c.iam.GetServiceAccount(ctx, &adminpb.GetServiceAccountRequest{Name: g.project() + "/serviceAccounts/" + g.email(id)})
	if err == nil || !r.missing(err) {
		return explain(err)
	}
	return r.change(plan.Change{System: "gcp", Action: plan.Create, Resource: "service account " + id}, func() error {
		_, err := g.c.iam.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{
			Name: g.project(), AccountId: id, ServiceAccount: &adminpb.ServiceAccount{DisplayName: display}})
		return err
	})
}

// The fixed names every run upserts. cloudbuild.yaml's defaults name the
// same service and accounts.
const (
	serviceName     = "okta-telephony-hook"
	runtimeAccount  = "okta-telephony-hook"
	deployerAccount = "okta-hook-deployer"
	redisInstance   = "okta-telephony-hook"
	// Memorystore and Direct VPC egress use the project's auto-mode
	// network, whose subnet in each region is also called default.
	network = "default"
	subnet  = "default"
)

// apis are enabled on every run; redisAPIs too with -redis.
var (
	apis      = []string{"iam.googleapis.com", "secretmanager.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com", "logging.googleapis.com", "monitoring.googleapis.com"}
	redisAPIs = []string{"redis.googleapis.com", "compute.googleapis.com"}
)

// permissions the caller needs on the project, each with a role that
// grants it (roles/owner grants them all).
var permissions = []struct{ perm, role string }{
	{"serviceusage.services.enable", "roles/serviceusage.serviceUsageAdmin"},
	{"secretmanager.secrets.create", "roles/secretmanager.admin"},
	{"secretmanager.secrets.setIamPolicy", "roles/secretmanager.admin"},
	{"secretmanager.versions.add", "roles/secretmanager.admin"},
	{"secretmanager.versions.access", "roles/secretmanager.admin"},
	{"iam.serviceAccounts.create", "roles/iam.serviceAccountAdmin"},
	{"iam.serviceAccounts.setIamPolicy", "roles/iam.serviceAccountAdmin"},
	{"iam.serviceAccounts.actAs", "roles/iam.serviceAccountUser"},
	{"resourcemanager.projects.setIamPolicy", "roles/resourcemanager.projectIamAdmin"},
	{"cloudbuild.builds.create", "roles/cloudbuild.builds.editor"},
	{"run.services.get", "roles/run.viewer"},
	{"logging.logMetrics.create", "roles/logging.configWriter"},
	{"monitoring.alertPolicies.create", "roles/monitoring.editor"},
	{"monitoring.dashboards.create", "roles/monitoring.editor"},
}

var redisPermissions = []struct{ perm, role string }{
	{"redis.instances.create", "roles/redis.admin"},
	{"redis.instances.getAuthString", "roles/redis.admin"},
}

// The secrets the hook reads (cloudbuild.yaml refers to them by name).
const (
	secretOkta      = "okta-secret"
	secretAPIKey    = "eightbyeightx-api-key"
	secretWebhook   = "eightbyeightx-webhook-secret"
	secretEventHook = "okta-event-hook-secret"
	secretRedisKey  = "redis-key-secret"
	secretRedisURL  = "redis-url"
	secretRedisCA   = "redis-ca-cert"
)

// roles the runtime and deployer accounts hold on the project, as
// docs/admin-guide.md lists them.
func (g *gcp) projectBindings() []binding {
	rt, dep := "serviceAccount:"+g.email(runtimeAccount), "serviceAccount:"+g.email(deployerAccount)
	bs := []binding{{"roles/logging.logWriter", rt}}
	for _, r := range []string{"roles/run.admin", "roles/run.sourceDeveloper", "roles/run.builder",
		"roles/serviceusage.serviceUsageConsumer", "roles/logging.logWriter", "roles/secretmanager.viewer"} {
		bs = append(bs, binding{r, dep})
	}
	if g.cfg.Redis {
		// Direct VPC egress: the deployer names the network and subnet.
		bs = append(bs, binding{"roles/compute.networkViewer", dep})
	}
	return bs
}

type binding struct{ role, member string }

// run is one pass over the resources: in plan mode it only reads and
// lists; in apply it also makes each change, and lists what it made.
type run struct {
	apply   bool
	out     io.Writer // apply prints each change once made
	changes []plan.Change
}

func (r *run) change(c plan.Change, do func() error) error {
	if r.apply {
		if err := do(); err != nil {
			return fmt.Errorf("%s: %w", c.Resource, err)
		}
	}
	r.add(c)
	return nil
}

func (r *run) add(cs ...plan.Change) {
	r.changes = append(r.changes, cs...)
	if r.apply {
		printChanges(r.out, cs)
	}
}

// missing says a read found nothing: not found, or (plan mode) an API this
// run would enable first, which therefore holds nothing yet.
func (r *run) missing(err error) bool {
	var ae *apierror.APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.GRPCStatus().Code() == codes.NotFound || (!r.apply && ae.Reason() == "SERVICE_DISABLED")
}

// explain names the API behind a SERVICE_DISABLED error, so the operator
// reads which one to enable.
func explain(err error) error {
	var ae *apierror.APIError
	if errors.As(err, &ae) && ae.Reason() == "SERVICE_DISABLED" {
		api := ae.Metadata()["service"]
		return fmt.Errorf("the %s API is disabled in this project (enable it: gcloud services enable %s): %w", api, api, err)
	}
	return err
}

// preflight checks, before any change, what only the operator can fix:
// the caller's permissions on the project.
func (g *gcp) preflight(ctx context.Context) error {
	perms := permissions
	if g.cfg.Redis {
		perms = append(slices.Clone(perms), redisPermissions...)
	}
	var ask []string
	for _, p := range perms {
		ask = append(ask, p.perm)
	}
	resp, err := g.c.projects.TestIamPermissions(ctx, &iampb.TestIamPermissionsRequest{Resource: g.project(), Permissions: ask})
	if err != nil {
		return explain(err)
	}
	var lack []string
	for _, p := range perms {
		if !slices.Contains(resp.Permissions, p.perm) {
			lack = append(lack, fmt.Sprintf("%s (%s)", p.perm, p.role))
		}
	}
	if len(lack) > 0 {
		return fmt.Errorf("the caller lacks these permissions on %s: %s; grant the roles named, or roles/owner", g.project(), strings.Join(lack, ", "))
	}
	return nil
}

func (g *gcp) enableAPIs(ctx context.Context, r *run) error {
	want := apis
	if g.cfg.Redis {
		want = append(slices.Clone(apis), redisAPIs...)
	}
	var names []string
	for _, a := range want {
		names = append(names, g.project()+"/services/"+a)
	}
	resp, err := g.c.usage.BatchGetServices(ctx, &serviceusagepb.BatchGetServicesRequest{Parent: g.project(), Names: names})
	if err != nil {
		return explain(err)
	}
	var off []string
	for _, s := range resp.Services {
		if s.State != serviceusagepb.State_ENABLED {
			off = append(off, s.Name[strings.LastIndex(s.Name, "/")+1:])
		}
	}
	if len(off) == 0 {
		return nil
	}
	return r.change(plan.Change{System: "gcp", Action: plan.Create, Resource: "apis " + strings.Join(off, ", "), Detail: "enable"}, func() error {
		op, err := g.c.usage.BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{Parent: g.project(), ServiceIds: off})
		if err != nil {
			return err
		}
		_, err = op.Wait(ctx)
		return err
	})
}

// ensureSecret creates the secret with one version from value when it has
// none. An existing version is never replaced: values live in Secret
// Manager only, and other systems (Okta, 8x8) already hold them.
func (g *gcp) ensureSecret(ctx context.Context, r *run, id, detail string, value func() (string, error)) error {
	name := g.project() + "/secrets/" + id
	_, err := g.c.secrets.GetSecretVersion(ctx, &secretmanagerpb.GetSecretVersionRequest{Name: name + "/versions/latest"})
	if err == nil {
		return nil
	}
	if !r.missing(err) {
		return explain(err)
	}
	return r.change(plan.Change{System: "gcp", Action: plan.Create, Resource: "secret " + id, Detail: detail}, func() error {
		v, err := value()
		if err != nil {
			return err
		}
		_, err = g.c.secrets.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{
			Parent: g.project(), SecretId: id,
			Secret: &secretmanagerpb.Secret{
				Replication: &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}},
				Labels:      map[string]string{"managed-by": "okta-8x8-setup"},
			},
		})
		// A run that stopped between the two calls left the secret
		// without a version.
		if err != nil && !isCode(err, codes.AlreadyExists) {
			return err
		}
		_, err = g.c.secrets.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: name, Payload: &secretmanagerpb.SecretPayload{Data: []byte(v)}})
		return err
	})
}

// secret reads a secret's latest value, for the steps that hand it to
// Okta or 8x8. Nothing prints it.
func (g *gcp) secret(ctx context.Context, id string) (string, error) {
	resp, err := g.c.secrets.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: g.project() + "/secrets/" + id + "/versions/latest"})
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", id, explain(err))
	}
	return string(resp.Payload.Data), nil
}

func randomValue() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func isCode(err error, c codes.Code) bool {
	var ae *apierror.APIError
	return errors.As(err, &ae) && ae.GRPCStatus().Code() == c
}

// grant adds the bindings pol lacks, and says which it added.
func grant(pol *iampb.Policy, want []binding) []binding {
	var added []binding
	for _, w := range want {
		i := slices.IndexFunc(pol.Bindings, func(b *iampb.Binding) bool { return b.Role == w.role && b.Condition == nil })
		if i < 0 {
			pol.Bindings = append(pol.Bindings, &iampb.Binding{Role: w.role})
			i = len(pol.Bindings) - 1
		}
		if !slices.Contains(pol.Bindings[i].Members, w.member) {
			pol.Bindings[i].Members = append(pol.Bindings[i].Members, w.member)
			added = append(added, w)
		}
	}
	return added
}

// ensurePolicy adds want to a resource's IAM policy, never removing a
// binding. A resource this run creates has an empty policy in plan mode.
func ensurePolicy(r *run, resource string, want []binding, get func() (*iampb.Policy, error), set func(*iampb.Policy) error) error {
	pol, err := get()
	if r.missing(err) {
		pol, err = &iampb.Policy{}, nil
	}
	if err != nil {
		return explain(err)
	}
	added := grant(pol, want)
	if len(added) == 0 {
		return nil
	}
	// One entry per member, which reads shorter than one per binding.
	var ds []string
	for i, b := range added {
		who, _, _ := strings.Cut(strings.TrimPrefix(b.member, "serviceAccount:"), "@")
		if i == 0 || b.member != added[i-1].member {
			ds = append(ds, who+" "+b.role)
		} else {
			ds[len(ds)-1] += " " + b.role
		}
	}
	// Conditional bindings need version 3 to be written back intact.
	pol.Version = 3
	return r.change(plan.Change{System: "gcp", Action: plan.Update, Resource: "iam policy of " + resource, Detail: "grant " + strings.Join(ds, "; ")},
		func() error { return set(pol) })
}

func (g *gcp) ensureRedis(ctx context.Context, r *run) (*redispb.Instance, error) {
	name := g.location() + "/instances/" + redisInstance
	in, err := g.c.redis.GetInstance(ctx, &redispb.GetInstanceRequest{Name: name})
	if err == nil || !r.missing(err) {
		return in, explain(err)
	}
	err = r.change(plan.Change{System: "gcp", Action: plan.Create, Resource: "memorystore " + redisInstance, Detail: "BASIC 1 GB, AUTH, TLS, network " + network}, func() error {
		op, err := g.c.redis.CreateInstance(ctx, &redispb.CreateInstanceRequest{
			Parent: g.location(), InstanceId: redisInstance,
			Instance: &redispb.Instance{
				Tier: redispb.Instance_BASIC, MemorySizeGb: 1, RedisVersion: "REDIS_7_2",
				AuthorizedNetwork:     g.project() + "/global/networks/" + network,
				ConnectMode:           redispb.Instance_DIRECT_PEERING,
				AuthEnabled:           true,
				TransitEncryptionMode: redispb.Instance_SERVER_AUTHENTICATION,
				Labels:                map[string]string{"managed-by": "okta-8x8-setup"},
			},
		})
		if err != nil {
			return err
		}
		in, err = op.Wait(ctx)
		return err
	})
	return in, err
}

// redisSecrets stores the rediss:// URL with the AUTH string and the
// server's CA, which the hook needs to trust Memorystore's certificate.
func (g *gcp) redisSecrets(ctx context.Context, r *run, in *redispb.Instance) error {
	url := func() (string, error) {
		if !in.AuthEnabled || in.TransitEncryptionMode != redispb.Instance_SERVER_AUTHENTICATION {
			return "", fmt.Errorf("memorystore %s has AUTH or TLS off: delete it and run again", redisInstance)
		}
		auth, err := g.c.redis.GetInstanceAuthString(ctx, &redispb.GetInstanceAuthStringRequest{Name: in.Name})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("rediss://:%s@%s:%d", auth.AuthString, in.Host, in.Port), nil
	}
	ca := func() (string, error) {
		var pem strings.Builder
		for _, c := range in.ServerCaCerts {
			pem.WriteString(c.Cert)
		}
		if pem.Len() == 0 {
			return "", fmt.Errorf("memorystore %s has no server CA yet", redisInstance)
		}
		return pem.String(), nil
	}
	if err := g.ensureSecret(ctx, r, secretRedisURL, "rediss:// URL with the instance's AUTH string", url); err != nil {
		return err
	}
	return g.ensureSecret(ctx, r, secretRedisCA, "the instance's server CA (PEM)", ca)
}
