// Package monitoring holds the service's monitoring as files in the APIs'
// own JSON shapes (Cloud Logging LogMetric, Cloud Monitoring AlertPolicy,
// UptimeCheckConfig, Dashboard), so the same files serve the setup
// command, gcloud and Terraform. ${PROJECT_ID} and ${SERVICE_HOST} are
// filled in when they are applied.
package monitoring

import "embed"

// Files are metrics/*.json, alerts/*.json, uptime.json and dashboard.json.
//
//go:embed metrics/*.json alerts/*.json uptime.json dashboard.json
var Files embed.FS
