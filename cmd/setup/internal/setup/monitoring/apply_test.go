package monitoring

import (
	"context"
	"net"
	"testing"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/monitoringfake"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/plan"
)

func fakeProject(t *testing.T) (*monitoringfake.Fake, []option.ClientOption) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	f := monitoringfake.Register(srv)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return f, []option.ClientOption{
		option.WithEndpoint(lis.Addr().String()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// An empty project gets everything; a second run changes nothing; a plan
// changes nothing and lists what apply will do; an edited resource is put
// back.
func TestApplyIsAnUpsert(t *testing.T) {
	ctx := context.Background()
	f, opts := fakeProject(t)
	step := &Step{Vars: vars, AlertEmail: "oncall@example.com", Options: opts}

	planned, err := step.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Mutations() != 0 {
		t.Fatalf("plan made %d mutations", f.Mutations())
	}
	first, err := step.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := Load(vars)
	want := len(set.Metrics) + len(set.Alerts) + 3 // channel, uptime check, dashboard
	if plan.Mutations(first) != want || f.Mutations() != want || len(planned) != want {
		t.Errorf("first apply: %d changes reported, %d made, %d planned; want %d", plan.Mutations(first), f.Mutations(), len(planned), want)
	}
	for _, p := range f.Alerts {
		if len(p.NotificationChannels) != 1 {
			t.Errorf("alert %q notifies %v", p.DisplayName, p.NotificationChannels)
		}
	}
	second, err := step.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 0 || f.Mutations() != want {
		t.Errorf("second apply changed %v", second)
	}
	f.Do(func() {
		for _, m := range f.Metrics {
			m.Filter += ` AND severity>=ERROR` // someone edited it by hand
		}
	})
	third, err := step.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(third) != len(set.Metrics) || third[0].Action != plan.Update {
		t.Errorf("after a hand edit: %v", third)
	}
}
