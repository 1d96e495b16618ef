package memlimit

import (
	"errors"
	"math"
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(f string) ([]byte, error) {
			if v, ok := m[f]; ok {
				return []byte(v), nil
			}
			return nil, errors.New("no such file")
		}
	}
	for _, tt := range []struct {
		name      string
		env       string
		files     map[string]string
		wantLimit int64
	}{
		{"cgroup v2, 256 MiB (Cloud Run --memory=256Mi)", "", map[string]string{limitFiles[0]: "268435456\n"}, 241591910},
		{"cgroup v2 unlimited", "", map[string]string{limitFiles[0]: "max\n"}, 0},
		{"cgroup v1, 512 MiB", "", map[string]string{limitFiles[1]: "536870912"}, 483183820},
		{"cgroup v1 unlimited", "", map[string]string{limitFiles[1]: "9223372036854771712"}, 0},
		{"no cgroup files", "", nil, 0},
		{"garbage", "", map[string]string{limitFiles[0]: "lots"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			if limit := apply(func(string) string { return tt.env }, files(tt.files)); limit != tt.wantLimit {
				t.Errorf("Apply = %d; want %d", limit, tt.wantLimit)
			}
			if tt.wantLimit > 0 && debug.SetMemoryLimit(-1) != tt.wantLimit {
				t.Errorf("runtime limit not set")
			}
		})
	}
	t.Run("GOMEMLIMIT set: left alone", func(t *testing.T) {
		debug.SetMemoryLimit(100 << 20)
		limit := apply(func(k string) string { return map[string]string{"GOMEMLIMIT": "100MiB"}[k] }, files(map[string]string{limitFiles[0]: "268435456"}))
		if limit != 100<<20 {
			t.Errorf("Apply = %d", limit)
		}
	})
}
