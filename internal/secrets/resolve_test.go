package secrets_test

import (
	"cmp"
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
	apiKey     = "8x8-api-key-VALUE-6f1c"
	apiKeyOld  = "8x8-api-key-OLD-VALUE-0a9e"
	oktaSecret = "okta-shared-secret-VALUE-77d2"
	webhookKey = "webhook-secret-VALUE-91b3"
)

const (
	apiKeyRef   = "projects/p/secrets/api-key/versions/latest"
	apiKeyV1Ref = "projects/p/secrets/api-key/versions/1"
	oktaRef     = "projects/p/secrets/okta/versions/latest"
	webhookRef  = "projects/p/secrets/webhook/versions/latest"
)

// TestResolve runs the real client against the in-process fake.
func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		faults  func(s *secretstest.Server)
		values  map[string]string
		timeout time.Duration // the caller's budget; 30 s (a guard against hangs) when zero
		want    map[string]string
		wantErr string         // the whole error text; "" means success
		wantIs  error          // an error errors.Is must find
		counts  map[string]int // accesses per name as requested; nil: not checked
	}{
		{name: "sm scheme, latest by default, trailing newline trimmed",
			values: map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key"},
			want:   map[string]string{"EIGHTYEIGHTX_API_KEY": apiKey}, counts: map[string]int{apiKeyRef: 1}},
		{name: "sm scheme with a version number",
			values: map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key#1"},
			want:   map[string]string{"EIGHTYEIGHTX_API_KEY": apiKeyOld}, counts: map[string]int{apiKeyV1Ref: 1}},
		{name: "sm scheme with #latest, CRLF trimmed; resource name; plain values untouched",
			values: map[string]string{"OKTA_SECRET": "sm://p/okta#latest", "W": webhookRef, "URL": "https://voice.8x8.com", "T": "projects/p/topics/t", "RAW": "raw\n"},
			want:   map[string]string{"OKTA_SECRET": oktaSecret, "W": webhookKey, "URL": "https://voice.8x8.com", "T": "projects/p/topics/t", "RAW": "raw\n"}},
		{name: "keys sharing a reference are read once",
			values: map[string]string{"A": "sm://p/api-key", "B": apiKeyRef, "C": "sm://p/api-key#latest"},
			want:   map[string]string{"A": apiKey, "B": apiKey, "C": apiKey}, counts: map[string]int{apiKeyRef: 1}},
		{name: "not found",
			values:  map[string]string{"OKTA_SECRET": "sm://p/missing"},
			wantErr: "secrets: 1 unresolved: OKTA_SECRET (projects/p/secrets/missing/versions/latest): NotFound"},
		{name: "permission denied fails at once, naming only that key",
			faults:  func(s *secretstest.Server) { s.Fail(oktaRef, codes.PermissionDenied, -1) },
			values:  map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key", "OKTA_SECRET": "sm://p/okta", "LOG_LEVEL": "info"},
			wantErr: "secrets: 1 unresolved: OKTA_SECRET (" + oktaRef + "): PermissionDenied",
			counts:  map[string]int{apiKeyRef: 1, oktaRef: 1}},
		{name: "unavailable twice, then success: retried by the client",
			faults: func(s *secretstest.Server) { s.Fail(apiKeyRef, codes.Unavailable, 2) },
			values: map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key"},
			want:   map[string]string{"EIGHTYEIGHTX_API_KEY": apiKey}, counts: map[string]int{apiKeyRef: 3}},
		{name: "every transient code is retried",
			faults: func(s *secretstest.Server) {
				s.Fail(apiKeyRef, codes.DeadlineExceeded, 1)
				s.Fail(oktaRef, codes.ResourceExhausted, 1)
				s.Fail(webhookRef, codes.Internal, 1)
				s.Fail(apiKeyV1Ref, codes.Aborted, 1)
			},
			values: map[string]string{"A": apiKeyRef, "B": oktaRef, "C": webhookRef, "D": apiKeyV1Ref},
			want:   map[string]string{"A": apiKey, "B": oktaSecret, "C": webhookKey, "D": apiKeyOld},
			counts: map[string]int{apiKeyRef: 2, oktaRef: 2, webhookRef: 2, apiKeyV1Ref: 2}},
		{name: "CRC mismatch is refused, not retried",
			faults:  func(s *secretstest.Server) { s.CorruptCRC(apiKeyRef) },
			values:  map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key"},
			wantErr: "secrets: 1 unresolved: EIGHTYEIGHTX_API_KEY (" + apiKeyRef + "): checksum mismatch",
			wantIs:  secrets.ErrChecksum, counts: map[string]int{apiKeyRef: 1}},
		{name: "several failures are all named, sorted by key; a malformed reference is not read",
			faults: func(s *secretstest.Server) { s.Fail(oktaRef, codes.PermissionDenied, -1) },
			values: map[string]string{"Z_KEY": "sm://p/nope", "OKTA_SECRET": "sm://p/okta", "A_KEY": "sm://p/bad id", "EIGHTYEIGHTX_API_KEY": "sm://p/api-key"},
			wantErr: "secrets: 3 unresolved: " +
				`A_KEY: invalid secret reference: want sm://PROJECT/SECRET or sm://PROJECT/SECRET#VERSION (a number or "latest"); ` +
				"OKTA_SECRET (" + oktaRef + "): PermissionDenied; " +
				"Z_KEY (projects/p/secrets/nope/versions/latest): NotFound"},
		{name: "the caller's deadline ends the retries",
			faults:  func(s *secretstest.Server) { s.Fail(apiKeyRef, codes.Unavailable, -1) },
			values:  map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://p/api-key", "OKTA_SECRET": "sm://p/okta"},
			timeout: 300 * time.Millisecond,
			wantErr: "secrets: 1 unresolved: EIGHTYEIGHTX_API_KEY (" + apiKeyRef + "): DeadlineExceeded",
			wantIs:  context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := secretstest.NewServer(t)
			srv.Set(apiKeyV1Ref, []byte(apiKeyOld))
			srv.Set(apiKeyRef, []byte(apiKey+"\n")) // as `echo … | gcloud secrets create --data-file=-` stores it
			srv.Set("sm://p/okta", []byte(oktaSecret+"\r\n"))
			srv.Set(webhookRef, []byte(webhookKey))
			if tt.faults != nil {
				tt.faults(srv)
			}
			sm, err := secrets.NewSecretManager(t.Context(), srv.Addr())
			if err != nil {
				t.Fatalf("NewSecretManager: %v", err)
			}
			defer sm.Close()
			ctx, cancel := context.WithTimeout(t.Context(), cmp.Or(tt.timeout, 30*time.Second))
			defer cancel()
			input := maps.Clone(tt.values)

			got, err := secrets.Resolve(ctx, sm, tt.values)

			if !maps.Equal(input, tt.values) {
				t.Errorf("Resolve modified its input")
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Resolve: %v", err)
			case tt.wantErr == "" && !maps.Equal(got, tt.want):
				t.Errorf("Resolve = %q; want %q", got, tt.want)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || got != nil):
				t.Errorf("Resolve = %d values, %v\nwant error %s", len(got), err, tt.wantErr)
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			for _, v := range []string{apiKey, apiKeyOld, oktaSecret, webhookKey} {
				if err != nil && strings.Contains(err.Error(), v) {
					t.Errorf("error text %q contains a secret value", err)
				}
			}
			total := 0
			for name, want := range tt.counts {
				if n := srv.Count(name); n != want {
					t.Errorf("accesses of %s = %d; want %d", name, n, want)
				}
				total += want
			}
			if tt.counts != nil && srv.Total() != total {
				t.Errorf("total accesses = %d; want %d", srv.Total(), total)
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
	// Nothing listens on port 1: creation must still succeed, and Access
	// keep retrying Unavailable until its context ends.
	sm, err := secrets.NewSecretManager(t.Context(), "127.0.0.1:1")
	if err != nil {
		t.Fatalf("NewSecretManager: %v", err)
	}
	defer sm.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = sm.Access(ctx, apiKeyRef)
	if !errors.Is(err, context.DeadlineExceeded) && status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("Access against a closed port: %v; want the context's deadline", err)
	}
}
