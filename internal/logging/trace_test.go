package logging

import (
	"context"
	"net/http"
	"testing"
)

func TestWithTrace(t *testing.T) {
	const (
		tid  = "4bf92f3577b34da6a3ce929d0e0e4736"
		sid  = "00f067aa0ba902b7"
		xtid = "105445aa7843bc8bf206b12000100000"
	)
	tests := []struct {
		name   string
		header http.Header
		want   Trace
		ok     bool
	}{
		{"traceparent sampled", http.Header{"Traceparent": {"00-" + tid + "-" + sid + "-01"}}, Trace{tid, sid, true}, true},
		{"traceparent not sampled", http.Header{"Traceparent": {"00-" + tid + "-" + sid + "-00"}}, Trace{tid, sid, false}, true},
		{"traceparent other flag bits", http.Header{"Traceparent": {"00-" + tid + "-" + sid + "-03"}}, Trace{tid, sid, true}, true},
		{"future version may append fields", http.Header{"Traceparent": {"01-" + tid + "-" + sid + "-01-extra"}}, Trace{tid, sid, true}, true},
		{"traceparent wins over X-Cloud-Trace-Context",
			http.Header{"Traceparent": {"00-" + tid + "-" + sid + "-01"}, "X-Cloud-Trace-Context": {xtid + "/1;o=1"}},
			Trace{tid, sid, true}, true},
		{"X-Cloud-Trace-Context decimal span to hex", http.Header{"X-Cloud-Trace-Context": {xtid + "/2748;o=1"}}, Trace{xtid, "0000000000000abc", true}, true},
		{"X-Cloud-Trace-Context max span", http.Header{"X-Cloud-Trace-Context": {xtid + "/18446744073709551615;o=0"}}, Trace{xtid, "ffffffffffffffff", false}, true},
		{"X-Cloud-Trace-Context without options", http.Header{"X-Cloud-Trace-Context": {xtid + "/7"}}, Trace{xtid, "0000000000000007", false}, true},
		{"X-Cloud-Trace-Context trace only", http.Header{"X-Cloud-Trace-Context": {xtid}}, Trace{xtid, "", false}, true},
		{"X-Cloud-Trace-Context uppercase normalised", http.Header{"X-Cloud-Trace-Context": {"105445AA7843BC8BF206B12000100000/1;o=1"}}, Trace{xtid, "0000000000000001", true}, true},
		{"malformed traceparent falls back", http.Header{"Traceparent": {"00-" + tid + "-" + sid}, "X-Cloud-Trace-Context": {xtid + "/1;o=1"}}, Trace{xtid, "0000000000000001", true}, true},

		{"no headers", http.Header{}, Trace{}, false},
		{"traceparent all-zero trace", http.Header{"Traceparent": {"00-00000000000000000000000000000000-" + sid + "-01"}}, Trace{}, false},
		{"traceparent all-zero span", http.Header{"Traceparent": {"00-" + tid + "-0000000000000000-01"}}, Trace{}, false},
		{"traceparent uppercase", http.Header{"Traceparent": {"00-4BF92F3577B34DA6A3CE929D0E0E4736-" + sid + "-01"}}, Trace{}, false},
		{"traceparent version ff", http.Header{"Traceparent": {"ff-" + tid + "-" + sid + "-01"}}, Trace{}, false},
		{"traceparent v00 with trailing data", http.Header{"Traceparent": {"00-" + tid + "-" + sid + "-01-x"}}, Trace{}, false},
		{"traceparent short trace", http.Header{"Traceparent": {"00-" + tid[:31] + "-" + sid + "-01"}}, Trace{}, false},
		{"traceparent non-hex flags", http.Header{"Traceparent": {"00-" + tid + "-" + sid + "-0z"}}, Trace{}, false},
		{"xctc short trace", http.Header{"X-Cloud-Trace-Context": {xtid[:31] + "/1;o=1"}}, Trace{}, false},
		{"xctc non-hex trace", http.Header{"X-Cloud-Trace-Context": {"z05445aa7843bc8bf206b12000100000/1"}}, Trace{}, false},
		{"xctc all-zero trace", http.Header{"X-Cloud-Trace-Context": {"00000000000000000000000000000000/1"}}, Trace{}, false},
		{"xctc zero span", http.Header{"X-Cloud-Trace-Context": {xtid + "/0;o=1"}}, Trace{}, false},
		{"xctc hex span", http.Header{"X-Cloud-Trace-Context": {xtid + "/abc;o=1"}}, Trace{}, false},
		{"xctc span overflows uint64", http.Header{"X-Cloud-Trace-Context": {xtid + "/18446744073709551616"}}, Trace{}, false},
		{"xctc signed span", http.Header{"X-Cloud-Trace-Context": {xtid + "/+1"}}, Trace{}, false},
		{"xctc empty span", http.Header{"X-Cloud-Trace-Context": {xtid + "/;o=1"}}, Trace{}, false},
		{"xctc bad options", http.Header{"X-Cloud-Trace-Context": {xtid + "/1;o=2"}}, Trace{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := TraceFromContext(WithTrace(context.Background(), tt.header))
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
