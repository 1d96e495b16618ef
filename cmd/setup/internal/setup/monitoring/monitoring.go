// Package monitoring loads the service's monitoring files
// (deploy/monitoring), checks that they hold together, and upserts them
// into a project: the log-based metrics, the alert policies with an email
// channel, the /healthz uptime check and the dashboard.
package monitoring

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	loggingpb "cloud.google.com/go/logging/apiv2/loggingpb"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	dashboardpb "cloud.google.com/go/monitoring/dashboard/apiv1/dashboardpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	files "github.com/telephony-hooks/okta-8x8/deploy/monitoring"
)

// Set is every monitoring resource, as the APIs take them.
type Set struct {
	Metrics   []*loggingpb.LogMetric
	Alerts    []*monitoringpb.AlertPolicy
	Uptime    *monitoringpb.UptimeCheckConfig
	Dashboard *dashboardpb.Dashboard
}

// Vars fill the files' placeholders.
type Vars struct {
	ProjectID   string
	ServiceHost string // the Cloud Run URL's host
}

// Load reads the repository's files (Files) with vars filled in.
func Load(vars Vars) (*Set, error) { return load(files.Files, vars) }

// load parses each file strictly: a field the API does not know is an
// error, so a typo cannot silently drop a setting.
func load(fsys fs.FS, vars Vars) (*Set, error) {
	s := &Set{}
	read := func(name string, m proto.Message) error {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		var missing []string
		text := os.Expand(string(b), func(k string) string {
			switch k {
			case "PROJECT_ID":
				return vars.ProjectID
			case "SERVICE_HOST":
				return vars.ServiceHost
			}
			if strings.ToUpper(k) != k { // a chart's legend: ${metric.labels.country}
				return "${" + k + "}"
			}
			missing = append(missing, k)
			return ""
		})
		if len(missing) > 0 {
			return fmt.Errorf("%s: unknown placeholder %v", name, missing)
		}
		if err := protojson.Unmarshal([]byte(text), m); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	for _, dir := range []string{"metrics", "alerts"} {
		names, err := fs.Glob(fsys, dir+"/*.json")
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			if dir == "metrics" {
				m := &loggingpb.LogMetric{}
				if err := read(name, m); err != nil {
					return nil, err
				}
				if m.Name+".json" != path.Base(name) {
					return nil, fmt.Errorf("%s: metric name %q is not its file's name", name, m.Name)
				}
				s.Metrics = append(s.Metrics, m)
				continue
			}
			a := &monitoringpb.AlertPolicy{}
			if err := read(name, a); err != nil {
				return nil, err
			}
			s.Alerts = append(s.Alerts, a)
		}
	}
	s.Uptime, s.Dashboard = &monitoringpb.UptimeCheckConfig{}, &dashboardpb.Dashboard{}
	if err := read("uptime.json", s.Uptime); err != nil {
		return nil, err
	}
	if err := read("dashboard.json", s.Dashboard); err != nil {
		return nil, err
	}
	return s, s.Check()
}

// label is how alert and chart filters name the alert's own key:
// userLabels["okta_8x8"] identifies each policy across runs.
const label = "okta_8x8"

// Key is the fixed identity of a policy, by which it is upserted.
func Key(a *monitoringpb.AlertPolicy) string { return a.GetUserLabels()[label] }

// metricKind is what Check knows of a metric a chart or alert uses.
type metricKind struct {
	kind   string // DELTA, GAUGE
	value  string // INT64, DISTRIBUTION, BOOL
	labels []string
}

// builtin are Google's own metrics the files use.
var builtin = map[string]metricKind{
	"run.googleapis.com/container/instance_count":         {"GAUGE", "INT64", []string{"state"}},
	"run.googleapis.com/container/cpu/utilizations":       {"DELTA", "DISTRIBUTION", nil},
	"monitoring.googleapis.com/uptime_check/check_passed": {"GAUGE", "BOOL", []string{"check_id", "checker_location"}},
}

// aligners says which per-series aligners fit a metric's kind and value.
var aligners = map[string][]string{
	"DELTA/INT64":        {"ALIGN_DELTA", "ALIGN_RATE", "ALIGN_SUM", "ALIGN_MEAN", "ALIGN_MAX", "ALIGN_MIN"},
	"GAUGE/INT64":        {"ALIGN_MAX", "ALIGN_MIN", "ALIGN_MEAN", "ALIGN_SUM", "ALIGN_NEXT_OLDER"},
	"DELTA/DISTRIBUTION": {"ALIGN_DELTA", "ALIGN_SUM", "ALIGN_PERCENTILE_99", "ALIGN_PERCENTILE_95", "ALIGN_PERCENTILE_50", "ALIGN_PERCENTILE_05"},
	"GAUGE/BOOL":         {"ALIGN_NEXT_OLDER", "ALIGN_FRACTION_TRUE", "ALIGN_COUNT_TRUE", "ALIGN_COUNT_FALSE"},
}

// Check cross-checks the set: every metric a chart or alert names exists
// with the labels it filters or groups by, each aligner fits its metric,
// every metric's label has an extractor, and the dashboard's tiles sit
// inside the grid without overlapping.
func (s *Set) Check() error {
	known := maps.Clone(builtin)
	for _, m := range s.Metrics {
		var labels []string
		for _, l := range m.GetMetricDescriptor().GetLabels() {
			labels = append(labels, l.Key)
			if _, ok := m.LabelExtractors[l.Key]; !ok {
				return fmt.Errorf("metric %s: label %q has no extractor", m.Name, l.Key)
			}
		}
		d := m.GetMetricDescriptor()
		known["logging.googleapis.com/user/"+m.Name] = metricKind{d.GetMetricKind().String(), d.GetValueType().String(), labels}
	}
	use := func(where, filter string, agg *monitoringpb.Aggregation) error {
		return checkUse(known, where, filter, agg.GetPerSeriesAligner().String(), agg.GetCrossSeriesReducer().String(), agg.GetGroupByFields())
	}
	chart := func(where, filter string, agg *dashboardpb.Aggregation) error {
		return checkUse(known, where, filter, agg.GetPerSeriesAligner().String(), agg.GetCrossSeriesReducer().String(), agg.GetGroupByFields())
	}
	for _, a := range s.Alerts {
		if Key(a) == "" {
			return fmt.Errorf("alert %q: no userLabels.%s to upsert it by", a.DisplayName, label)
		}
		for _, c := range a.Conditions {
			t := c.GetConditionThreshold()
			if t == nil {
				if c.GetConditionMatchedLog() == nil {
					return fmt.Errorf("alert %q: a condition neither threshold nor log match", a.DisplayName)
				}
				if a.GetAlertStrategy().GetNotificationRateLimit() == nil {
					return fmt.Errorf("alert %q: a log-match alert needs alertStrategy.notificationRateLimit", a.DisplayName)
				}
				continue
			}
			for _, agg := range t.Aggregations {
				if err := use("alert "+a.DisplayName, t.Filter, agg); err != nil {
					return err
				}
			}
			for _, agg := range t.DenominatorAggregations {
				if err := use("alert "+a.DisplayName+" (denominator)", t.DenominatorFilter, agg); err != nil {
					return err
				}
			}
		}
	}
	taken := map[[2]int32]string{}
	grid := s.Dashboard.GetMosaicLayout()
	for _, tile := range grid.GetTiles() {
		w := tile.Widget
		if tile.XPos < 0 || tile.YPos < 0 || tile.Width <= 0 || tile.Height <= 0 || tile.XPos+tile.Width > grid.Columns {
			return fmt.Errorf("tile %q: outside the %d-column grid", w.Title, grid.Columns)
		}
		for x := tile.XPos; x < tile.XPos+tile.Width; x++ {
			for y := tile.YPos; y < tile.YPos+tile.Height; y++ {
				if other, ok := taken[[2]int32{x, y}]; ok {
					return fmt.Errorf("tiles %q and %q overlap", other, w.Title)
				}
				taken[[2]int32{x, y}] = w.Title
			}
		}
		for _, ds := range w.GetXyChart().GetDataSets() {
			q := ds.GetTimeSeriesQuery()
			if f := q.GetTimeSeriesFilter(); f != nil {
				if err := chart("chart "+w.Title, f.Filter, f.Aggregation); err != nil {
					return err
				}
			}
			if r := q.GetTimeSeriesFilterRatio(); r != nil {
				for _, part := range []*dashboardpb.TimeSeriesFilterRatio_RatioPart{r.Numerator, r.Denominator} {
					if err := chart("chart "+w.Title, part.Filter, part.Aggregation); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// checkUse checks one filter and aggregation against the metric it names.
// The dashboard's aggregation is its own proto type; both are read as
// their aligner's and reducer's names.
func checkUse(known map[string]metricKind, where, filter, aligner, reducer string, group []string) error {
	typ := between(filter, `metric.type="`, `"`)
	m, ok := known[typ]
	if !ok {
		return fmt.Errorf("%s: metric %q is not defined", where, typ)
	}
	if !slices.Contains(aligners[m.kind+"/"+m.value], aligner) {
		return fmt.Errorf("%s: aligner %s does not fit %s %s metric %s", where, aligner, m.kind, m.value, typ)
	}
	if m.value == "DISTRIBUTION" && (aligner == "ALIGN_DELTA" || aligner == "ALIGN_SUM") && !strings.HasPrefix(reducer, "REDUCE_PERCENTILE_") {
		return fmt.Errorf("%s: a distribution of %s needs a percentile to be a number", where, typ)
	}
	var used []string
	for _, g := range group {
		if l, ok := strings.CutPrefix(g, "metric.label."); ok {
			used = append(used, l)
		}
	}
	for rest := filter; ; {
		_, after, ok := strings.Cut(rest, "metric.labels.")
		if !ok {
			break
		}
		name, _, _ := strings.Cut(after, "=")
		used, rest = append(used, name), after
	}
	for _, l := range used {
		if !slices.Contains(m.labels, l) {
			return fmt.Errorf("%s: metric %s has no label %q", where, typ, l)
		}
	}
	return nil
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}
