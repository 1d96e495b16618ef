// Package webhooksfake is a fake of 8x8's two webhooks APIs (voice
// subaccount webhooks, SMS account webhooks) for the setup's tests. Every
// request is validated against 8x8's OpenAPI specs from the shared
// contracts; the test skips when they are absent.
package webhooksfake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// Webhook is one registered webhook. Auth is the Authorization value 8x8
// sends with it (8x8 never lists it back).
type Webhook struct {
	URL, Auth string
	Enabled   bool
}

// Server is the fake. It accepts the API key given to New.
type Server struct {
	*httptest.Server
	t         testing.TB
	key       string
	mu        sync.Mutex
	voice     map[string]Webhook // by subaccount and type: a subaccount has one webhook per type
	sms       map[string]Webhook // by subaccount: the SMS API upserts
	mutations int
}

// host is what every request is routed as, so the routers are built once.
const host = "8x8.fake"

var specs struct {
	once       sync.Once
	voice, sms routers.Router
	err        error
}

func router(path string) (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, err
	}
	doc.Servers = openapi3.Servers{{URL: "http://" + host}}
	return gorillamux.NewRouter(doc)
}

// New starts a fake with no webhooks.
func New(t testing.TB, apiKey string) *Server {
	t.Helper()
	dir := sharedtest.Path(t, "contracts", "8x8")
	specs.once.Do(func() {
		if specs.voice, specs.err = router(dir + "/voice_v1_api.json"); specs.err == nil {
			specs.sms, specs.err = router(dir + "/sms_api.json")
		}
	})
	if specs.err != nil {
		t.Fatalf("load 8x8 specs: %v", specs.err)
	}
	s := &Server{t: t, key: apiKey, voice: map[string]Webhook{}, sms: map[string]Webhook{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Mutations counts the requests that changed a webhook.
func (s *Server) Mutations() int { s.mu.Lock(); defer s.mu.Unlock(); return s.mutations }

// Voice and SMS return a registered webhook; SetVoice and SetSMS put one
// in place as another tool would have, without counting a mutation.
func (s *Server) Voice(subaccount, typ string) (Webhook, bool) {
	return s.get(s.voice, subaccount+"/"+typ)
}
func (s *Server) SMS(subaccount string) (Webhook, bool)      { return s.get(s.sms, subaccount) }
func (s *Server) SetVoice(subaccount, typ string, w Webhook) { s.set(s.voice, subaccount+"/"+typ, w) }
func (s *Server) SetSMS(subaccount string, w Webhook)        { s.set(s.sms, subaccount, w) }

func (s *Server) get(m map[string]Webhook, k string) (Webhook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := m[k]
	return w, ok
}

func (s *Server) set(m map[string]Webhook, k string, w Webhook) { s.mu.Lock(); m[k] = w; s.mu.Unlock() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.Host = host
	rt := specs.voice
	if strings.HasPrefix(r.URL.Path, "/api/v1/accounts/") {
		rt = specs.sms
	}
	route, params, err := rt.FindRoute(r)
	if err == nil {
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
		err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts})
	}
	if err != nil {
		s.t.Errorf("8x8 fake: %s %s: invalid request: %v", r.Method, r.URL.Path, err)
		http.Error(w, `{"statusCode":"1001","statusMessage":"Invalid JSON request body"}`, http.StatusBadRequest)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.key {
		http.Error(w, `{"statusCode":"1003","statusMessage":"API key not found or invalid"}`, http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := params["subAccountId"]
	var out any
	switch route.Operation.OperationID {
	case "get-webhooks-information":
		hooks := []map[string]any{}
		for k, h := range s.voice {
			if typ, ok := strings.CutPrefix(k, sub+"/"); ok {
				hooks = append(hooks, map[string]any{"type": typ, "url": h.URL, "enabled": h.Enabled, "httpAuthHeaderAvailable": h.Auth != ""})
			}
		}
		out = map[string]any{"subAccountId": sub, "count": len(hooks), "webhooks": hooks, "statusCode": 0, "statusMessage": "ok"}
	case "create-a-new-webhook":
		var in struct {
			Type, URL      string
			HTTPAuthHeader string `json:"httpAuthHeader"`
			Enabled        *bool  `json:"enabled"`
		}
		_ = json.Unmarshal(body, &in)
		if _, ok := s.voice[sub+"/"+in.Type]; ok {
			http.Error(w, `{"statusCode":"1001","statusMessage":"webhook already exists"}`, http.StatusUnprocessableEntity)
			return
		}
		s.voice[sub+"/"+in.Type] = Webhook{URL: in.URL, Auth: in.HTTPAuthHeader, Enabled: in.Enabled == nil || *in.Enabled}
		s.mutations++
		out = map[string]any{"subAccountId": sub, "count": 1, "webhooks": []any{}, "statusCode": 0, "statusMessage": "ok"}
	case "delete-a-specific-type-of-webhook":
		delete(s.voice, sub+"/"+params["webhook-type"])
		s.mutations++
		out = map[string]any{"statusCode": 0, "statusMessage": "deleted"}
	case "Get-Webhooks-2":
		hooks := []map[string]any{}
		for k, h := range s.sms {
			hooks = append(hooks, map[string]any{"subAccountId": k, "url": h.URL, "httpAuthorization": "***", "enabled": h.Enabled})
		}
		out = hooks
	case "Add-Webhooks-2":
		var in []struct {
			SubAccountID      string `json:"subAccountId"`
			URL               string `json:"url"`
			HTTPAuthorization string `json:"httpAuthorization"`
			Enabled           *bool  `json:"enabled"`
		}
		_ = json.Unmarshal(body, &in)
		for _, h := range in {
			s.sms[h.SubAccountID] = Webhook{URL: h.URL, Auth: h.HTTPAuthorization, Enabled: h.Enabled == nil || *h.Enabled}
		}
		s.mutations++
		w.WriteHeader(http.StatusOK)
		return
	default:
		http.Error(w, "{}", http.StatusNotImplemented)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
