// Package monitoringfake plays Cloud Logging's metrics service and Cloud
// Monitoring's alert policy, notification channel, uptime check and
// dashboard services in process, over gRPC, as the real clients call
// them: requests arrive as Google's own protos. It keeps what it is given
// and counts the calls that change something.
package monitoringfake

import (
	"context"
	"fmt"
	"strings"
	"sync"

	loggingpb "cloud.google.com/go/logging/apiv2/loggingpb"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	dashboardpb "cloud.google.com/go/monitoring/dashboard/apiv1/dashboardpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Fake holds one project's monitoring.
type Fake struct {
	mu         sync.Mutex
	mutations  int
	next       int
	Metrics    map[string]*loggingpb.LogMetric // by full name
	Alerts     map[string]*monitoringpb.AlertPolicy
	Channels   map[string]*monitoringpb.NotificationChannel
	Uptime     map[string]*monitoringpb.UptimeCheckConfig
	Dashboards map[string]*dashboardpb.Dashboard
}

// Register adds the five services to s.
func Register(s *grpc.Server) *Fake {
	f := &Fake{
		Metrics: map[string]*loggingpb.LogMetric{}, Alerts: map[string]*monitoringpb.AlertPolicy{},
		Channels: map[string]*monitoringpb.NotificationChannel{}, Uptime: map[string]*monitoringpb.UptimeCheckConfig{},
		Dashboards: map[string]*dashboardpb.Dashboard{},
	}
	loggingpb.RegisterMetricsServiceV2Server(s, metrics{f: f})
	monitoringpb.RegisterAlertPolicyServiceServer(s, alerts{f: f})
	monitoringpb.RegisterNotificationChannelServiceServer(s, channels{f: f})
	monitoringpb.RegisterUptimeCheckServiceServer(s, uptime{f: f})
	dashboardpb.RegisterDashboardsServiceServer(s, dashboards{f: f})
	return f
}

// Do runs fn with the fake's state locked (a test editing a resource by
// hand, as an operator in the console would).
func (f *Fake) Do(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// Mutations counts the creates and updates so far.
func (f *Fake) Mutations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mutations
}

// put stores a copy of m under name, counting a mutation.
func put[M proto.Message](f *Fake, m map[string]M, name string, v M) M {
	f.mutations++
	c := proto.Clone(v).(M)
	m[name] = c
	return proto.Clone(c).(M)
}

func (f *Fake) newName(parent, kind string) string {
	f.next++
	return fmt.Sprintf("%s/%s/%d", parent, kind, f.next)
}

func notFound(name string) error { return status.Errorf(codes.NotFound, "%s not found", name) }

func project(name string) (string, error) {
	if !strings.HasPrefix(name, "projects/") || strings.Count(name, "/") != 1 {
		return "", status.Errorf(codes.InvalidArgument, "want projects/PROJECT, got %q", name)
	}
	return name, nil
}

type metrics struct {
	loggingpb.UnimplementedMetricsServiceV2Server
	f *Fake
}

func (s metrics) GetLogMetric(_ context.Context, r *loggingpb.GetLogMetricRequest) (*loggingpb.LogMetric, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if m, ok := s.f.Metrics[r.MetricName]; ok {
		return proto.Clone(m).(*loggingpb.LogMetric), nil
	}
	return nil, notFound(r.MetricName)
}

func (s metrics) CreateLogMetric(_ context.Context, r *loggingpb.CreateLogMetricRequest) (*loggingpb.LogMetric, error) {
	if _, err := project(r.Parent); err != nil {
		return nil, err
	}
	if r.Metric.GetName() == "" || r.Metric.GetFilter() == "" {
		return nil, status.Error(codes.InvalidArgument, "a log metric needs a name and a filter")
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	name := r.Parent + "/metrics/" + r.Metric.Name
	if _, ok := s.f.Metrics[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "%s exists", name)
	}
	return put(s.f, s.f.Metrics, name, r.Metric), nil
}

func (s metrics) UpdateLogMetric(_ context.Context, r *loggingpb.UpdateLogMetricRequest) (*loggingpb.LogMetric, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return put(s.f, s.f.Metrics, r.MetricName, r.Metric), nil
}

type alerts struct {
	monitoringpb.UnimplementedAlertPolicyServiceServer
	f *Fake
}

func (s alerts) ListAlertPolicies(_ context.Context, r *monitoringpb.ListAlertPoliciesRequest) (*monitoringpb.ListAlertPoliciesResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	resp := &monitoringpb.ListAlertPoliciesResponse{}
	for name, p := range s.f.Alerts {
		if strings.HasPrefix(name, r.Name+"/") {
			resp.AlertPolicies = append(resp.AlertPolicies, proto.Clone(p).(*monitoringpb.AlertPolicy))
		}
	}
	return resp, nil
}

func (s alerts) CreateAlertPolicy(_ context.Context, r *monitoringpb.CreateAlertPolicyRequest) (*monitoringpb.AlertPolicy, error) {
	if _, err := project(r.Name); err != nil {
		return nil, err
	}
	if len(r.AlertPolicy.GetConditions()) == 0 || r.AlertPolicy.GetCombiner() == monitoringpb.AlertPolicy_COMBINE_UNSPECIFIED {
		return nil, status.Error(codes.InvalidArgument, "an alert policy needs conditions and a combiner")
	}
	for _, c := range r.AlertPolicy.Conditions {
		if c.GetConditionMatchedLog() != nil && r.AlertPolicy.GetAlertStrategy().GetNotificationRateLimit() == nil {
			return nil, status.Error(codes.InvalidArgument, "a log-match condition needs alertStrategy.notificationRateLimit")
		}
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	p := proto.Clone(r.AlertPolicy).(*monitoringpb.AlertPolicy)
	p.Name = s.f.newName(r.Name, "alertPolicies")
	return put(s.f, s.f.Alerts, p.Name, p), nil
}

func (s alerts) UpdateAlertPolicy(_ context.Context, r *monitoringpb.UpdateAlertPolicyRequest) (*monitoringpb.AlertPolicy, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if _, ok := s.f.Alerts[r.AlertPolicy.GetName()]; !ok {
		return nil, notFound(r.AlertPolicy.GetName())
	}
	return put(s.f, s.f.Alerts, r.AlertPolicy.Name, r.AlertPolicy), nil
}

type channels struct {
	monitoringpb.UnimplementedNotificationChannelServiceServer
	f *Fake
}

func (s channels) ListNotificationChannels(_ context.Context, r *monitoringpb.ListNotificationChannelsRequest) (*monitoringpb.ListNotificationChannelsResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	resp := &monitoringpb.ListNotificationChannelsResponse{}
	for name, c := range s.f.Channels {
		if strings.HasPrefix(name, r.Name+"/") && (r.Filter == "" || r.Filter == fmt.Sprintf("type=%q", c.Type)) {
			resp.NotificationChannels = append(resp.NotificationChannels, proto.Clone(c).(*monitoringpb.NotificationChannel))
		}
	}
	return resp, nil
}

func (s channels) CreateNotificationChannel(_ context.Context, r *monitoringpb.CreateNotificationChannelRequest) (*monitoringpb.NotificationChannel, error) {
	if r.NotificationChannel.GetType() != "email" || r.NotificationChannel.Labels["email_address"] == "" {
		return nil, status.Error(codes.InvalidArgument, "an email channel needs labels.email_address")
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	c := proto.Clone(r.NotificationChannel).(*monitoringpb.NotificationChannel)
	c.Name = s.f.newName(r.Name, "notificationChannels")
	return put(s.f, s.f.Channels, c.Name, c), nil
}

type uptime struct {
	monitoringpb.UnimplementedUptimeCheckServiceServer
	f *Fake
}

func (s uptime) ListUptimeCheckConfigs(_ context.Context, r *monitoringpb.ListUptimeCheckConfigsRequest) (*monitoringpb.ListUptimeCheckConfigsResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	resp := &monitoringpb.ListUptimeCheckConfigsResponse{}
	for name, u := range s.f.Uptime {
		if strings.HasPrefix(name, r.Parent+"/") {
			resp.UptimeCheckConfigs = append(resp.UptimeCheckConfigs, proto.Clone(u).(*monitoringpb.UptimeCheckConfig))
		}
	}
	return resp, nil
}

func (s uptime) CreateUptimeCheckConfig(_ context.Context, r *monitoringpb.CreateUptimeCheckConfigRequest) (*monitoringpb.UptimeCheckConfig, error) {
	if r.UptimeCheckConfig.GetMonitoredResource().GetLabels()["host"] == "" {
		return nil, status.Error(codes.InvalidArgument, "an uptime check needs a host")
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	u := proto.Clone(r.UptimeCheckConfig).(*monitoringpb.UptimeCheckConfig)
	u.Name = s.f.newName(r.Parent, "uptimeCheckConfigs")
	return put(s.f, s.f.Uptime, u.Name, u), nil
}

func (s uptime) UpdateUptimeCheckConfig(_ context.Context, r *monitoringpb.UpdateUptimeCheckConfigRequest) (*monitoringpb.UptimeCheckConfig, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return put(s.f, s.f.Uptime, r.UptimeCheckConfig.GetName(), r.UptimeCheckConfig), nil
}

type dashboards struct {
	dashboardpb.UnimplementedDashboardsServiceServer
	f *Fake
}

func (s dashboards) GetDashboard(_ context.Context, r *dashboardpb.GetDashboardRequest) (*dashboardpb.Dashboard, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if d, ok := s.f.Dashboards[r.Name]; ok {
		return proto.Clone(d).(*dashboardpb.Dashboard), nil
	}
	return nil, notFound(r.Name)
}

func (s dashboards) CreateDashboard(_ context.Context, r *dashboardpb.CreateDashboardRequest) (*dashboardpb.Dashboard, error) {
	if !strings.HasPrefix(r.Dashboard.GetName(), r.Parent+"/dashboards/") {
		return nil, status.Errorf(codes.InvalidArgument, "dashboard name %q not under %s", r.Dashboard.GetName(), r.Parent)
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	d := proto.Clone(r.Dashboard).(*dashboardpb.Dashboard)
	d.Etag = "1"
	return put(s.f, s.f.Dashboards, d.Name, d), nil
}

func (s dashboards) UpdateDashboard(_ context.Context, r *dashboardpb.UpdateDashboardRequest) (*dashboardpb.Dashboard, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	old, ok := s.f.Dashboards[r.Dashboard.GetName()]
	if !ok {
		return nil, notFound(r.Dashboard.GetName())
	}
	if r.Dashboard.Etag != old.Etag {
		return nil, status.Error(codes.Aborted, "etag mismatch")
	}
	d := proto.Clone(r.Dashboard).(*dashboardpb.Dashboard)
	d.Etag += "+"
	return put(s.f, s.f.Dashboards, d.Name, d), nil
}
