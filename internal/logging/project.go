package logging

import (
	"context"
	"sync"
	"time"

	"cloud.google.com/go/compute/metadata"
)

// metadataTimeout bounds the metadata lookup: it runs on a cold start and
// the metadata server answers in milliseconds on Cloud Run.
const metadataTimeout = 500 * time.Millisecond

// ProjectID returns the project for trace correlation: GOOGLE_CLOUD_PROJECT,
// then GCP_PROJECT (older runtimes), else the metadata server when running
// on Google Cloud. A metadata answer is cached for the process; a failure
// returns "" and is retried by the next call, so one slow start does not
// leave the instance without trace correlation for its whole life.
func ProjectID(ctx context.Context, getenv func(string) string) string {
	for _, k := range []string{"GOOGLE_CLOUD_PROJECT", "GCP_PROJECT"} {
		if p := getenv(k); p != "" {
			return p
		}
	}
	return defaultMetadata.projectID(ctx)
}

var defaultMetadata = &metadataProject{
	onGCE: metadata.OnGCEWithContext,
	fetch: metadata.ProjectIDWithContext,
}

// metadataProject caches the first successful lookup; the lock also keeps
// concurrent cold-start callers from all querying at once.
type metadataProject struct {
	onGCE func(context.Context) bool
	fetch func(context.Context) (string, error)

	mu sync.Mutex
	id string
}

func (m *metadataProject) projectID(ctx context.Context) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.id != "" {
		return m.id
	}
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	if !m.onGCE(ctx) {
		return ""
	}
	id, err := m.fetch(ctx)
	if err != nil {
		return ""
	}
	m.id = id
	return id
}
