// Package oktaorg is the setup step for the Okta org: the telephony inline
// hook, the event hook (verified), and Okta's execute of the telephony
// hook as the last check. Both hooks are found by a fixed name (or by
// pointing at this service) and upserted, so a second run changes nothing.
package oktaorg

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/okta/okta-sdk-golang/v6/okta"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/plan"
)

// The names setup finds (and names) its two hooks by.
const (
	InlineHookName = "okta-8x8 telephony"
	EventHookName  = "okta-8x8 events"
	telephonyType  = "com.okta.telephony.provider"
	hookVersion    = "1.0.0"
)

// EventTypes are the events the event hook subscribes to: the verification
// outcomes of our codes, completed enrollments, and Okta's own sends.
var EventTypes = []string{
	"user.authentication.auth_via_mfa",
	"user.mfa.factor.activate",
	"system.sms.send_phone_verification_message",
	"system.voice.send_phone_verification_call",
}

// Config is what the step needs. No secret is ever printed or returned.
type Config struct {
	OrgURL string // https://acme.okta.com
	// The admin API's credentials: an API token, or a service app's client
	// id with its private key (PEM; PrivateKeyID is the key's kid, if any).
	APIToken                           string
	ClientID, PrivateKey, PrivateKeyID string

	ServiceURL string // the deployed service: the telephony hook is ServiceURL/, the event hook ServiceURL/okta/events
	AuthHeader string // OKTA_AUTH_HEADER, default Authorization
	Secret     string // OKTA_SECRET: header auth of the telephony hook, unless OAuth is set
	OAuth      *OAuth

	EventAuthHeader string // OKTA_EVENT_HOOK_AUTH_HEADER, default Authorization
	EventSecret     string // OKTA_EVENT_HOOK_SECRET

	// Replace lets the step deactivate another active telephony hook
	// (-replace-okta-hook): Okta allows one per org.
	Replace bool

	HTTPClient *http.Client // nil: http.DefaultClient
}

// OAuth is the telephony hook's OAuth 2.0 channel: Okta gets a
// client-credentials token at TokenURL and sends it as a bearer token.
type OAuth struct {
	AuthType     string // AuthClientSecret or AuthPrivateKey
	ClientID     string
	TokenURL     string // https://acme.okta.com/oauth2/default/v1/token
	Scope        string // okta.telephony.hook
	ClientSecret string // client_secret_post
	HookKeyID    string // private_key_jwt: a key of Okta's Hook Keys API
}

// The authType values of Okta's management spec.
const (
	AuthClientSecret = "client_secret_post"
	AuthPrivateKey   = "private_key_jwt"
)

// Org applies the configuration to one Okta org.
type Org struct {
	cfg Config
	api *okta.APIClient
}

// New checks cfg and builds the Okta client. The token is held in memory
// only.
func New(cfg Config) (*Org, error) {
	if !strings.HasPrefix(cfg.OrgURL, "https://") {
		return nil, fmt.Errorf("okta: the org URL %q must begin with https://", cfg.OrgURL)
	}
	if cfg.ServiceURL == "" || cfg.EventSecret == "" {
		return nil, errors.New("okta: the service URL and the event hook secret are required")
	}
	if o := cfg.OAuth; o == nil && cfg.Secret == "" {
		return nil, errors.New("okta: the telephony hook needs the header secret or OAuth")
	} else if o != nil && !(o.AuthType == AuthClientSecret && o.ClientSecret != "" || o.AuthType == AuthPrivateKey && o.HookKeyID != "") {
		return nil, fmt.Errorf("okta: OAuth authType %q needs %s with a client secret or %s with a hook key id", o.AuthType, AuthClientSecret, AuthPrivateKey)
	}
	cfg.AuthHeader = cmp.Or(cfg.AuthHeader, "Authorization")
	cfg.EventAuthHeader = cmp.Or(cfg.EventAuthHeader, "Authorization")
	cfg.ServiceURL = strings.TrimSuffix(cfg.ServiceURL, "/")
	set := []okta.ConfigSetter{okta.WithOrgUrl(cfg.OrgURL), okta.WithCache(false), okta.WithHttpClientPtr(cmp.Or(cfg.HTTPClient, http.DefaultClient))}
	switch {
	case cfg.APIToken != "":
		set = append(set, okta.WithToken(cfg.APIToken))
	case cfg.ClientID != "" && cfg.PrivateKey != "":
		set = append(set, okta.WithAuthorizationMode("PrivateKey"), okta.WithClientId(cfg.ClientID), okta.WithPrivateKey(cfg.PrivateKey),
			okta.WithPrivateKeyId(cfg.PrivateKeyID), okta.WithScopes([]string{"okta.inlineHooks.manage", "okta.eventHooks.manage"}))
	default:
		return nil, errors.New("okta: an API token, or a service app's client id and private key, is required")
	}
	c, err := okta.NewConfiguration(set...)
	if err != nil {
		return nil, fmt.Errorf("okta: %w", err)
	}
	return &Org{cfg: cfg, api: okta.NewAPIClient(c)}, nil
}

// Plan reads the org and says what Apply would change.
func (o *Org) Plan(ctx context.Context) ([]plan.Change, error) { return o.run(ctx, false) }

// Apply makes the org match and returns what it changed (verify is a check).
func (o *Org) Apply(ctx context.Context) ([]plan.Change, error) { return o.run(ctx, true) }

func (o *Org) run(ctx context.Context, apply bool) ([]plan.Change, error) {
	r := &recorder{apply: apply}
	err := o.telephony(ctx, r)
	if err == nil {
		err = o.events(ctx, r)
	}
	return r.out, err
}

// recorder lists each change and, in apply, makes it.
type recorder struct {
	apply bool
	out   []plan.Change
}

// do records a change of resource and, in apply, runs call, whose error
// names op.
func (r *recorder) do(action plan.Action, resource, detail, op string, call func() error) error {
	r.out = append(r.out, plan.Change{System: "okta", Action: action, Resource: resource, Detail: detail})
	if !r.apply {
		return nil
	}
	if err := call(); err != nil {
		return oktaError(op, err)
	}
	return nil
}

// hookView is what setup compares in a hook read back from Okta (which
// never returns secret values, so a changed secret alone goes unnoticed
// here; Execute then fails on it).
type hookView struct {
	Type   string `json:"type"`
	Config struct {
		URI        string `json:"uri"`
		AuthScheme struct {
			Key string `json:"key"`
		} `json:"authScheme"`
		AuthType  string `json:"authType"`
		ClientID  string `json:"clientId"`
		TokenURL  string `json:"tokenUrl"`
		Scope     string `json:"scope"`
		HookKeyID string `json:"hookKeyId"`
	} `json:"config"`
}

func view(channel any) (v hookView) {
	b, _ := json.Marshal(channel)
	_ = json.Unmarshal(b, &v)
	return v
}

// want is the channel a configuration asks for, as Okta reads it back.
func want(uri, header string, oauth *OAuth) hookView {
	var v hookView
	v.Type, v.Config.URI = "HTTP", uri
	if oauth == nil {
		v.Config.AuthScheme.Key = header
		return v
	}
	v.Type = "OAUTH"
	v.Config.AuthType, v.Config.ClientID, v.Config.TokenURL, v.Config.Scope = oauth.AuthType, oauth.ClientID, oauth.TokenURL, oauth.Scope
	if oauth.AuthType == AuthPrivateKey {
		v.Config.HookKeyID = oauth.HookKeyID
	}
	return v
}

func (o *Org) telephony(ctx context.Context, r *recorder) error {
	hooks, _, err := o.api.InlineHookAPI.ListInlineHooks(ctx).Type_(telephonyType).Execute()
	if err != nil {
		return oktaError("list inline hooks", err)
	}
	uri := o.cfg.ServiceURL + "/"
	var ours, other *okta.InlineHook
	for i, h := range hooks {
		switch {
		case ours == nil && (h.GetName() == InlineHookName || view(h.Channel).Config.URI == uri):
			ours = &hooks[i]
		case h.GetStatus() == "ACTIVE":
			other = &hooks[i]
		}
	}
	if other != nil {
		if !o.cfg.Replace {
			return fmt.Errorf("okta: the org's active telephony hook %q sends to %s, and Okta allows one per org: run again with -replace-okta-hook to deactivate it", other.GetName(), view(other.Channel).Config.URI)
		}
		err := r.do(plan.Update, "inline hook "+other.GetName(), "deactivate (replaced)", "deactivate inline hook", func() error {
			_, _, err := o.api.InlineHookAPI.DeactivateInlineHook(ctx, other.GetId()).Execute()
			return err
		})
		if err != nil {
			return err
		}
	}
	resource, detail := "inline hook "+InlineHookName, fmt.Sprintf("%s → %s (%s)", telephonyType, uri, o.authDetail())
	channel := o.inlineChannel(uri)
	switch {
	case ours == nil:
		return r.do(plan.Create, resource, detail, "create inline hook", func() error {
			body := okta.InlineHookCreate{Name: ptr(InlineHookName), Type: ptr(telephonyType), Version: ptr(hookVersion), Channel: &channel}
			_, _, err := o.api.InlineHookAPI.CreateInlineHook(ctx).InlineHookCreate(body).Execute()
			return err
		})
	case ours.GetName() != InlineHookName || view(ours.Channel) != want(uri, o.cfg.AuthHeader, o.cfg.OAuth):
		err := r.do(plan.Update, resource, detail, "replace inline hook", func() error {
			body := okta.InlineHookReplace{Name: ptr(InlineHookName), Version: ptr(hookVersion), Channel: &channel}
			_, _, err := o.api.InlineHookAPI.ReplaceInlineHook(ctx, ours.GetId()).InlineHook(body).Execute()
			return err
		})
		if err != nil {
			return err
		}
	}
	if ours.GetStatus() == "ACTIVE" {
		return nil
	}
	return r.do(plan.Update, resource, "activate", "activate inline hook", func() error {
		_, _, err := o.api.InlineHookAPI.ActivateInlineHook(ctx, ours.GetId()).Execute()
		return err
	})
}

func (o *Org) authDetail() string {
	if o.cfg.OAuth != nil {
		return "OAuth " + o.cfg.OAuth.AuthType
	}
	return "header " + o.cfg.AuthHeader
}

// inlineChannel is the telephony hook's channel, secret included. The SDK
// models a channel's config only as an additional property.
func (o *Org) inlineChannel(uri string) okta.InlineHookChannelCreate {
	typ, config := "OAUTH", any(nil)
	switch a := o.cfg.OAuth; {
	case a == nil:
		typ = "HTTP"
		config = okta.InlineHookHttpConfigCreate{Uri: &uri, Method: ptr("POST"), AuthScheme: *okta.NewNullableInlineHookChannelConfigAuthSchemeBody(
			&okta.InlineHookChannelConfigAuthSchemeBody{Type: ptr("HEADER"), Key: &o.cfg.AuthHeader, Value: &o.cfg.Secret})}
	case a.AuthType == AuthClientSecret:
		config = okta.InlineHookOAuthClientSecretConfigCreate{Uri: &uri, Method: ptr("POST"), AuthType: &a.AuthType, ClientId: &a.ClientID,
			ClientSecret: &a.ClientSecret, TokenUrl: &a.TokenURL, Scope: &a.Scope}
	default:
		config = okta.InlineHookOAuthPrivateKeyJwtConfig{Uri: &uri, Method: ptr("POST"), AuthType: &a.AuthType, ClientId: &a.ClientID,
			HookKeyId: &a.HookKeyID, TokenUrl: &a.TokenURL, Scope: &a.Scope}
	}
	return okta.InlineHookChannelCreate{Type: &typ, Version: ptr(hookVersion), AdditionalProperties: map[string]any{"config": config}}
}

func (o *Org) events(ctx context.Context, r *recorder) error {
	hooks, _, err := o.api.EventHookAPI.ListEventHooks(ctx).Execute()
	if err != nil {
		return oktaError("list event hooks", err)
	}
	uri := o.cfg.ServiceURL + "/okta/events"
	var ours *okta.EventHook
	for i, h := range hooks {
		if h.Name == EventHookName || h.Channel.Config.Uri == uri {
			ours = &hooks[i]
			break
		}
	}
	resource := "event hook " + EventHookName
	body := okta.EventHook{Name: EventHookName, Events: okta.EventSubscriptions{Type: "EVENT_TYPE", Items: EventTypes},
		Channel: okta.EventHookChannel{Type: "HTTP", Version: hookVersion, Config: okta.EventHookChannelConfig{Uri: uri,
			AuthScheme: &okta.EventHookChannelConfigAuthScheme{Type: ptr("HEADER"), Key: &o.cfg.EventAuthHeader, Value: &o.cfg.EventSecret}}}}
	detail := fmt.Sprintf("%s, %d event types (header %s)", uri, len(EventTypes), o.cfg.EventAuthHeader)
	verify := ours == nil || ours.GetVerificationStatus() != "VERIFIED"
	switch {
	case ours == nil:
		err = r.do(plan.Create, resource, detail, "create event hook", func() (err error) {
			ours, _, err = o.api.EventHookAPI.CreateEventHook(ctx).EventHook(body).Execute()
			return err
		})
	case ours.Name != EventHookName || view(ours.Channel) != want(uri, o.cfg.EventAuthHeader, nil) || !sameSet(ours.Events.Items, EventTypes):
		verify = true // Okta: a changed channel must be verified again
		err = r.do(plan.Update, resource, detail, "replace event hook", func() (err error) {
			ours, _, err = o.api.EventHookAPI.ReplaceEventHook(ctx, ours.GetId()).EventHook(body).Execute()
			return err
		})
	}
	if err == nil && ours != nil && ours.GetStatus() != "ACTIVE" {
		err = r.do(plan.Update, resource, "activate", "activate event hook", func() error {
			_, _, err := o.api.EventHookAPI.ActivateEventHook(ctx, ours.GetId()).Execute()
			return err
		})
	}
	if err != nil || !verify {
		return err
	}
	// Okta sends GET uri with x-okta-verification-challenge, which the
	// service echoes; an unverified hook receives no events.
	return r.do(plan.Check, resource, "verify", "verify event hook", func() error {
		_, _, err := o.api.EventHookAPI.VerifyEventHook(ctx, ours.GetId()).Execute()
		return err
	})
}

// Execute has Okta call the telephony hook with an Admin Console preview
// request (Okta's placeholder phone, so nothing is sent) and returns the
// hook's answer as Okta relayed it.
func (o *Org) Execute(ctx context.Context) (json.RawMessage, error) {
	hooks, _, err := o.api.InlineHookAPI.ListInlineHooks(ctx).Type_(telephonyType).Execute()
	if err != nil {
		return nil, oktaError("list inline hooks", err)
	}
	i := slices.IndexFunc(hooks, func(h okta.InlineHook) bool { return h.GetName() == InlineHookName })
	if i < 0 {
		return nil, fmt.Errorf("okta: no inline hook %q: apply first", InlineHookName)
	}
	var req okta.TelephonyRequestExecute
	if err := json.Unmarshal(previewRequest(), &req); err != nil {
		return nil, err
	}
	payload := okta.ExecuteInlineHookRequest{TelephonyRequestExecute: &req}
	_, resp, err := o.api.InlineHookAPI.ExecuteInlineHook(ctx, hooks[i].GetId()).PayloadData(payload).Execute()
	// The SDK cannot decode the answer (its oneOf matches every hook
	// type), so read the body it kept.
	if resp == nil || resp.StatusCode != http.StatusOK {
		return nil, oktaError("execute inline hook", cmp.Or(err, errors.New("no answer")))
	}
	b, rerr := io.ReadAll(resp.Body)
	if rerr != nil || !json.Valid(b) {
		return nil, fmt.Errorf("okta: execute inline hook: the answer is not JSON")
	}
	return bytes.TrimSpace(b), nil
}

// oktaError names the operation and Okta's own summary, never a request.
func oktaError(op string, err error) error {
	var api *okta.GenericOpenAPIError
	if errors.As(err, &api) {
		var e struct {
			ErrorSummary string `json:"errorSummary"`
			ErrorCauses  []struct {
				ErrorSummary string `json:"errorSummary"`
			} `json:"errorCauses"`
		}
		if json.Unmarshal(api.Body(), &e) == nil && e.ErrorSummary != "" {
			msg := e.ErrorSummary
			for _, c := range e.ErrorCauses {
				if c.ErrorSummary != msg {
					msg += "; " + c.ErrorSummary
				}
			}
			return fmt.Errorf("okta: %s: %s (%s)", op, api.Error(), msg)
		}
	}
	return fmt.Errorf("okta: %s: %w", op, err)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func ptr[T any](v T) *T { return &v }
