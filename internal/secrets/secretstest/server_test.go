package secretstest_test

import (
	"hash/crc32"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/telephony-hooks/okta-8x8/internal/secrets/secretstest"
)

func TestServer(t *testing.T) {
	type access struct {
		name     string
		wantCode codes.Code
		wantName string // resolved version name
		wantData string
		badCRC   bool
	}
	tests := []struct {
		name      string
		setup     func(s *secretstest.Server)
		accesses  []access
		wantCount map[string]int
	}{
		{
			name: "latest is the highest version set, explicit versions stay readable",
			setup: func(s *secretstest.Server) {
				s.Set("sm://p/k", []byte("one"))                         // version 1
				s.Set("projects/p/secrets/k/versions/5", []byte("five")) // explicit
				s.Set("sm://p/k#latest", []byte("six"))                  // next after 5
			},
			accesses: []access{
				{name: "projects/p/secrets/k/versions/latest", wantName: "projects/p/secrets/k/versions/6", wantData: "six"},
				{name: "projects/p/secrets/k/versions/1", wantName: "projects/p/secrets/k/versions/1", wantData: "one"},
				{name: "projects/p/secrets/k/versions/2", wantCode: codes.NotFound},
				{name: "projects/p/secrets/other/versions/latest", wantCode: codes.NotFound},
			},
			wantCount: map[string]int{"sm://p/k": 1, "sm://p/k#1": 1, "sm://p/k#2": 1},
		},
		{
			name: "fail N times then answer",
			setup: func(s *secretstest.Server) {
				s.Set("sm://p/k", []byte("v"))
				s.Fail("sm://p/k", codes.Unavailable, 2)
			},
			accesses: []access{
				{name: "projects/p/secrets/k/versions/latest", wantCode: codes.Unavailable},
				{name: "projects/p/secrets/k/versions/latest", wantCode: codes.Unavailable},
				{name: "projects/p/secrets/k/versions/latest", wantName: "projects/p/secrets/k/versions/1", wantData: "v"},
			},
			wantCount: map[string]int{"sm://p/k": 3},
		},
		{
			name: "fail forever",
			setup: func(s *secretstest.Server) {
				s.Set("sm://p/k", []byte("v"))
				s.Fail("projects/p/secrets/k/versions/latest", codes.PermissionDenied, -1)
			},
			accesses: []access{
				{name: "projects/p/secrets/k/versions/latest", wantCode: codes.PermissionDenied},
				{name: "projects/p/secrets/k/versions/latest", wantCode: codes.PermissionDenied},
				{name: "projects/p/secrets/k/versions/latest", wantCode: codes.PermissionDenied},
			},
		},
		{
			name: "corrupt CRC",
			setup: func(s *secretstest.Server) {
				s.Set("sm://p/k", []byte("v"))
				s.CorruptCRC("sm://p/k")
			},
			accesses: []access{
				{name: "projects/p/secrets/k/versions/latest", wantName: "projects/p/secrets/k/versions/1", wantData: "v", badCRC: true},
			},
		},
		{
			name:     "non-canonical names are refused",
			accesses: []access{{name: "sm://p/k", wantCode: codes.InvalidArgument}, {name: "", wantCode: codes.InvalidArgument}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := secretstest.NewServer(t)
			if tt.setup != nil {
				tt.setup(srv)
			}
			conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			c := secretmanagerpb.NewSecretManagerServiceClient(conn)
			for i, a := range tt.accesses {
				resp, err := c.AccessSecretVersion(t.Context(), &secretmanagerpb.AccessSecretVersionRequest{Name: a.name})
				if code := status.Code(err); code != a.wantCode {
					t.Fatalf("access %d (%s): code %v; want %v", i, a.name, code, a.wantCode)
				}
				if err != nil {
					continue
				}
				p := resp.GetPayload()
				if resp.GetName() != a.wantName || string(p.GetData()) != a.wantData {
					t.Errorf("access %d: got %s %q; want %s %q", i, resp.GetName(), p.GetData(), a.wantName, a.wantData)
				}
				crcOK := p.DataCrc32C != nil && *p.DataCrc32C == int64(crc32.Checksum(p.GetData(), crc32.MakeTable(crc32.Castagnoli)))
				if crcOK == a.badCRC {
					t.Errorf("access %d: CRC correct = %v; want %v", i, crcOK, !a.badCRC)
				}
			}
			for name, want := range tt.wantCount {
				if n := srv.Count(name); n != want {
					t.Errorf("Count(%s) = %d; want %d", name, n, want)
				}
			}
			if srv.Total() != len(tt.accesses) {
				t.Errorf("Total() = %d; want %d", srv.Total(), len(tt.accesses))
			}
		})
	}
}
