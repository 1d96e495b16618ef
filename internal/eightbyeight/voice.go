package eightbyeight

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/jsonstr"
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

// CallflowBody is the JSON body sent for c (exported for tests and dry
// runs). It is written by hand, byte for byte what encoding/json writes
// for callflowRequest, without reflection on every request.
func CallflowBody(c Call) []byte {
	b := make([]byte, 0, 256+len(c.Text))
	b = append(b, '{')
	if !c.ValidUntil.IsZero() {
		b = append(b, `"validUntil":"`...)
		b = c.ValidUntil.UTC().AppendFormat(b, validUntilLayout)
		b = append(b, `",`...)
	}
	b = append(b, `"callflow":[{"action":"makeCall","params":{"source":`...)
	b = jsonstr.Append(b, c.Source)
	b = append(b, `,"destination":`...)
	b = jsonstr.Append(b, c.Destination)
	b = append(b, `}},{"action":"say","params":{"text":`...)
	b = jsonstr.Append(b, c.Text)
	b = append(b, `,"voiceProfile":`...)
	b = jsonstr.Append(b, c.VoiceProfile)
	if c.Repetition != 0 {
		b = append(b, `,"repetition":`...)
		b = strconv.AppendInt(b, int64(c.Repetition), 10)
	}
	return append(b, `}},{"action":"hangup"}]}`...)
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
		return rec, &Error{Kind: Refused, Code: rec.Code, Message: cleanMessage(r.StatusMessage)}
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
