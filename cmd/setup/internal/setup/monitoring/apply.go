package monitoring

import (
	"context"
	"errors"
	"fmt"

	logging "cloud.google.com/go/logging/apiv2"
	loggingpb "cloud.google.com/go/logging/apiv2/loggingpb"
	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	dashboard "cloud.google.com/go/monitoring/dashboard/apiv1"
	dashboardpb "cloud.google.com/go/monitoring/dashboard/apiv1/dashboardpb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/plan"
)

// Step upserts the monitoring of one project. Every resource has a fixed
// identity (a metric's name, a policy's userLabels.okta_8x8, the uptime
// check's display name, the dashboard's id, the channel's address), so a
// second run changes nothing.
type Step struct {
	Vars       Vars   // ProjectID and ServiceHost
	AlertEmail string // "": alerts notify nobody
	// Options reach Google's APIs (credentials; an endpoint in tests).
	Options []option.ClientOption
}

// DashboardID names the dashboard: projects/P/dashboards/DashboardID.
const DashboardID = "okta-telephony-hook"

// Plan says what Apply would change, and changes nothing.
func (s *Step) Plan(ctx context.Context) ([]plan.Change, error) { return s.run(ctx, false) }

// Apply upserts every resource and returns what it changed.
func (s *Step) Apply(ctx context.Context) ([]plan.Change, error) { return s.run(ctx, true) }

func (s *Step) run(ctx context.Context, apply bool) (changes []plan.Change, err error) {
	set, err := Load(s.Vars)
	if err != nil {
		return nil, err
	}
	c, err := dial(ctx, s.Options)
	if err != nil {
		return nil, err
	}
	defer c.close()
	parent := "projects/" + s.Vars.ProjectID
	note := func(a plan.Action, resource string) {
		changes = append(changes, plan.Change{System: "monitoring", Action: a, Resource: resource})
	}

	for _, m := range set.Metrics {
		got, err := c.metrics.GetLogMetric(ctx, &loggingpb.GetLogMetricRequest{MetricName: parent + "/metrics/" + m.Name})
		switch {
		case status.Code(err) == codes.NotFound:
			note(plan.Create, "log metric "+m.Name)
			if apply {
				_, err = c.metrics.CreateLogMetric(ctx, &loggingpb.CreateLogMetricRequest{Parent: parent, Metric: m})
			} else {
				err = nil
			}
		case err == nil && !same(m, got, func(x *loggingpb.LogMetric) { x.CreateTime, x.UpdateTime = nil, nil }):
			note(plan.Update, "log metric "+m.Name)
			if apply {
				_, err = c.metrics.UpdateLogMetric(ctx, &loggingpb.UpdateLogMetricRequest{MetricName: parent + "/metrics/" + m.Name, Metric: m})
			}
		}
		if err != nil {
			return changes, fmt.Errorf("log metric %s: %w", m.Name, err)
		}
	}

	var channels []string
	if s.AlertEmail != "" {
		name, err := s.channel(ctx, c, parent, apply, note)
		if err != nil {
			return changes, fmt.Errorf("notification channel: %w", err)
		}
		if name != "" {
			channels = []string{name}
		}
	}

	existing := map[string]*monitoringpb.AlertPolicy{}
	it := c.alerts.ListAlertPolicies(ctx, &monitoringpb.ListAlertPoliciesRequest{Name: parent})
	for {
		p, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return changes, fmt.Errorf("alert policies: %w", err)
		}
		if k := Key(p); k != "" {
			existing[k] = p
		}
	}
	for _, a := range set.Alerts {
		a.NotificationChannels = channels
		got, ok := existing[Key(a)]
		if ok && same(a, got, func(x *monitoringpb.AlertPolicy) { x.CreationRecord, x.MutationRecord, x.Enabled = nil, nil, nil }) {
			continue
		}
		var err error
		if !ok {
			note(plan.Create, "alert policy "+Key(a))
			if apply {
				_, err = c.alerts.CreateAlertPolicy(ctx, &monitoringpb.CreateAlertPolicyRequest{Name: parent, AlertPolicy: a})
			}
		} else {
			note(plan.Update, "alert policy "+Key(a))
			if apply {
				a.Name = got.Name
				_, err = c.alerts.UpdateAlertPolicy(ctx, &monitoringpb.UpdateAlertPolicyRequest{AlertPolicy: a})
			}
		}
		if err != nil {
			return changes, fmt.Errorf("alert policy %s: %w", Key(a), err)
		}
	}

	if err := s.uptime(ctx, c, parent, set.Uptime, apply, note); err != nil {
		return changes, fmt.Errorf("uptime check: %w", err)
	}

	d := set.Dashboard
	d.Name = parent + "/dashboards/" + DashboardID
	got, err := c.dashboards.GetDashboard(ctx, &dashboardpb.GetDashboardRequest{Name: d.Name})
	switch {
	case status.Code(err) == codes.NotFound:
		note(plan.Create, "dashboard "+DashboardID)
		if apply {
			_, err = c.dashboards.CreateDashboard(ctx, &dashboardpb.CreateDashboardRequest{Parent: parent, Dashboard: d})
		} else {
			err = nil
		}
	case err == nil && !same(d, got, func(x *dashboardpb.Dashboard) { x.Etag = "" }):
		note(plan.Update, "dashboard "+DashboardID)
		if apply {
			d.Etag = got.Etag
			_, err = c.dashboards.UpdateDashboard(ctx, &dashboardpb.UpdateDashboardRequest{Dashboard: d})
		}
	}
	if err != nil {
		return changes, fmt.Errorf("dashboard: %w", err)
	}
	return changes, nil
}

// channel finds or creates the email channel; in a plan it may not exist
// yet, and its name is "".
func (s *Step) channel(ctx context.Context, c *clients, parent string, apply bool, note func(plan.Action, string)) (string, error) {
	it := c.channels.ListNotificationChannels(ctx, &monitoringpb.ListNotificationChannelsRequest{Name: parent, Filter: `type="email"`})
	for {
		ch, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return "", err
		}
		if ch.Labels["email_address"] == s.AlertEmail {
			return ch.Name, nil
		}
	}
	note(plan.Create, "email notification channel")
	if !apply {
		return "", nil
	}
	ch, err := c.channels.CreateNotificationChannel(ctx, &monitoringpb.CreateNotificationChannelRequest{Name: parent, NotificationChannel: &monitoringpb.NotificationChannel{
		Type: "email", DisplayName: "Okta telephony hook alerts", Labels: map[string]string{"email_address": s.AlertEmail},
	}})
	if err != nil {
		return "", err
	}
	return ch.Name, nil
}

func (s *Step) uptime(ctx context.Context, c *clients, parent string, u *monitoringpb.UptimeCheckConfig, apply bool, note func(plan.Action, string)) error {
	it := c.uptime.ListUptimeCheckConfigs(ctx, &monitoringpb.ListUptimeCheckConfigsRequest{Parent: parent})
	for {
		got, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return err
		}
		if got.DisplayName != u.DisplayName {
			continue
		}
		if same(u, got, func(x *monitoringpb.UptimeCheckConfig) {}) {
			return nil
		}
		note(plan.Update, "uptime check /healthz")
		if apply {
			u.Name = got.Name
			_, err = c.uptime.UpdateUptimeCheckConfig(ctx, &monitoringpb.UpdateUptimeCheckConfigRequest{UptimeCheckConfig: u})
		}
		return err
	}
	note(plan.Create, "uptime check /healthz")
	if !apply {
		return nil
	}
	_, err := c.uptime.CreateUptimeCheckConfig(ctx, &monitoringpb.CreateUptimeCheckConfigRequest{Parent: parent, UptimeCheckConfig: u})
	return err
}

// same compares what the files say with what the API holds, leaving out
// the name (assigned by the API) and the fields clear empties (written by
// the API).
func same[M proto.Message](want, got M, clear func(M)) bool {
	w, g := proto.Clone(want).(M), proto.Clone(got).(M)
	clear(g)
	for _, m := range []proto.Message{w, g} {
		r := m.ProtoReflect()
		if f := r.Descriptor().Fields().ByName("name"); f != nil {
			r.Clear(f)
		}
	}
	return proto.Equal(w, g)
}

type clients struct {
	metrics    *logging.MetricsClient
	alerts     *monitoring.AlertPolicyClient
	channels   *monitoring.NotificationChannelClient
	uptime     *monitoring.UptimeCheckClient
	dashboards *dashboard.DashboardsClient
}

func dial(ctx context.Context, opts []option.ClientOption) (c *clients, err error) {
	c = &clients{}
	if c.metrics, err = logging.NewMetricsClient(ctx, opts...); err != nil {
		return nil, err
	}
	if c.alerts, err = monitoring.NewAlertPolicyClient(ctx, opts...); err != nil {
		return nil, err
	}
	if c.channels, err = monitoring.NewNotificationChannelClient(ctx, opts...); err != nil {
		return nil, err
	}
	if c.uptime, err = monitoring.NewUptimeCheckClient(ctx, opts...); err != nil {
		return nil, err
	}
	if c.dashboards, err = dashboard.NewDashboardsClient(ctx, opts...); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *clients) close() {
	c.metrics.Close()
	c.alerts.Close()
	c.channels.Close()
	c.uptime.Close()
	c.dashboards.Close()
}
