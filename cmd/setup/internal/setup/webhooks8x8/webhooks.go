// Package webhooks8x8 is the setup step that registers the service's
// /8x8/events with 8x8: the voice session summary (VSS) webhook of the
// subaccount and the SMS webhook (delivery receipts) of its account. It
// lists what 8x8 has and writes only what is missing or different.
package webhooks8x8

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/plan"
)

// Config is what the step needs. APIKey and Secret are never printed.
type Config struct {
	VoiceURL     string // default https://voice.8x8.com
	SMSURL       string // default https://sms.8x8.com (or the account's region)
	SubaccountID string
	AccountID    string // the 8x8 account id (a UUID): the SMS webhooks API is per account
	APIKey       string
	ServiceURL   string // the deployed service; 8x8 posts to ServiceURL/8x8/events
	// Secret is EIGHTYEIGHTX_WEBHOOK_SECRET: 8x8 sends it as the
	// Authorization header of every webhook.
	Secret     string
	HTTPClient *http.Client // nil: http.DefaultClient
}

// Webhooks applies the configuration to one 8x8 subaccount.
type Webhooks struct{ cfg Config }

// New checks cfg, naming the first value missing.
func New(cfg Config) (*Webhooks, error) {
	for _, f := range []struct{ name, v string }{{"subaccount id", cfg.SubaccountID}, {"account id", cfg.AccountID},
		{"API key", cfg.APIKey}, {"service URL", cfg.ServiceURL}, {"webhook secret", cfg.Secret}} {
		if f.v == "" {
			return nil, fmt.Errorf("8x8 webhooks: the %s is required", f.name)
		}
	}
	cfg.VoiceURL = strings.TrimSuffix(cmp.Or(cfg.VoiceURL, "https://voice.8x8.com"), "/")
	cfg.SMSURL = strings.TrimSuffix(cmp.Or(cfg.SMSURL, "https://sms.8x8.com"), "/")
	cfg.ServiceURL = strings.TrimSuffix(cfg.ServiceURL, "/")
	cfg.HTTPClient = cmp.Or(cfg.HTTPClient, http.DefaultClient)
	return &Webhooks{cfg: cfg}, nil
}

// The voice webhooks API's shapes (voice_v1_api.json).
type voiceWebhook struct {
	Type                    string `json:"type"`
	URL                     string `json:"url"`
	Enabled                 bool   `json:"enabled"`
	HTTPAuthHeaderAvailable bool   `json:"httpAuthHeaderAvailable"`
}

type voiceCreate struct {
	Type           string `json:"type"`
	URL            string `json:"url"`
	HTTPAuthHeader string `json:"httpAuthHeader"`
	Enabled        bool   `json:"enabled"`
}

// smsWebhook is the SMS webhooks API's Webhook (sms_api.json); 8x8 masks
// httpAuthorization as *** when it lists them.
type smsWebhook struct {
	SubAccountID      string `json:"subAccountId"`
	URL               string `json:"url"`
	HTTPAuthorization string `json:"httpAuthorization,omitempty"`
	Enabled           *bool  `json:"enabled,omitempty"`
}

// vss is the voice session summary: one per call, with its outcome.
const vss = "VSS"

// Plan reads 8x8 and says what Apply would change.
func (w *Webhooks) Plan(ctx context.Context) ([]plan.Change, error) { return w.run(ctx, false) }

// Apply registers what is missing or different and returns what it changed.
func (w *Webhooks) Apply(ctx context.Context) ([]plan.Change, error) { return w.run(ctx, true) }

func (w *Webhooks) run(ctx context.Context, apply bool) ([]plan.Change, error) {
	target := w.cfg.ServiceURL + "/8x8/events"
	var out []plan.Change

	voicePath := w.cfg.VoiceURL + "/api/v1/subaccounts/" + url.PathEscape(w.cfg.SubaccountID) + "/webhooks"
	var voice struct {
		Webhooks []voiceWebhook `json:"webhooks"`
	}
	if err := w.do(ctx, http.MethodGet, voicePath, nil, &voice); err != nil {
		return out, err
	}
	action := plan.Create
	for _, h := range voice.Webhooks {
		if h.Type != vss {
			continue
		}
		if h.URL == target && h.Enabled && h.HTTPAuthHeaderAvailable {
			action = ""
		} else {
			action = plan.Update
		}
	}
	if action != "" {
		out = append(out, plan.Change{System: "8x8", Action: action, Resource: "voice webhook " + vss + " of " + w.cfg.SubaccountID, Detail: target})
		if apply {
			// A subaccount has one webhook per type: remove the old one first.
			if action == plan.Update {
				if err := w.do(ctx, http.MethodDelete, voicePath+"/"+vss, nil, nil); err != nil {
					return out, err
				}
			}
			body := voiceCreate{Type: vss, URL: target, HTTPAuthHeader: w.cfg.Secret, Enabled: true}
			if err := w.do(ctx, http.MethodPost, voicePath, body, nil); err != nil {
				return out, err
			}
		}
	}

	smsPath := w.cfg.SMSURL + "/api/v1/accounts/" + url.PathEscape(w.cfg.AccountID) + "/webhooks"
	var sms []smsWebhook
	if err := w.do(ctx, http.MethodGet, smsPath, nil, &sms); err != nil {
		return out, err
	}
	action = plan.Create
	for _, h := range sms {
		if h.SubAccountID != w.cfg.SubaccountID {
			continue
		}
		if h.URL == target && (h.Enabled == nil || *h.Enabled) && h.HTTPAuthorization != "" {
			action = ""
		} else {
			action = plan.Update
		}
	}
	if action != "" {
		out = append(out, plan.Change{System: "8x8", Action: action, Resource: "SMS webhook of " + w.cfg.SubaccountID, Detail: target})
		if apply {
			on := true
			body := []smsWebhook{{SubAccountID: w.cfg.SubaccountID, URL: target, HTTPAuthorization: w.cfg.Secret, Enabled: &on}}
			if err := w.do(ctx, http.MethodPost, smsPath, body, nil); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// do sends one request with the API key and decodes a 2xx answer into
// out. Errors name the method, the path and 8x8's status, never a body we
// sent.
func (w *Webhooks) do(ctx context.Context, method, rawURL string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+w.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.cfg.HTTPClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message repeats the URL
		}
		return fmt.Errorf("8x8 webhooks: %s %s: %v", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized {
			hint = " (check the 8x8 API key)"
		}
		return fmt.Errorf("8x8 webhooks: %s %s: %s%s", method, req.URL.Path, resp.Status, hint)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("8x8 webhooks: %s %s: %v", method, req.URL.Path, err)
		}
	}
	return nil
}
