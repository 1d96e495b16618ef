package eightbyeight

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Call is a voice OTP: call the destination, say the text, hang up.
type Call struct {
	Destination  string // E.164
	Source       string // caller id, whitelisted at 8x8
	Text         string // ≤ 3000 characters
	VoiceProfile string // e.g. "en-US-Jenny"
	Repetition   int    // 1–3
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

// validUntilLayout is 8x8's "YYYY-MM-DDTHH:MM:SS.SSSZ".
const validUntilLayout = "2006-01-02T15:04:05.000Z"

// CallflowBody is the JSON body sent for c (exported for tests and dry runs).
func CallflowBody(c Call) []byte {
	req := callflowRequest{Callflow: []action{
		{Action: "makeCall", Params: makeCallParams{Source: c.Source, Destination: c.Destination}},
		{Action: "say", Params: sayParams{Text: c.Text, VoiceProfile: c.VoiceProfile, Repetition: c.Repetition}},
		{Action: "hangup"},
	}}
	if !c.ValidUntil.IsZero() {
		req.ValidUntil = c.ValidUntil.UTC().Format(validUntilLayout)
	}
	return mustJSON(req)
}

// Call places the voice call. On success the receipt's TransactionID is
// 8x8's sessionId.
func (c *Client) Call(ctx context.Context, call Call) (Receipt, error) {
	return c.post(ctx, c.callflowURL, CallflowBody(call), decodeCallflow, decodeCallflowError)
}

func decodeCallflow(b []byte) (Receipt, error) {
	var r callflowResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return Receipt{}, err
	}
	if r.StatusCode == nil {
		return Receipt{}, errors.New("8x8 callflow answer has no statusCode")
	}
	rec := Receipt{TransactionID: r.SessionID, Status: r.SessionStatus, Code: strconv.Itoa(*r.StatusCode)}
	if *r.StatusCode < 0 || r.SessionStatus == "NOT_CREATED" {
		return rec, &Error{Kind: Refused, Code: rec.Code, Message: truncate(r.StatusMessage, 200)}
	}
	if r.SessionID == "" {
		return rec, errors.New("8x8 callflow answer has no sessionId")
	}
	return rec, nil
}

func decodeCallflowError(b []byte) (code, msg string) {
	var r callflowResponse
	if json.Unmarshal(b, &r) != nil {
		return "", ""
	}
	if r.StatusCode != nil {
		code = strconv.Itoa(*r.StatusCode)
	}
	return code, r.StatusMessage
}
