package logging

import (
	"context"
	"errors"
	"testing"
)

func TestProjectIDFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"GOOGLE_CLOUD_PROJECT", map[string]string{"GOOGLE_CLOUD_PROJECT": "a", "GCP_PROJECT": "b"}, "a"},
		{"GCP_PROJECT fallback", map[string]string{"GCP_PROJECT": "b"}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			if got := ProjectID(context.Background(), getenv); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProjectIDFromMetadata(t *testing.T) {
	tests := []struct {
		name      string
		onGCE     bool
		answers   []error // one per fetch; nil means success
		wantIDs   []string
		wantCalls int
	}{
		{"success is cached", true, []error{nil}, []string{"meta-proj", "meta-proj", "meta-proj"}, 1},
		{"failure is retried, then cached", true, []error{errors.New("timeout"), nil}, []string{"", "meta-proj", "meta-proj"}, 2},
		{"not on Google Cloud: no lookup", false, nil, []string{"", ""}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			m := &metadataProject{
				onGCE: func(context.Context) bool { return tt.onGCE },
				fetch: func(ctx context.Context) (string, error) {
					if _, ok := ctx.Deadline(); !ok {
						t.Error("metadata lookup without a deadline")
					}
					err := tt.answers[calls]
					calls++
					if err != nil {
						return "", err
					}
					return "meta-proj", nil
				},
			}
			for i, want := range tt.wantIDs {
				if got := m.projectID(context.Background()); got != want {
					t.Errorf("call %d: got %q, want %q", i, got, want)
				}
			}
			if calls != tt.wantCalls {
				t.Errorf("%d fetches, want %d", calls, tt.wantCalls)
			}
		})
	}
}
