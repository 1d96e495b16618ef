package logging

import (
	"context"
	"time"

	"cloud.google.com/go/compute/metadata"
)

// metadataTimeout bounds the metadata lookup: it runs on a cold start and
// the metadata server answers in milliseconds on Cloud Run.
const metadataTimeout = 500 * time.Millisecond

// ProjectID asks the metadata server for the project, for trace
// correlation, when running on Google Cloud (the client caches its answer
// for the process); GOOGLE_CLOUD_PROJECT, read by config, comes first. A
// failure returns "": the entries then carry no trace, and nothing else is
// lost.
func ProjectID(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	if !metadata.OnGCEWithContext(ctx) {
		return ""
	}
	id, _ := metadata.ProjectIDWithContext(ctx)
	return id
}
