package oktafake

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
)

// Header is one extra header Okta sends to a hook.
type Header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type authScheme struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// inlineCreate holds the fields the spec defines for InlineHookCreate
// (InlineHookReplace is the same without type), over both channel kinds.
type inlineCreate struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Version string `json:"version"`
	Channel struct {
		Type    string `json:"type"`
		Version string `json:"version"`
		Config  struct {
			URI          string      `json:"uri"`
			Method       string      `json:"method"`
			Headers      []Header    `json:"headers"`
			AuthScheme   *authScheme `json:"authScheme"`
			AuthType     string      `json:"authType"`
			ClientID     string      `json:"clientId"`
			ClientSecret string      `json:"clientSecret"`
			HookKeyID    string      `json:"hookKeyId"`
			Scope        string      `json:"scope"`
			TokenURL     string      `json:"tokenUrl"`
		} `json:"config"`
	} `json:"channel"`
}

// channel checks what the spec leaves open: the authType values, and which
// fields go with which channel type.
func (in inlineCreate) channel() (Channel, error) {
	c := in.Channel.Config
	ch := Channel{Type: in.Channel.Type, URI: c.URI, Headers: c.Headers, AuthType: c.AuthType, ClientID: c.ClientID,
		TokenURL: c.TokenURL, Scope: c.Scope, ClientSecret: c.ClientSecret, HookKeyID: c.HookKeyID}
	if err := hookURI(c.URI); err != nil {
		return ch, err
	}
	if c.Method != "" && c.Method != "POST" {
		return ch, fmt.Errorf("method %q: only POST", c.Method)
	}
	switch in.Channel.Type {
	case "HTTP":
		if c.AuthType+c.ClientID+c.ClientSecret+c.HookKeyID+c.Scope+c.TokenURL != "" {
			return ch, fmt.Errorf("OAuth fields on an HTTP channel")
		}
		if a := c.AuthScheme; a != nil {
			if a.Type != "HEADER" || a.Key == "" || a.Value == "" {
				return ch, fmt.Errorf("authScheme needs type HEADER, a key and a value")
			}
			ch.AuthKey, ch.AuthValue = a.Key, a.Value
		}
	case "OAUTH":
		if c.AuthScheme != nil {
			return ch, fmt.Errorf("authScheme must be null on an OAUTH channel")
		}
		if c.ClientID == "" || c.TokenURL == "" {
			return ch, fmt.Errorf("an OAUTH channel needs clientId and tokenUrl")
		}
		switch c.AuthType {
		case "client_secret_post":
			if c.ClientSecret == "" || c.HookKeyID != "" {
				return ch, fmt.Errorf("client_secret_post takes clientSecret, not hookKeyId")
			}
		case "private_key_jwt":
			if c.HookKeyID == "" || c.ClientSecret != "" {
				return ch, fmt.Errorf("private_key_jwt takes hookKeyId, not clientSecret")
			}
		default:
			return ch, fmt.Errorf("authType %q: Okta knows client_secret_post and private_key_jwt", c.AuthType)
		}
	default:
		return ch, fmt.Errorf("channel type %q", in.Channel.Type)
	}
	return ch, nil
}

// eventBody holds the fields the spec defines for a written EventHook.
type eventBody struct {
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Events      struct {
		Type   string          `json:"type"`
		Items  []string        `json:"items"`
		Filter json.RawMessage `json:"filter"`
	} `json:"events"`
	Channel struct {
		Type    string `json:"type"`
		Version string `json:"version"`
		Config  struct {
			URI        string      `json:"uri"`
			Headers    []Header    `json:"headers"`
			AuthScheme *authScheme `json:"authScheme"`
		} `json:"config"`
	} `json:"channel"`
}

func (in eventBody) channel() (Channel, error) {
	c := in.Channel.Config
	ch := Channel{Type: in.Channel.Type, URI: c.URI, Headers: c.Headers}
	if a := c.AuthScheme; a != nil {
		if a.Type != "HEADER" || a.Key == "" || a.Value == "" {
			return ch, fmt.Errorf("authScheme needs type HEADER, a key and a value")
		}
		ch.AuthKey, ch.AuthValue = a.Key, a.Value
	}
	if len(in.Events.Items) == 0 {
		return ch, fmt.Errorf("an event hook needs at least one event type")
	}
	return ch, hookURI(c.URI)
}

// hookURI: Okta calls https endpoints only; loopback http stands for the
// function run locally.
func hookURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("uri %q is not an absolute URL", s)
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme == "https" || u.Scheme == "http" && (u.Hostname() == "localhost" || ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("uri %q must begin with https://", s)
}

const stamp = "2026-01-01T00:00:00.000Z"

// inlineJSON is an InlineHook as Okta returns it: no secret values.
func inlineJSON(h *Hook) map[string]any {
	ch := h.Channel
	cfg := map[string]any{"uri": ch.URI, "method": "POST", "headers": headersJSON(ch.Headers)}
	if ch.Type == "HTTP" {
		cfg["authScheme"] = nil
		if ch.AuthKey != "" {
			cfg["authScheme"] = map[string]string{"type": "HEADER", "key": ch.AuthKey}
		}
	} else {
		cfg["authType"], cfg["clientId"], cfg["tokenUrl"], cfg["scope"] = ch.AuthType, ch.ClientID, ch.TokenURL, ch.Scope
		if ch.HookKeyID != "" {
			cfg["hookKeyId"] = ch.HookKeyID
		}
	}
	return map[string]any{"id": h.ID, "name": h.Name, "type": h.Type, "version": "1.0.0", "status": h.Status,
		"created": stamp, "lastUpdated": stamp,
		"channel": map[string]any{"type": ch.Type, "version": "1.0.0", "config": cfg}}
}

// eventJSON is an EventHook as Okta returns it: no secret value.
func eventJSON(h *Hook) map[string]any {
	ch := h.Channel
	cfg := map[string]any{"uri": ch.URI, "method": "POST", "headers": headersJSON(ch.Headers), "authScheme": nil}
	if ch.AuthKey != "" {
		cfg["authScheme"] = map[string]string{"type": "HEADER", "key": ch.AuthKey}
	}
	return map[string]any{"id": h.ID, "name": h.Name, "status": h.Status, "verificationStatus": h.VerificationStatus,
		"created": stamp, "lastUpdated": stamp, "createdBy": "00ufake",
		"events":  map[string]any{"type": "EVENT_TYPE", "items": h.Events},
		"channel": map[string]any{"type": "HTTP", "version": "1.0.0", "config": cfg}}
}

func headersJSON(hs []Header) []Header {
	if hs == nil {
		return []Header{}
	}
	return hs
}
