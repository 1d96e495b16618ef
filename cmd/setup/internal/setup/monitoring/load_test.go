package monitoring

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	files "github.com/telephony-hooks/okta-8x8/deploy/monitoring"
)

var vars = Vars{ProjectID: "acme-prod", ServiceHost: "okta-telephony-hook-abc-uc.a.run.app"}

func TestFilesLoadAndHoldTogether(t *testing.T) {
	s, err := Load(vars)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Metrics) < 5 || len(s.Alerts) < 7 || len(s.Dashboard.GetMosaicLayout().GetTiles()) < 10 {
		t.Errorf("%d metrics, %d alerts, %d tiles", len(s.Metrics), len(s.Alerts), len(s.Dashboard.GetMosaicLayout().GetTiles()))
	}
	if h := s.Uptime.GetMonitoredResource().GetLabels()["host"]; h != vars.ServiceHost {
		t.Errorf("uptime host %q", h)
	}
}

// Each way the files can go wrong is caught by Load: the check is only
// worth having if it fails.
func TestBrokenFilesAreRefused(t *testing.T) {
	tests := []struct {
		name, file, old, new, want string
	}{
		{"unknown field", "metrics/okta_hook_latency.json", `"unit"`, `"units"`, "unknown field"},
		{"unknown placeholder", "uptime.json", "${SERVICE_HOST}", "${SERVICE_URL}", "unknown placeholder"},
		{"chart on a metric that does not exist", "dashboard.json", "user/okta_code_conversion", "user/okta_code_conversions", "not defined"},
		{"alert on a label the metric lacks", "alerts/delivery-rate.json", `metric.labels.delivered=`, `metric.labels.deliverd=`, `no label "deliverd"`},
		{"aligner that does not fit", "alerts/hook-latency.json", `"ALIGN_DELTA"`, `"ALIGN_RATE"`, "does not fit"},
		{"distribution without a percentile", "alerts/hook-latency.json", `"REDUCE_PERCENTILE_99"`, `"REDUCE_SUM"`, "needs a percentile"},
		{"label without extractor", "metrics/okta_hook_outcomes.json", `"channel": "EXTRACT(jsonPayload.channel)",`, ``, "no extractor"},
		{"tile outside the grid", "dashboard.json", `"xPos": 24`, `"xPos": 30`, "outside"},
		{"tiles overlap", "dashboard.json", `"yPos": 80`, `"yPos": 64`, "overlap"},
		{"policy without its key", "alerts/uptime.json", `"userLabels": {"okta_8x8": "uptime"},`, ``, "no userLabels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			names := []string{"uptime.json", "dashboard.json"}
			for _, dir := range []string{"metrics/*.json", "alerts/*.json"} {
				m, _ := fs.Glob(files.Files, dir)
				names = append(names, m...)
			}
			for _, n := range names {
				b, err := files.Files.ReadFile(n)
				if err != nil {
					t.Fatal(err)
				}
				if n == tt.file {
					if !strings.Contains(string(b), tt.old) {
						t.Fatalf("%s does not contain %q", n, tt.old)
					}
					b = []byte(strings.Replace(string(b), tt.old, tt.new, 1))
				}
				fsys[n] = &fstest.MapFile{Data: b}
			}
			_, err := load(fsys, vars)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
