package eightbyeight

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// Call is a voice OTP: call the destination, say the text, hang up. Its
// printable forms carry neither the number nor the code.
type Call struct {
	Destination  phone.Number
	Source       string        // caller id, whitelisted at 8x8
	Text         redact.Secret // what 8x8 says (the code): ≤ 3000 characters
	VoiceProfile string        // e.g. "en-US-Jenny"
	Repetition   int           // 1–3
	ValidUntil   time.Time
}

// Wire types, per 8x8's voice OpenAPI spec (Send-Callflow).
type callflowRequest struct {
	ValidUntil string   `json:"validUntil,omitempty"`
	Callflow   []action `json:"callflow"`
}

type action struct {
	Action string `json:"action"`
	Params any    `json:"params,omitempty"`
}

type makeCallParams struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

type sayParams struct {
	Text         string `json:"text"`
	VoiceProfile string `json:"voiceProfile"`
	Repetition   int    `json:"repetition,omitempty"`
}

type callflowResponse struct {
	SessionID     string `json:"sessionId"`
	SessionStatus string `json:"sessionStatus"`
	StatusCode    *int   `json:"statusCode"`
	StatusMessage string `json:"statusMessage"`
}

// validUntilLayout is 8x8's "YYYY-MM-DDTHH:MM:SS.SSSZ" (UTC, milliseconds).
const validUntilLayout = "2006-01-02T15:04:05.000Z"

// Call places the voice call. On success the receipt's TransactionID is
// 8x8's sessionId.
func (c *Client) Call(ctx context.Context, call Call) (Receipt, error) {
	req := callflowRequest{Callflow: []action{
		{Action: "makeCall", Params: makeCallParams{Source: call.Source, Destination: call.Destination.E164()}},
		{Action: "say", Params: sayParams{Text: call.Text.Reveal(), VoiceProfile: call.VoiceProfile, Repetition: call.Repetition}},
		{Action: "hangup"},
	}}
	if !call.ValidUntil.IsZero() {
		req.ValidUntil = call.ValidUntil.UTC().Format(validUntilLayout)
	}
	return c.send(ctx, c.callflowURL, req, decodeCallflow, callflowErrorShape)
}

func decodeCallflow(b []byte) (Receipt, error) {
	var r callflowResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return Receipt{}, err
	}
	if r.StatusCode == nil {
		return Receipt{}, errors.New("8x8 callflow answer has no statusCode")
	}
	rec := Receipt{TransactionID: r.SessionID, Status: cleanCode(r.SessionStatus), Code: cleanCode(strconv.Itoa(*r.StatusCode))}
	if *r.StatusCode < 0 || r.SessionStatus == "NOT_CREATED" {
		return rec, &Error{Kind: Refused, Code: rec.Code, Message: cleanMessage(r.StatusMessage)}
	}
	if r.SessionID == "" {
		return rec, errors.New("8x8 callflow answer has no sessionId")
	}
	return rec, nil
}

// callflowErrorShape reads a voice API error. 8x8's own error answer is a
// JSON object with sessionStatus NOT_CREATED (spec: CallflowErrorResponse,
// on every non-2xx); a statusCode alone proves nothing, a proxy's JSON can
// carry one.
func callflowErrorShape(b []byte) (code, msg string, own bool) {
	var r callflowResponse
	if json.Unmarshal(b, &r) != nil {
		return "", "", false
	}
	if r.StatusCode != nil {
		code = strconv.Itoa(*r.StatusCode)
	}
	return code, r.StatusMessage, r.SessionStatus == "NOT_CREATED"
}

// SpeechProfile is one voice the 8x8 account can use in `say`.
type SpeechProfile struct {
	Code   string `json:"speechProfileCode"` // the say voiceProfile ("en-US-Jenny")
	Locale string `json:"localeCode"`        // "en-US"
}

// maxProfilesBody bounds the profile list: hundreds of voices at ~100
// bytes each.
const maxProfilesBody = 1 << 20

// SpeechProfiles reads the voices the account has (GET
// {voice}/api/v1/subaccounts/{id}/speech-profiles). Availability is per
// account: a profile missing from it fails every call that names it. It is
// retried as Feedback is, until ctx ends: bound ctx to what start-up can
// spend. Entries without a code are dropped.
func (c *Client) SpeechProfiles(ctx context.Context) ([]SpeechProfile, error) {
	a, e := c.request(ctx, http.MethodGet, c.speechProfilesURL, nil, maxProfilesBody, callflowErrorShape, true)
	if e != nil {
		return nil, e
	}
	var r struct {
		SpeechProfiles []SpeechProfile `json:"speechProfiles"`
		StatusCode     *int            `json:"statusCode"`
		StatusMessage  string          `json:"statusMessage"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil {
		return nil, &Error{Kind: Unknown, HTTPStatus: a.status, Attempts: a.attempts, Err: err}
	}
	if r.StatusCode != nil && *r.StatusCode < 0 {
		return nil, &Error{Kind: Refused, HTTPStatus: a.status, Attempts: a.attempts, Code: cleanCode(strconv.Itoa(*r.StatusCode)), Message: cleanMessage(r.StatusMessage)}
	}
	return slices.DeleteFunc(r.SpeechProfiles, func(p SpeechProfile) bool { return p.Code == "" }), nil
}
