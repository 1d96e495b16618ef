package secrets_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/telephony-hooks/okta-8x8/internal/secrets"
	"github.com/telephony-hooks/okta-8x8/internal/secrets/secretstest"
)

// Payloads stored in the fake; no error string may ever contain one.
const (
	apiKey      = "8x8-api-key-VALUE-6f1c"
	apiKeyOld   = "8x8-api-key-OLD-VALUE-0a9e"
	oktaSecret  = "okta-shared-secret-VALUE-77d2"
	webhookKey  = "webhook-secret-VALUE-91b3"
	plainSecret = "plain-secret-in-env-VALUE-3c4d"
)

var allSecretValues = []string{apiKey, apiKeyOld, oktaSecret, webhookKey, plainSecret}

const (
	apiKeyRef   = "projects/p/secrets/api-key/versions/latest"
	apiKeyV1Ref = "projects/p/secrets/api-key/versions/1"
	oktaRef     = "projects/p/secrets/okta/versions/latest"
	webhookRef  = "projects/p/secrets/webhook/versions/latest"
)

// seed stores three secrets; api-key has two versions.
func seed(s *secretstest.Server) {
	s.Set(apiKeyV1Ref, []byte(apiKeyOld))
	s.Set(apiKeyRef, []byte(apiKey+"\n")) // as `echo … | gcloud secrets create --data-file=-` stores it
	s.Set("sm://p/okta", []byte(oktaSecret+"\r\n"))
	s.Set(webhookRef, []byte(webhookKey))
}

// newResolver is a Resolver using the real client against a fresh fake, with
// a backoff of a few milliseconds so retry cases stay fast.
func newResolver(t testing.TB) (*secretstest.Server, secrets.Resolver) {
	t.Helper()
	srv := secretstest.NewServer(t)
	sm, err := secrets.NewSecretManager(t.Context(), srv.Addr())
	if err != nil {
		t.Fatalf("NewSecretManager: %v", err)
	}
	t.Cleanup(func() { sm.Close() })
	return srv, secrets.Resolver{Accessor: sm, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		faults  func(s *secretstest.Server)
		values  map[string]string
		timeout time.Duration // ctx budget; a guard against hangs unless the case is about it
		want    map[string]string
		// On failure: the keys named, substrings of the message, an error
		// errors.Is must find.
		wantFailed []string
		wantMsg    []string
		wantIs     error
		wantCounts map[string]int // accesses per name as requested
	}{
		{
			name:       "sm scheme, latest by default, trailing newline trimmed",
			values:     map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key"},
			want:       map[string]string{"EIGHTYEIGHTX_API_KEY": apiKey},
			wantCounts: map[string]int{apiKeyRef: 1},
		},
		{
			name:       "sm scheme with version number",
			values:     map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key#1"},
			want:       map[string]string{"EIGHTYEIGHTX_API_KEY": apiKeyOld},
			wantCounts: map[string]int{apiKeyV1Ref: 1},
		},
		{
			name:   "sm scheme with #latest, CRLF trimmed",
			values: map[string]string{"OKTA_SECRET": "sm://p/okta#latest"},
			want:   map[string]string{"OKTA_SECRET": oktaSecret},
		},
		{
			name:   "resource name",
			values: map[string]string{"EIGHTYEIGHTX_WEBHOOK_SECRET": webhookRef},
			want:   map[string]string{"EIGHTYEIGHTX_WEBHOOK_SECRET": webhookKey},
		},
		{
			name: "plain values pass through untouched",
			values: map[string]string{
				"OKTA_SECRET": plainSecret + "\n", "EMPTY": "", "URL": "https://voice.8x8.com",
				"NOT_A_REF": "projects/p/topics/t",
			},
			want: map[string]string{
				"OKTA_SECRET": plainSecret + "\n", "EMPTY": "", "URL": "https://voice.8x8.com",
				"NOT_A_REF": "projects/p/topics/t",
			},
			wantCounts: map[string]int{},
		},
		{
			name:       "not found",
			values:     map[string]string{"OKTA_SECRET": "sm://p/missing"},
			wantFailed: []string{"OKTA_SECRET"},
			wantMsg:    []string{"OKTA_SECRET (projects/p/secrets/missing/versions/latest): NotFound"},
			wantCounts: map[string]int{"projects/p/secrets/missing/versions/latest": 1},
		},
		{
			name:       "version not found",
			values:     map[string]string{"OKTA_SECRET": "sm://p/okta#9"},
			wantFailed: []string{"OKTA_SECRET"},
			wantMsg:    []string{"OKTA_SECRET (projects/p/secrets/okta/versions/9): NotFound"},
		},
		{
			name:       "permission denied fails at once",
			faults:     func(s *secretstest.Server) { s.Fail(apiKeyRef, codes.PermissionDenied, -1) },
			values:     map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key"},
			wantFailed: []string{"EIGHTYEIGHTX_API_KEY"},
			wantMsg:    []string{"EIGHTYEIGHTX_API_KEY (projects/p/secrets/api-key/versions/latest): PermissionDenied"},
			wantCounts: map[string]int{apiKeyRef: 1},
		},
		{
			name:       "invalid argument fails at once",
			faults:     func(s *secretstest.Server) { s.Fail(apiKeyRef, codes.InvalidArgument, -1) },
			values:     map[string]string{"K": apiKeyRef},
			wantFailed: []string{"K"},
			wantMsg:    []string{"K (" + apiKeyRef + "): InvalidArgument"},
			wantCounts: map[string]int{apiKeyRef: 1},
		},
		{
			name:       "failed precondition (disabled version) fails at once",
			faults:     func(s *secretstest.Server) { s.Fail(apiKeyRef, codes.FailedPrecondition, -1) },
			values:     map[string]string{"K": apiKeyRef},
			wantFailed: []string{"K"},
			wantMsg:    []string{"K (" + apiKeyRef + "): FailedPrecondition"},
			wantCounts: map[string]int{apiKeyRef: 1},
		},
		{
			name:       "unauthenticated fails at once",
			faults:     func(s *secretstest.Server) { s.Fail(apiKeyRef, codes.Unauthenticated, -1) },
			values:     map[string]string{"K": apiKeyRef},
			wantFailed: []string{"K"},
			wantMsg:    []string{"K (" + apiKeyRef + "): Unauthenticated"},
			wantCounts: map[string]int{apiKeyRef: 1},
		},
		{
			name:       "unavailable twice then success is retried",
			faults:     func(s *secretstest.Server) { s.Fail(apiKeyRef, codes.Unavailable, 2) },
			values:     map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key"},
			want:       map[string]string{"EIGHTYEIGHTX_API_KEY": apiKey},
			wantCounts: map[string]int{apiKeyRef: 3},
		},
		{
			name: "every transient code is retried",
			faults: func(s *secretstest.Server) {
				s.Fail(apiKeyRef, codes.DeadlineExceeded, 1)
				s.Fail(oktaRef, codes.ResourceExhausted, 1)
				s.Fail(webhookRef, codes.Internal, 1)
				s.Fail(apiKeyV1Ref, codes.Aborted, 1)
			},
			values: map[string]string{"A": apiKeyRef, "B": oktaRef, "C": webhookRef, "D": apiKeyV1Ref},
			want:   map[string]string{"A": apiKey, "B": oktaSecret, "C": webhookKey, "D": apiKeyOld},
			wantCounts: map[string]int{
				apiKeyRef: 2, oktaRef: 2, webhookRef: 2, apiKeyV1Ref: 2,
			},
		},
		{
			name:       "CRC mismatch is refused, not retried",
			faults:     func(s *secretstest.Server) { s.CorruptCRC(apiKeyRef) },
			values:     map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key"},
			wantFailed: []string{"EIGHTYEIGHTX_API_KEY"},
			wantMsg:    []string{"EIGHTYEIGHTX_API_KEY (" + apiKeyRef + "): checksum mismatch"},
			wantIs:     secrets.ErrChecksum,
			wantCounts: map[string]int{apiKeyRef: 1},
		},
		{
			name:   "one permanent failure among successes names only that key",
			faults: func(s *secretstest.Server) { s.Fail(oktaRef, codes.PermissionDenied, -1) },
			values: map[string]string{
				"EIGHTYEIGHTX_API_KEY":        "sm://p/api-key",
				"OKTA_SECRET":                 "sm://p/okta",
				"EIGHTYEIGHTX_WEBHOOK_SECRET": webhookRef,
				"OKTA_AUTH_HEADER":            "Authorization",
			},
			wantFailed: []string{"OKTA_SECRET"},
			wantMsg:    []string{"secrets: 1 unresolved: OKTA_SECRET (" + oktaRef + "): PermissionDenied"},
			wantCounts: map[string]int{apiKeyRef: 1, oktaRef: 1, webhookRef: 1},
		},
		{
			name: "several failures are all named, sorted by key",
			faults: func(s *secretstest.Server) {
				s.Fail(oktaRef, codes.PermissionDenied, -1)
			},
			values: map[string]string{
				"Z_KEY": "sm://p/nope", "OKTA_SECRET": "sm://p/okta", "A_KEY": "sm://p/bad id",
				"EIGHTYEIGHTX_API_KEY": "sm://p/api-key",
			},
			wantFailed: []string{"A_KEY", "OKTA_SECRET", "Z_KEY"},
			wantMsg: []string{
				"A_KEY: invalid secret reference: bad secret id; " +
					"OKTA_SECRET (" + oktaRef + "): PermissionDenied; " +
					"Z_KEY (projects/p/secrets/nope/versions/latest): NotFound",
			},
		},
		{
			name: "keys sharing a reference are read once",
			values: map[string]string{
				"EIGHTYEIGHTX_API_KEY": "sm://p/api-key",
				"SAME_IN_OTHER_FORM":   apiKeyRef,
				"SAME_WITH_LATEST":     "sm://p/api-key#latest",
			},
			want: map[string]string{
				"EIGHTYEIGHTX_API_KEY": apiKey, "SAME_IN_OTHER_FORM": apiKey, "SAME_WITH_LATEST": apiKey,
			},
			wantCounts: map[string]int{apiKeyRef: 1},
		},
		{
			name: "keys sharing a failing reference are all named",
			faults: func(s *secretstest.Server) {
				s.Fail(apiKeyRef, codes.PermissionDenied, -1)
			},
			values:     map[string]string{"A": "sm://p/api-key", "B": apiKeyRef},
			wantFailed: []string{"A", "B"},
			wantCounts: map[string]int{apiKeyRef: 1},
		},
		{
			name:       "malformed reference is reported without an access",
			values:     map[string]string{"OKTA_SECRET": "sm://proj"},
			wantFailed: []string{"OKTA_SECRET"},
			wantMsg:    []string{"OKTA_SECRET: invalid secret reference"},
			wantCounts: map[string]int{},
		},
		{
			name:       "deadline while the service stays unavailable ends the retries",
			faults:     func(s *secretstest.Server) { s.Fail(apiKeyRef, codes.Unavailable, -1) },
			values:     map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key", "OKTA_SECRET": "sm://p/okta"},
			timeout:    100 * time.Millisecond,
			wantFailed: []string{"EIGHTYEIGHTX_API_KEY"},
			wantMsg:    []string{"EIGHTYEIGHTX_API_KEY (" + apiKeyRef + "): "},
			wantIs:     context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, r := newResolver(t)
			seed(srv)
			if tt.faults != nil {
				tt.faults(srv)
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 30 * time.Second
			}
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			input := maps.Clone(tt.values)

			got, err := r.Resolve(ctx, tt.values)

			if !maps.Equal(input, tt.values) {
				t.Errorf("Resolve modified its input")
			}
			if len(tt.wantFailed) == 0 {
				if err != nil {
					t.Fatalf("Resolve: unexpected error %v", err)
				}
				if !maps.Equal(got, tt.want) {
					t.Errorf("Resolve = %q; want %q", got, tt.want)
				}
			} else {
				checkFailure(t, err, tt.wantFailed)
				t.Logf("error: %v", err)
				for _, m := range tt.wantMsg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not contain %q", err, m)
					}
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
				}
				if got != nil {
					t.Errorf("Resolve returned values with an error: %d keys", len(got))
				}
			}
			for name, want := range tt.wantCounts {
				if n := srv.Count(name); n != want {
					t.Errorf("accesses of %s = %d; want %d", name, n, want)
				}
			}
			if tt.wantCounts != nil {
				total := 0
				for name := range tt.wantCounts {
					total += srv.Count(name)
				}
				if srv.Total() != total {
					t.Errorf("total accesses = %d; want %d", srv.Total(), total)
				}
			}
		})
	}
}

// checkFailure asserts err is a *ResolveError naming exactly keys, and that
// no secret value appears in any error string it carries.
func checkFailure(t *testing.T, err error, keys []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Resolve succeeded; want failures for %v", keys)
	}
	re, ok := errors.AsType[*secrets.ResolveError](err)
	if !ok {
		t.Fatalf("error %T %v is not a *ResolveError", err, err)
	}
	var got []string
	for _, f := range re.Failures {
		got = append(got, f.Key)
	}
	if strings.Join(got, ",") != strings.Join(keys, ",") {
		t.Errorf("failed keys = %v; want %v", got, keys)
	}
	msgs := []string{err.Error()}
	for _, f := range re.Failures {
		msgs = append(msgs, f.String(), f.Err.Error())
	}
	for _, m := range msgs {
		for _, v := range allSecretValues {
			if strings.Contains(m, v) {
				t.Errorf("error text %q contains a secret value", m)
			}
		}
	}
}

// mapAccessor is an in-memory Accessor: payloads by name, else err.
type mapAccessor struct {
	payloads map[string]string
	err      error
}

func (m mapAccessor) Access(_ context.Context, name string) ([]byte, error) {
	if p, ok := m.payloads[name]; ok {
		return []byte(p), nil
	}
	return nil, m.err
}

func TestResolveWithAnyAccessor(t *testing.T) {
	tests := []struct {
		name       string
		accessor   mapAccessor
		values     map[string]string
		want       map[string]string
		wantFailed []string
		wantMsg    string
	}{
		{
			name:     "map accessor resolves",
			accessor: mapAccessor{payloads: map[string]string{oktaRef: oktaSecret + "\n\n"}},
			values:   map[string]string{"OKTA_SECRET": "sm://p/okta", "LOG_LEVEL": "debug"},
			want:     map[string]string{"OKTA_SECRET": oktaSecret, "LOG_LEVEL": "debug"},
		},
		{
			name:     "nil and empty input give an empty map",
			accessor: mapAccessor{},
			values:   nil,
			want:     map[string]string{},
		},
		{
			name:       "a non-gRPC error is permanent and reported as Unknown",
			accessor:   mapAccessor{err: errors.New("disk on fire")},
			values:     map[string]string{"OKTA_SECRET": "sm://p/okta"},
			wantFailed: []string{"OKTA_SECRET"},
			wantMsg:    "OKTA_SECRET (" + oktaRef + "): Unknown",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secrets.Resolve(t.Context(), tt.accessor, tt.values)
			if len(tt.wantFailed) > 0 {
				checkFailure(t, err, tt.wantFailed)
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q does not contain %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got == nil || !maps.Equal(got, tt.want) {
				t.Errorf("Resolve = %#v; want %#v", got, tt.want)
			}
		})
	}
}

// barrierAccessor answers only once n accesses are in flight together, so
// Resolve completes only if it reads distinct references in parallel.
type barrierAccessor struct {
	n       int
	mu      sync.Mutex
	started int
	all     chan struct{}
}

func (b *barrierAccessor) Access(ctx context.Context, name string) ([]byte, error) {
	b.mu.Lock()
	b.started++
	if b.started == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return []byte("payload of " + name), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestResolveReadsDistinctReferencesInParallel(t *testing.T) {
	a := &barrierAccessor{n: 3, all: make(chan struct{})}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // guard only
	defer cancel()
	values := map[string]string{"A": "sm://p/a", "B": "sm://p/b", "C": "sm://p/c", "A2": "sm://p/a"}

	got, err := secrets.Resolve(ctx, a, values)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got["A"] != "payload of projects/p/secrets/a/versions/latest" || got["A2"] != got["A"] {
		t.Errorf("Resolve = %q", got)
	}
}

func TestNewSecretManagerDialsLazily(t *testing.T) {
	// Nothing listens on port 1: creation must still succeed, and the failure
	// show up on Access as Unavailable (which Resolve retries), not as a
	// permanent code and not after the client's own retries.
	sm, err := secrets.NewSecretManager(t.Context(), "127.0.0.1:1")
	if err != nil {
		t.Fatalf("NewSecretManager: %v", err)
	}
	defer sm.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // guard only
	defer cancel()
	_, err = sm.Access(ctx, apiKeyRef)
	if code := status.Code(err); code != codes.Unavailable {
		t.Errorf("Access against a closed port: code %v (%v); want Unavailable", code, err)
	}
}

// flakyAccessor answers Unavailable and cancels the caller's context on its
// n-th access, making "ran out of time" deterministic.
type flakyAccessor struct {
	n      int
	calls  int
	cancel context.CancelFunc
}

func (f *flakyAccessor) Access(context.Context, string) ([]byte, error) {
	f.calls++ // one reference: never called concurrently
	if f.calls == f.n {
		f.cancel()
	}
	return nil, status.Error(codes.Unavailable, "try later")
}

func TestResolveGivesUpWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a := &flakyAccessor{n: 3, cancel: cancel}
	r := secrets.Resolver{Accessor: a, Backoff: time.Millisecond}

	_, err := r.Resolve(ctx, map[string]string{"OKTA_SECRET": "sm://p/okta"})

	checkFailure(t, err, []string{"OKTA_SECRET"})
	want := "OKTA_SECRET (" + oktaRef + "): Unavailable after 3 attempts; gave up: context canceled"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) = false")
	}
	re, _ := errors.AsType[*secrets.ResolveError](err)
	if f := re.Failures[0]; f.Code != codes.Unavailable || f.Attempts != 3 {
		t.Errorf("failure code %v after %d attempts; want Unavailable after 3", f.Code, f.Attempts)
	}
}
