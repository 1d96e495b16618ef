package logging

import (
	"context"
	"time"

	"cloud.google.com/go/compute/metadata"
)

// metadataTimeout bounds the metadata lookup: it runs on a cold start and
// the metadata server answers in milliseconds on Cloud Run.
const metadataTimeout = 500 * time.Millisecond

// ProjectID returns the project for trace correlation: GOOGLE_CLOUD_PROJECT,
// then GCP_PROJECT (older runtimes), else the metadata server when running
// on Google Cloud (the client caches its answer for the process). A failure
// returns "": the entries then carry no trace, and nothing else is lost.
func ProjectID(ctx context.Context, getenv func(string) string) string {
	for _, k := range []string{"GOOGLE_CLOUD_PROJECT", "GCP_PROJECT"} {
		if p := getenv(k); p != "" {
			return p
		}
	}
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	if !metadata.OnGCEWithContext(ctx) {
		return ""
	}
	id, _ := metadata.ProjectIDWithContext(ctx)
	return id
}
