package secrets

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// Accessor reads one secret version by its canonical resource name.
type Accessor interface {
	Access(ctx context.Context, name string) ([]byte, error)
}

// ErrChecksum: the payload did not match Secret Manager's CRC32C; it is dropped.
var ErrChecksum = errors.New("secrets: payload checksum mismatch")

// retry replaces the client's default (from 2 s up to 60 s): a cold start
// has a few seconds, so start small; the caller's context bounds the loop.
var retry = gax.WithRetry(func() gax.Retryer {
	return gax.OnCodes([]codes.Code{
		codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Internal, codes.Aborted,
	}, gax.Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2})
})

// SecretManager is an Accessor backed by the Secret Manager gRPC API.
type SecretManager struct{ client *secretmanager.Client }

// NewSecretManager creates a client that dials lazily, on the first Access:
// with Application Default Credentials, or with emulatorHost (host:port) in
// plaintext, unauthenticated gRPC (SECRETMANAGER_EMULATOR_HOST: tests, emulators).
func NewSecretManager(ctx context.Context, emulatorHost string) (*SecretManager, error) {
	var opts []option.ClientOption
	if emulatorHost != "" {
		opts = append(opts,
			option.WithEndpoint(emulatorHost),
			option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		)
	}
	c, err := secretmanager.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("secrets: creating Secret Manager client: %w", err)
	}
	return &SecretManager{client: c}, nil
}

// Access reads the secret version name, retrying transient errors until ctx
// ends, and verifies its checksum when the server sent one.
func (s *SecretManager) Access(ctx context.Context, name string) ([]byte, error) {
	resp, err := s.client.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name}, retry)
	if err != nil {
		return nil, err
	}
	p := resp.GetPayload()
	if want := p.DataCrc32C; want != nil && int64(crc32.Checksum(p.GetData(), crc32.MakeTable(crc32.Castagnoli))) != *want {
		return nil, ErrChecksum
	}
	return p.GetData(), nil
}

// Close releases the client's connections.
func (s *SecretManager) Close() error { return s.client.Close() }
