// Package gcpfake plays one Google Cloud project for the setup command's
// tests: Service Usage, IAM admin, Resource Manager (project IAM), Secret
// Manager, Memorystore for Redis and Cloud Run, as gRPC services that the
// real cloud.google.com/go clients reach on a loopback listener. Requests
// arrive as Google's own protos; every call that changes the project is
// recorded, so a test can say how many mutations a run made.
package gcpfake

import (
	"context"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"strings"
	"sync"

	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/redis/apiv1/redispb"
	"cloud.google.com/go/resourcemanager/apiv3/resourcemanagerpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Project is the fake project's state, which tests read and set through
// the methods below.
type Project struct {
	ID string

	mu        sync.Mutex
	enabled   map[string]bool // API service names, e.g. run.googleapis.com
	denied    map[string]bool // permissions the caller lacks
	policy    *iampb.Policy   // the project's IAM policy
	accounts  map[string]*adminpb.ServiceAccount
	saPolicy  map[string]*iampb.Policy
	secrets   map[string]*secretmanagerpb.Secret
	versions  map[string][][]byte
	smPolicy  map[string]*iampb.Policy
	instances map[string]*redispb.Instance
	services  map[string]*runpb.Service
	mutations []string
}

// New is an empty project in which only the two APIs a new project has
// enabled by default and the setup needs before it can enable others are on.
func New(id string) *Project {
	return &Project{
		ID:        id,
		enabled:   map[string]bool{"serviceusage.googleapis.com": true, "cloudresourcemanager.googleapis.com": true},
		denied:    map[string]bool{},
		policy:    &iampb.Policy{Version: 1, Etag: []byte("0")},
		accounts:  map[string]*adminpb.ServiceAccount{},
		saPolicy:  map[string]*iampb.Policy{},
		secrets:   map[string]*secretmanagerpb.Secret{},
		versions:  map[string][][]byte{},
		smPolicy:  map[string]*iampb.Policy{},
		instances: map[string]*redispb.Instance{},
		services:  map[string]*runpb.Service{},
	}
}

// Register serves the project's APIs on s.
func (p *Project) Register(s *grpc.Server) {
	serviceusagepb.RegisterServiceUsageServer(s, usage{p: p})
	resourcemanagerpb.RegisterProjectsServer(s, projects{p: p})
	adminpb.RegisterIAMServer(s, &iamAdmin{p: p})
	secretmanagerpb.RegisterSecretManagerServiceServer(s, secretManager{p: p})
	redispb.RegisterCloudRedisServer(s, memorystore{p: p})
	runpb.RegisterServicesServer(s, cloudRun{p: p})
}

// Disable turns an API off: its calls answer PERMISSION_DENIED with
// Google's SERVICE_DISABLED error details.
func (p *Project) Disable(api string) { p.mu.Lock(); delete(p.enabled, api); p.mu.Unlock() }

// Deny takes a permission away from the caller.
func (p *Project) Deny(perm string) { p.mu.Lock(); p.denied[perm] = true; p.mu.Unlock() }

// Mutations lists the calls that changed the project, in order.
func (p *Project) Mutations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.mutations)
}

// Secret is the latest payload of a secret (short name), false if none.
func (p *Project) Secret(name string) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	vs := p.versions[p.secretName(name)]
	if len(vs) == 0 {
		return nil, false
	}
	return vs[len(vs)-1], true
}

// SetSecret adds a version to a secret (short name), creating the secret
// and enabling Secret Manager as an earlier run or the operator would have.
func (p *Project) SetSecret(name string, payload []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.enabled["secretmanager.googleapis.com"] = true
	n := p.secretName(name)
	if p.secrets[n] == nil {
		p.secrets[n] = &secretmanagerpb.Secret{Name: n}
	}
	p.versions[n] = append(p.versions[n], payload)
}

// Deploy stands in for a Cloud Build deploy: it creates or replaces the
// Cloud Run service (short name) with that URL and those environment
// variables, and counts as one mutation.
func (p *Project) Deploy(region, service, uri string, env map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &runpb.Container{}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		c.Env = append(c.Env, &runpb.EnvVar{Name: k, Values: &runpb.EnvVar_Value{Value: env[k]}})
	}
	name := fmt.Sprintf("projects/%s/locations/%s/services/%s", p.ID, region, service)
	p.services[name] = &runpb.Service{Name: name, Uri: uri, Template: &runpb.RevisionTemplate{Containers: []*runpb.Container{c}}}
	p.mutations = append(p.mutations, "deploy "+service)
}

// Instance is a copy of a Memorystore instance, nil if there is none.
func (p *Project) Instance(region, id string) *redispb.Instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := p.instances[fmt.Sprintf("projects/%s/locations/%s/instances/%s", p.ID, region, id)]
	if in == nil {
		return nil
	}
	return proto.Clone(in).(*redispb.Instance)
}

// Bindings are the members holding role on the project.
func (p *Project) Bindings(role string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return members(p.policy, role)
}

func (p *Project) secretName(short string) string {
	return "projects/" + p.ID + "/secrets/" + short
}

func members(pol *iampb.Policy, role string) []string {
	for _, b := range pol.GetBindings() {
		if b.Role == role {
			return slices.Clone(b.Members)
		}
	}
	return nil
}

// begin locks the project for one call of api; the caller unlocks. A
// disabled API answers as Google does.
func (p *Project) begin(api string) error {
	p.mu.Lock()
	if !p.enabled[api] {
		p.mu.Unlock()
		st, _ := status.New(codes.PermissionDenied, api+" has not been used in project "+p.ID+" before or it is disabled").
			WithDetails(&errdetails.ErrorInfo{Reason: "SERVICE_DISABLED", Domain: "googleapis.com",
				Metadata: map[string]string{"service": api, "consumer": "projects/" + p.ID}})
		return st.Err()
	}
	return nil
}

func (p *Project) mutate(format string, args ...any) {
	p.mutations = append(p.mutations, fmt.Sprintf(format, args...))
}

// inProject refuses a resource name outside this project.
func (p *Project) inProject(name string) error {
	if !strings.HasPrefix(name, "projects/"+p.ID+"/") && name != "projects/"+p.ID {
		return status.Errorf(codes.PermissionDenied, "%s is not in project %s", name, p.ID)
	}
	return nil
}

func notFound(name string) error { return status.Errorf(codes.NotFound, "%s not found", name) }

// setPolicy replaces *dst with a copy of pol if pol's etag matches, as
// Google's optimistic concurrency does, and bumps the etag.
func setPolicy(dst **iampb.Policy, pol *iampb.Policy) (*iampb.Policy, error) {
	cur := *dst
	if cur == nil {
		cur = &iampb.Policy{Etag: []byte("0")}
	}
	if len(pol.GetEtag()) > 0 && string(pol.Etag) != string(cur.Etag) {
		return nil, status.Error(codes.Aborted, "etag mismatch")
	}
	next := proto.Clone(pol).(*iampb.Policy)
	next.Etag = []byte(fmt.Sprint(len(cur.Etag) + 1))
	*dst = next
	return proto.Clone(next).(*iampb.Policy), nil
}

func policyOrEmpty(pol *iampb.Policy) *iampb.Policy {
	if pol == nil {
		return &iampb.Policy{Etag: []byte("0")}
	}
	return proto.Clone(pol).(*iampb.Policy)
}

// doneOp is a long-running operation that has already finished.
func doneOp(name string, resp proto.Message) (*longrunningpb.Operation, error) {
	a, err := anypb.New(resp)
	if err != nil {
		return nil, err
	}
	return &longrunningpb.Operation{Name: name, Done: true, Result: &longrunningpb.Operation_Response{Response: a}}, nil
}

type usage struct {
	serviceusagepb.UnimplementedServiceUsageServer
	p *Project
}

func (u usage) BatchGetServices(_ context.Context, req *serviceusagepb.BatchGetServicesRequest) (*serviceusagepb.BatchGetServicesResponse, error) {
	p := u.p
	if err := p.begin("serviceusage.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if err := p.inProject(req.Parent); err != nil {
		return nil, err
	}
	resp := &serviceusagepb.BatchGetServicesResponse{}
	for _, n := range req.Names {
		state := serviceusagepb.State_DISABLED
		if p.enabled[n[strings.LastIndex(n, "/")+1:]] {
			state = serviceusagepb.State_ENABLED
		}
		resp.Services = append(resp.Services, &serviceusagepb.Service{Name: n, State: state})
	}
	return resp, nil
}

func (u usage) BatchEnableServices(_ context.Context, req *serviceusagepb.BatchEnableServicesRequest) (*longrunningpb.Operation, error) {
	p := u.p
	if err := p.begin("serviceusage.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if err := p.inProject(req.Parent); err != nil {
		return nil, err
	}
	if p.denied["serviceusage.services.enable"] {
		return nil, status.Error(codes.PermissionDenied, "permission serviceusage.services.enable denied")
	}
	resp := &serviceusagepb.BatchEnableServicesResponse{}
	for _, id := range req.ServiceIds {
		p.enabled[id] = true
		resp.Services = append(resp.Services, &serviceusagepb.Service{Name: req.Parent + "/services/" + id, State: serviceusagepb.State_ENABLED})
	}
	p.mutate("enable %s", strings.Join(req.ServiceIds, ","))
	return doneOp("operations/enable", resp)
}

type projects struct {
	resourcemanagerpb.UnimplementedProjectsServer
	p *Project
}

func (s projects) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	p := s.p
	if err := p.begin("cloudresourcemanager.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if err := p.inProject(req.Resource); err != nil {
		return nil, err
	}
	return policyOrEmpty(p.policy), nil
}

func (s projects) SetIamPolicy(_ context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	p := s.p
	if err := p.begin("cloudresourcemanager.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if err := p.inProject(req.Resource); err != nil {
		return nil, err
	}
	p.mutate("set project policy")
	return setPolicy(&p.policy, req.Policy)
}

func (s projects) TestIamPermissions(_ context.Context, req *iampb.TestIamPermissionsRequest) (*iampb.TestIamPermissionsResponse, error) {
	p := s.p
	if err := p.begin("cloudresourcemanager.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if err := p.inProject(req.Resource); err != nil {
		return nil, err
	}
	resp := &iampb.TestIamPermissionsResponse{}
	for _, perm := range req.Permissions {
		if !p.denied[perm] {
			resp.Permissions = append(resp.Permissions, perm)
		}
	}
	return resp, nil
}

type iamAdmin struct {
	adminpb.UnimplementedIAMServer
	p *Project
}

// accountName accepts projects/P/serviceAccounts/EMAIL and the
// projects/-/ wildcard form.
func (s iamAdmin) accountName(name string) string {
	return strings.Replace(name, "projects/-/", "projects/"+s.p.ID+"/", 1)
}

func (s iamAdmin) GetServiceAccount(_ context.Context, req *adminpb.GetServiceAccountRequest) (*adminpb.ServiceAccount, error) {
	p := s.p
	if err := p.begin("iam.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	sa := p.accounts[s.accountName(req.Name)]
	if sa == nil {
		return nil, notFound(req.Name)
	}
	return proto.Clone(sa).(*adminpb.ServiceAccount), nil
}

func (s iamAdmin) CreateServiceAccount(_ context.Context, req *adminpb.CreateServiceAccountRequest) (*adminpb.ServiceAccount, error) {
	p := s.p
	if err := p.begin("iam.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if err := p.inProject(req.Name); err != nil {
		return nil, err
	}
	email := req.AccountId + "@" + p.ID + ".iam.gserviceaccount.com"
	name := req.Name + "/serviceAccounts/" + email
	if p.accounts[name] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "%s exists", email)
	}
	sa := &adminpb.ServiceAccount{Name: name, ProjectId: p.ID, Email: email, DisplayName: req.GetServiceAccount().GetDisplayName()}
	p.accounts[name] = sa
	p.mutate("create service account %s", req.AccountId)
	return proto.Clone(sa).(*adminpb.ServiceAccount), nil
}

func (s iamAdmin) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	p := s.p
	if err := p.begin("iam.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	name := s.accountName(req.Resource)
	if p.accounts[name] == nil {
		return nil, notFound(req.Resource)
	}
	return policyOrEmpty(p.saPolicy[name]), nil
}

func (s iamAdmin) SetIamPolicy(_ context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	p := s.p
	if err := p.begin("iam.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	name := s.accountName(req.Resource)
	if p.accounts[name] == nil {
		return nil, notFound(req.Resource)
	}
	pol := p.saPolicy[name]
	out, err := setPolicy(&pol, req.Policy)
	if err == nil {
		p.saPolicy[name] = pol
		p.mutate("set policy of %s", name)
	}
	return out, err
}

type secretManager struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	p *Project
}

func (s secretManager) GetSecret(_ context.Context, req *secretmanagerpb.GetSecretRequest) (*secretmanagerpb.Secret, error) {
	p := s.p
	if err := p.begin("secretmanager.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	sec := p.secrets[req.Name]
	if sec == nil {
		return nil, notFound(req.Name)
	}
	return proto.Clone(sec).(*secretmanagerpb.Secret), nil
}

func (s secretManager) CreateSecret(_ context.Context, req *secretmanagerpb.CreateSecretRequest) (*secretmanagerpb.Secret, error) {
	p := s.p
	if err := p.begin("secretmanager.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if err := p.inProject(req.Parent); err != nil {
		return nil, err
	}
	if req.GetSecret().GetReplication() == nil {
		return nil, status.Error(codes.InvalidArgument, "secret.replication is required")
	}
	name := req.Parent + "/secrets/" + req.SecretId
	if p.secrets[name] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "%s exists", name)
	}
	sec := proto.Clone(req.Secret).(*secretmanagerpb.Secret)
	sec.Name = name
	p.secrets[name] = sec
	p.mutate("create secret %s", req.SecretId)
	return proto.Clone(sec).(*secretmanagerpb.Secret), nil
}

func (s secretManager) AddSecretVersion(_ context.Context, req *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	p := s.p
	if err := p.begin("secretmanager.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if p.secrets[req.Parent] == nil {
		return nil, notFound(req.Parent)
	}
	p.versions[req.Parent] = append(p.versions[req.Parent], slices.Clone(req.GetPayload().GetData()))
	p.mutate("add version to %s", req.Parent)
	return &secretmanagerpb.SecretVersion{Name: fmt.Sprintf("%s/versions/%d", req.Parent, len(p.versions[req.Parent])),
		State: secretmanagerpb.SecretVersion_ENABLED}, nil
}

// latest resolves projects/P/secrets/S/versions/latest (only "latest").
func (s secretManager) latest(name string) (string, []byte, error) {
	secret, ok := strings.CutSuffix(name, "/versions/latest")
	vs := s.p.versions[secret]
	if !ok || len(vs) == 0 {
		return "", nil, notFound(name)
	}
	return fmt.Sprintf("%s/versions/%d", secret, len(vs)), vs[len(vs)-1], nil
}

func (s secretManager) GetSecretVersion(_ context.Context, req *secretmanagerpb.GetSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	if err := s.p.begin("secretmanager.googleapis.com"); err != nil {
		return nil, err
	}
	defer s.p.mu.Unlock()
	name, _, err := s.latest(req.Name)
	if err != nil {
		return nil, err
	}
	return &secretmanagerpb.SecretVersion{Name: name, State: secretmanagerpb.SecretVersion_ENABLED}, nil
}

func (s secretManager) AccessSecretVersion(_ context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	if err := s.p.begin("secretmanager.googleapis.com"); err != nil {
		return nil, err
	}
	defer s.p.mu.Unlock()
	name, data, err := s.latest(req.Name)
	if err != nil {
		return nil, err
	}
	crc := int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	return &secretmanagerpb.AccessSecretVersionResponse{Name: name, Payload: &secretmanagerpb.SecretPayload{Data: slices.Clone(data), DataCrc32C: &crc}}, nil
}

func (s secretManager) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	p := s.p
	if err := p.begin("secretmanager.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if p.secrets[req.Resource] == nil {
		return nil, notFound(req.Resource)
	}
	return policyOrEmpty(p.smPolicy[req.Resource]), nil
}

func (s secretManager) SetIamPolicy(_ context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	p := s.p
	if err := p.begin("secretmanager.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if p.secrets[req.Resource] == nil {
		return nil, notFound(req.Resource)
	}
	pol := p.smPolicy[req.Resource]
	out, err := setPolicy(&pol, req.Policy)
	if err == nil {
		p.smPolicy[req.Resource] = pol
		p.mutate("set policy of %s", req.Resource)
	}
	return out, err
}

type memorystore struct {
	redispb.UnimplementedCloudRedisServer
	p *Project
}

func (s memorystore) GetInstance(_ context.Context, req *redispb.GetInstanceRequest) (*redispb.Instance, error) {
	p := s.p
	if err := p.begin("redis.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	in := p.instances[req.Name]
	if in == nil {
		return nil, notFound(req.Name)
	}
	return proto.Clone(in).(*redispb.Instance), nil
}

// CreateInstance finishes at once: the instance is READY with a loopback
// address, a fixed AUTH string and a placeholder CA when TLS is asked for.
func (s memorystore) CreateInstance(_ context.Context, req *redispb.CreateInstanceRequest) (*longrunningpb.Operation, error) {
	p := s.p
	if err := p.begin("redis.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if err := p.inProject(req.Parent); err != nil {
		return nil, err
	}
	name := req.Parent + "/instances/" + req.InstanceId
	if p.instances[name] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "%s exists", name)
	}
	in := proto.Clone(req.Instance).(*redispb.Instance)
	in.Name, in.State, in.Host, in.Port = name, redispb.Instance_READY, "127.0.0.1", 6379
	if in.TransitEncryptionMode == redispb.Instance_SERVER_AUTHENTICATION {
		in.Port = 6378
		in.ServerCaCerts = []*redispb.TlsCertificate{{Cert: "-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n"}}
	}
	p.instances[name] = in
	p.mutate("create redis instance %s", req.InstanceId)
	return doneOp(name+"/operations/create", in)
}

func (s memorystore) GetInstanceAuthString(_ context.Context, req *redispb.GetInstanceAuthStringRequest) (*redispb.InstanceAuthString, error) {
	p := s.p
	if err := p.begin("redis.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	in := p.instances[req.Name]
	if in == nil || !in.AuthEnabled {
		return nil, notFound(req.Name + " auth string")
	}
	return &redispb.InstanceAuthString{AuthString: "fake-auth-" + in.Name[strings.LastIndex(in.Name, "/")+1:]}, nil
}

type cloudRun struct {
	runpb.UnimplementedServicesServer
	p *Project
}

func (s cloudRun) GetService(_ context.Context, req *runpb.GetServiceRequest) (*runpb.Service, error) {
	p := s.p
	if err := p.begin("run.googleapis.com"); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	svc := p.services[req.Name]
	if svc == nil {
		return nil, notFound(req.Name)
	}
	return proto.Clone(svc).(*runpb.Service), nil
}
