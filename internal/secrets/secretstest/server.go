// Package secretstest runs an in-process fake Secret Manager on a loopback
// gRPC listener, so the real client (and SECRETMANAGER_EMULATOR_HOST in
// end-to-end tests) can be pointed at it.
package secretstest

import (
	"context"
	"hash/crc32"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/telephony-hooks/okta-8x8/internal/secrets"
)

// Server is a fake Secret Manager serving AccessSecretVersion only. Names
// given to its methods may be in any form secrets.ParseReference accepts;
// Fail, CorruptCRC and Count match the name as the client requests it, so
// ".../versions/latest" and ".../versions/1" are distinct there.
type Server struct {
	t    testing.TB
	addr string
	svc  *service
}

// NewServer starts a fake on 127.0.0.1:0; it stops when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("secretstest: listen: %v", err)
	}
	svc := &service{
		versions: map[string]map[int64][]byte{},
		fails:    map[string]*failure{},
		corrupt:  map[string]bool{},
		counts:   map[string]int{},
	}
	gs := grpc.NewServer()
	secretmanagerpb.RegisterSecretManagerServiceServer(gs, svc)
	go gs.Serve(lis) //nolint:errcheck // Serve returns only when Stop is called
	t.Cleanup(gs.Stop)
	return &Server{t: t, addr: lis.Addr().String(), svc: svc}
}

// Addr is the host:port to use as SECRETMANAGER_EMULATOR_HOST.
func (s *Server) Addr() string { return s.addr }

// Set stores payload under name. A numbered version sets that version;
// "latest" (or an sm:// reference without #VERSION) adds the next version.
func (s *Server) Set(name string, payload []byte) {
	s.t.Helper()
	secret, version := split(s.canonical(name))
	s.svc.mu.Lock()
	defer s.svc.mu.Unlock()
	vs := s.svc.versions[secret]
	if vs == nil {
		vs = map[int64][]byte{}
		s.svc.versions[secret] = vs
	}
	n, err := strconv.ParseInt(version, 10, 64)
	if err != nil { // latest
		n = highest(vs) + 1
	}
	vs[n] = slices.Clone(payload)
}

// Fail makes the next times accesses of name answer code; times < 0 fails
// every access from now on.
func (s *Server) Fail(name string, code codes.Code, times int) {
	s.t.Helper()
	n := s.canonical(name)
	s.svc.mu.Lock()
	defer s.svc.mu.Unlock()
	s.svc.fails[n] = &failure{code: code, times: times}
}

// CorruptCRC makes accesses of name carry a wrong DataCrc32C.
func (s *Server) CorruptCRC(name string) {
	s.t.Helper()
	n := s.canonical(name)
	s.svc.mu.Lock()
	defer s.svc.mu.Unlock()
	s.svc.corrupt[n] = true
}

// Count is the number of accesses of name so far, failed ones included.
func (s *Server) Count(name string) int {
	s.t.Helper()
	n := s.canonical(name)
	s.svc.mu.Lock()
	defer s.svc.mu.Unlock()
	return s.svc.counts[n]
}

// Total is the number of accesses of any name so far.
func (s *Server) Total() int {
	s.svc.mu.Lock()
	defer s.svc.mu.Unlock()
	return s.svc.total
}

func (s *Server) canonical(name string) string {
	s.t.Helper()
	n, ok, err := secrets.ParseReference(name)
	if err != nil || !ok {
		s.t.Fatalf("secretstest: %q is not a secret version name (%v)", name, err)
	}
	return n
}

type failure struct {
	code  codes.Code
	times int
}

type service struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer

	mu       sync.Mutex
	versions map[string]map[int64][]byte // projects/P/secrets/S → version → payload
	fails    map[string]*failure
	corrupt  map[string]bool
	counts   map[string]int
	total    int
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *service) AccessSecretVersion(_ context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	name := req.GetName()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.counts[name]++

	if f := s.fails[name]; f != nil && f.times != 0 {
		if f.times > 0 {
			f.times--
		}
		return nil, status.Error(f.code, "injected failure")
	}
	// Like the real service, only the canonical resource name is accepted.
	if n, ok, err := secrets.ParseReference(name); err != nil || !ok || n != name {
		return nil, status.Error(codes.InvalidArgument, "invalid resource name")
	}
	secret, version := split(name)
	vs := s.versions[secret]
	n, err := strconv.ParseInt(version, 10, 64)
	if err != nil { // latest
		n = highest(vs)
	}
	data, found := vs[n]
	if !found {
		return nil, status.Error(codes.NotFound, "secret version not found")
	}
	crc := int64(crc32.Checksum(data, castagnoli))
	if s.corrupt[name] {
		crc ^= 1
	}
	return &secretmanagerpb.AccessSecretVersionResponse{
		Name:    secret + "/versions/" + strconv.FormatInt(n, 10),
		Payload: &secretmanagerpb.SecretPayload{Data: slices.Clone(data), DataCrc32C: &crc},
	}, nil
}

// split cuts a canonical name into projects/P/secrets/S and its version.
func split(name string) (secret, version string) {
	i := strings.LastIndex(name, "/versions/")
	return name[:i], name[i+len("/versions/"):]
}

// highest is the latest version number, 0 when there is none.
func highest(vs map[int64][]byte) int64 {
	if len(vs) == 0 {
		return 0
	}
	return slices.Max(slices.Collect(maps.Keys(vs)))
}
