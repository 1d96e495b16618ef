package httpbody

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRead(t *testing.T) {
	long := strings.Repeat("x", 3000)
	for _, tt := range []struct {
		name          string
		body          string
		contentLength int64
		limit         int64
		want          string
	}{
		{"exact length", "hello", 5, 100, "hello"},
		{"unknown length", long, -1, 10000, long},
		{"length understated", long, 10, 10000, long},
		{"length overstated", "hi", 1000, 10000, "hi"},
		{"cut at the limit", long, -1, 100, long[:100]},
		{"empty", "", 0, 100, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(iotest.OneByteReader(strings.NewReader(tt.body)), tt.contentLength, tt.limit)
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %d bytes, %v", len(got), err)
			}
		})
	}
	boom := errors.New("boom")
	if _, err := Read(iotest.ErrReader(boom), -1, 10); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}
