package secrets

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Accessor reads one secret version by its canonical resource name.
type Accessor interface {
	Access(ctx context.Context, name string) ([]byte, error)
}

// ErrChecksum means the payload did not match the CRC32C Secret Manager sent
// with it; the payload is discarded, never returned.
var ErrChecksum = errors.New("secrets: payload checksum mismatch")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// noRetry turns off the client's own retries for AccessSecretVersion (by
// default Unavailable/ResourceExhausted from 2 s up to 60 s), so Resolver's
// backoff, bounded by the caller's context, is the only retry loop.
var noRetry = gax.WithRetry(func() gax.Retryer { return nil })

// SecretManager is an Accessor backed by the Secret Manager gRPC API.
type SecretManager struct {
	client *secretmanager.Client
}

// NewSecretManager creates a Secret Manager client. With an empty emulatorHost
// it uses Application Default Credentials; with host:port it talks plaintext,
// unauthenticated gRPC to that address (tests, emulators). The connection is
// dialled lazily, on the first Access.
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

// Access reads the secret version name and verifies its checksum when the
// server sent one.
func (s *SecretManager) Access(ctx context.Context, name string) ([]byte, error) {
	resp, err := s.client.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name}, noRetry)
	if err != nil {
		return nil, err
	}
	p := resp.GetPayload()
	if want := p.DataCrc32C; want != nil && int64(crc32.Checksum(p.GetData(), castagnoli)) != *want {
		return nil, ErrChecksum
	}
	return p.GetData(), nil
}

// Close releases the client's connections.
func (s *SecretManager) Close() error {
	return s.client.Close()
}
