package secrets_test

import (
	"testing"
)

func BenchmarkResolve3(b *testing.B) {
	srv, r := newResolver(b)
	seed(srv)
	values := map[string]string{
		"EIGHTYEIGHTX_API_KEY":        "sm://p/api-key",
		"OKTA_SECRET":                 "sm://p/okta#latest",
		"EIGHTYEIGHTX_WEBHOOK_SECRET": webhookRef,
		"LOG_LEVEL":                   "info",
	}
	ctx := b.Context()
	if _, err := r.Resolve(ctx, values); err != nil { // dial outside the timed loop
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(ctx, values); err != nil {
			b.Fatal(err)
		}
	}
}
