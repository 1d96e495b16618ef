// Package oktafake is a fake Okta admin API (inline hooks and event hooks)
// for the setup's tests. Every request is validated against Okta's
// published OpenAPI (from the shared contracts), then against what that
// spec cannot say: unknown fields, the OAuth authType, and Okta's
// behaviour (hooks created ACTIVE, one active telephony hook per org,
// verify and execute calling the hook for real).
package oktafake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// Token is the API token the fake accepts (Authorization: SSWS Token).
const Token = "fake-okta-api-token"

const (
	// TelephonyType is the inline hook type of a telephony hook.
	TelephonyType = "com.okta.telephony.provider"
	// hookTimeout is how long Okta waits for a hook (verify, execute),
	// once, then retries once.
	hookTimeout = 3 * time.Second
)

// Hook is an inline or event hook as the fake stores it.
type Hook struct {
	ID, Name, Type, Status string
	VerificationStatus     string   // event hooks: UNVERIFIED or VERIFIED
	Events                 []string // event hooks
	Channel                Channel
}

// Channel is where and how Okta calls a hook. The Okta API never returns
// AuthValue or ClientSecret; the fake keeps them to call the hook.
type Channel struct {
	Type                string // HTTP or OAUTH
	URI                 string
	AuthKey, AuthValue  string // header auth
	AuthType            string // OAuth: client_secret_post or private_key_jwt
	ClientID, TokenURL  string
	Scope, ClientSecret string
	HookKeyID           string
	Headers             []Header // extra headers Okta sends
}

// Server is the fake, served over TLS on loopback.
type Server struct {
	*httptest.Server
	t      testing.TB
	router routers.Router
	doc    *openapi3.T

	mu        sync.Mutex
	inline    []*Hook
	events    []*Hook
	mutations int
}

// host is the org every request is routed as: the router is built once.
const host = "okta.fake"

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// New starts a fake Okta org with no hooks. It skips the test when the
// shared contracts are absent. The spec loads once per test binary.
func New(t testing.TB) *Server {
	t.Helper()
	path := sharedtest.Path(t, "contracts", "okta", "management", "management-minimal.yaml")
	spec.once.Do(func() {
		if spec.doc, spec.err = openapi3.NewLoader().LoadFromFile(path); spec.err == nil {
			spec.doc.Servers = openapi3.Servers{{URL: "https://" + host}}
			spec.router, spec.err = gorillamux.NewRouter(spec.doc)
		}
	})
	if spec.err != nil {
		t.Fatalf("load Okta management spec: %v", spec.err)
	}
	s := &Server{t: t, doc: spec.doc, router: spec.router}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Client returns an HTTP client that trusts the fake and reaches it
// whatever host and port a URL names: the Okta SDK drops the port of its
// org URL.
func (s *Server) Client() *http.Client {
	tr := s.Server.Client().Transport.(*http.Transport).Clone()
	addr := s.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr}
}

// Mutations counts the requests that changed the org's configuration
// (create, replace, activate, deactivate); verify and execute are checks.
func (s *Server) Mutations() int { s.mu.Lock(); defer s.mu.Unlock(); return s.mutations }

// InlineHooks and EventHooks return copies of the org's hooks.
func (s *Server) InlineHooks() []Hook { return s.snapshot(&s.inline) }
func (s *Server) EventHooks() []Hook  { return s.snapshot(&s.events) }

func (s *Server) snapshot(hs *[]*Hook) []Hook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Hook, 0, len(*hs))
	for _, h := range *hs {
		out = append(out, *h)
	}
	return out
}

// AddInlineHook puts an ACTIVE hook into the org as another tool would
// have, without counting a mutation.
func (s *Server) AddInlineHook(h Hook) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.ID, h.Status = newID("cal"), "ACTIVE"
	s.inline = append(s.inline, &h)
	return h.ID
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if r.Header.Get("Authorization") != "SSWS "+Token {
		oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	r.Host = host
	route, params, err := s.router.FindRoute(r)
	if err != nil {
		s.t.Errorf("okta fake: %s %s: %v", r.Method, r.URL.Path, err)
		oktaError(w, http.StatusNotFound, "E0000007", "Not found: "+r.URL.Path)
		return
	}
	op := route.Operation.OperationID
	// The execute body is a oneOf whose alternatives accept any object,
	// so every body matches several: s.strict checks the telephony one.
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: op == "executeInlineHook"}
	vin := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(r.Context(), vin); err != nil {
		s.refuse(w, op, err)
		return
	}
	in, err := s.strict(op, body)
	if err != nil {
		s.refuse(w, op, err)
		return
	}
	id := params["inlineHookId"] + params["eventHookId"]
	status, out, err := s.handle(r.Context(), op, id, in, r.URL.Query().Get("type"))
	if err != nil {
		if status == http.StatusBadRequest {
			s.t.Logf("okta fake: %s refused: %v", op, err)
		}
		oktaError(w, status, map[int]string{400: "E0000001", 404: "E0000007", 501: "E0000060"}[status], err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// refuse answers a request the spec or the strict layer rejects; it is a
// client bug, so the test fails too.
func (s *Server) refuse(w http.ResponseWriter, op string, err error) {
	s.t.Errorf("okta fake: %s: invalid request: %v", op, err)
	oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: "+op)
}

// request is a write request after the strict layer.
type request struct {
	name, typ string
	events    []string
	channel   Channel
	body      []byte // execute: the telephony request
}

// strict checks what the spec cannot: unknown fields, the OAuth
// authType and the fields that go with it, and the execute body against
// the telephony alternative of its oneOf.
func (s *Server) strict(op string, body []byte) (request, error) {
	in := request{body: body}
	var err error
	switch op {
	case "createInlineHook", "replaceInlineHook":
		var h inlineCreate
		if err = decodeStrict(body, &h); err == nil && op == "replaceInlineHook" && h.Type != "" {
			err = fmt.Errorf("type is not a field of InlineHookReplace")
		}
		if err == nil {
			in.name, in.typ = h.Name, h.Type
			in.channel, err = h.channel()
		}
	case "createEventHook", "replaceEventHook":
		var h eventBody
		if err = decodeStrict(body, &h); err == nil {
			in.name, in.events = h.Name, h.Events.Items
			in.channel, err = h.channel()
		}
	case "executeInlineHook":
		var v any
		if err = json.Unmarshal(body, &v); err == nil {
			err = s.doc.Components.Schemas["TelephonyRequestExecute"].Value.VisitJSON(v)
		}
	}
	return in, err
}

func (s *Server) handle(ctx context.Context, op, id string, in request, typ string) (int, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "listInlineHooks":
		out := []any{}
		for _, h := range s.inline {
			if typ == "" || h.Type == typ {
				out = append(out, inlineJSON(h))
			}
		}
		return 200, out, nil
	case "listEventHooks":
		out := []any{}
		for _, h := range s.events {
			out = append(out, eventJSON(h))
		}
		return 200, out, nil
	case "createInlineHook", "replaceInlineHook":
		h := &Hook{ID: newID("cal"), Status: "ACTIVE", Type: in.typ}
		if op == "replaceInlineHook" {
			if h = find(s.inline, id); h == nil {
				return 404, nil, fmt.Errorf("no inline hook %s", id)
			}
		} else {
			if h.Type == TelephonyType && s.activeTelephony(nil) != nil {
				return 400, nil, fmt.Errorf("only one active telephony inline hook is allowed per org")
			}
			s.inline = append(s.inline, h)
		}
		h.Name, h.Channel = in.name, in.channel
		s.mutations++
		return 200, inlineJSON(h), nil
	case "activateInlineHook", "deactivateInlineHook":
		h := find(s.inline, id)
		if h == nil {
			return 404, nil, fmt.Errorf("no inline hook %s", id)
		}
		if op == "activateInlineHook" && h.Type == TelephonyType && s.activeTelephony(h) != nil {
			return 400, nil, fmt.Errorf("only one active telephony inline hook is allowed per org")
		}
		h.Status = map[bool]string{true: "ACTIVE", false: "INACTIVE"}[op == "activateInlineHook"]
		s.mutations++
		return 200, inlineJSON(h), nil
	case "executeInlineHook":
		h := find(s.inline, id)
		if h == nil {
			return 404, nil, fmt.Errorf("no inline hook %s", id)
		}
		ch := h.Channel
		s.mu.Unlock() // the hook may take seconds
		defer s.mu.Lock()
		return execute(ctx, ch, in.body)
	case "createEventHook", "replaceEventHook":
		h := &Hook{ID: newID("who"), Status: "ACTIVE"}
		if op == "replaceEventHook" {
			if h = find(s.events, id); h == nil {
				return 404, nil, fmt.Errorf("no event hook %s", id)
			}
		} else {
			s.events = append(s.events, h)
		}
		// Okta: updating the channel requires verifying the hook again.
		if op == "createEventHook" || !reflect.DeepEqual(h.Channel, in.channel) {
			h.VerificationStatus = "UNVERIFIED"
		}
		h.Name, h.Events, h.Channel = in.name, in.events, in.channel
		s.mutations++
		return 200, eventJSON(h), nil
	case "verifyEventHook":
		h := find(s.events, id)
		if h == nil {
			return 404, nil, fmt.Errorf("no event hook %s", id)
		}
		ch := h.Channel
		s.mu.Unlock()
		err := verify(ctx, ch)
		s.mu.Lock()
		if err != nil {
			return 400, nil, err
		}
		h.VerificationStatus = "VERIFIED"
		return 200, eventJSON(h), nil
	}
	return 501, nil, fmt.Errorf("the fake does not implement %s", op)
}

func (s *Server) activeTelephony(except *Hook) *Hook {
	for _, h := range s.inline {
		if h != except && h.Type == TelephonyType && h.Status == "ACTIVE" {
			return h
		}
	}
	return nil
}

func find(hs []*Hook, id string) *Hook {
	for _, h := range hs {
		if h.ID == id {
			return h
		}
	}
	return nil
}

// call makes Okta's outbound request: a 3 s timeout and one retry after a
// timeout or an error answer.
func call(ctx context.Context, ch Channel, method string, body []byte, extra http.Header) (*http.Response, []byte, error) {
	if ch.Type != "HTTP" {
		return nil, nil, fmt.Errorf("the fake calls header-authenticated hooks only, not %s", ch.Type)
	}
	var err error
	for range 2 {
		ctx, cancel := context.WithTimeout(ctx, hookTimeout)
		req, _ := http.NewRequestWithContext(ctx, method, ch.URI, bytes.NewReader(body))
		req.Header = extra.Clone()
		req.Header.Set("Content-Type", "application/json")
		for _, h := range ch.Headers {
			req.Header.Set(h.Key, h.Value)
		}
		if ch.AuthKey != "" {
			req.Header.Set(ch.AuthKey, ch.AuthValue)
		}
		var resp *http.Response
		resp, err = http.DefaultClient.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			if rerr == nil && resp.StatusCode/100 == 2 {
				return resp, b, nil
			}
			err = fmt.Errorf("the hook answered %s", resp.Status)
			continue
		}
		cancel()
	}
	return nil, nil, err
}

func verify(ctx context.Context, ch Channel) error {
	challenge := newID("")
	_, b, err := call(ctx, ch, http.MethodGet, nil, http.Header{"X-Okta-Verification-Challenge": {challenge}})
	if err != nil {
		return fmt.Errorf("verification failed: %v", err)
	}
	var ans struct {
		Verification string `json:"verification"`
	}
	if json.Unmarshal(b, &ans) != nil || ans.Verification != challenge {
		return fmt.Errorf("verification failed: the hook did not echo the challenge")
	}
	return nil
}

func execute(ctx context.Context, ch Channel, body []byte) (int, any, error) {
	_, b, err := call(ctx, ch, http.MethodPost, body, http.Header{})
	if err != nil {
		return 400, nil, fmt.Errorf("inline hook execution failed: %v", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return 400, nil, fmt.Errorf("inline hook response is not JSON")
	}
	return 200, json.RawMessage(b), nil
}

func oktaError(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": newID("oae"),
		"errorCauses": []map[string]string{{"errorSummary": summary}},
	})
}

func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// decodeStrict refuses unknown fields: Okta's schemas allow additional
// properties, Okta's API does not.
func decodeStrict(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	return d.Decode(v)
}
