package eightbyeight

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// Message is an SMS OTP. Its printable forms carry neither the number nor
// the text.
type Message struct {
	Destination     phone.Number
	Source          string        // sender id (≤ 16 characters)
	Text            redact.Secret // the text, code included
	ClientMessageID string        // Okta's eventId, to join 8x8's receipts to the sign-in
	// ClientIP is the end user's IP (Okta's data.context.request.ipAddress),
	// sent as clientIp when set: 8x8 applies its per-IP limits to it.
	ClientIP string
	// Track asks 8x8 to track the message's conversion (track "Outcome");
	// report the outcome with Feedback.
	Track bool
}

// Wire types, per 8x8's SMS OpenAPI spec (Send-Sms-Single, feedback).
type smsRequest struct {
	Destination     string `json:"destination"`
	Text            string `json:"text"`
	Source          string `json:"source,omitempty"`
	ClientMessageID string `json:"clientMessageId,omitempty"`
	Encoding        string `json:"encoding"`
	ClientIP        string `json:"clientIp,omitempty"`
	Track           string `json:"track,omitempty"`
}

type smsResponse struct {
	UMID   string `json:"umid"`
	Status struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	} `json:"status"`
}

type feedbackRequest struct {
	Outcome   string `json:"outcome"`
	Timestamp string `json:"timestamp,omitempty"`
}

// SendSMS sends the message. On success the receipt's TransactionID is
// 8x8's umid.
func (c *Client) SendSMS(ctx context.Context, m Message) (Receipt, error) {
	req := smsRequest{
		Destination:     m.Destination.E164(),
		Text:            m.Text.Reveal(),
		Source:          m.Source,
		ClientMessageID: m.ClientMessageID,
		Encoding:        "AUTO",
		ClientIP:        m.ClientIP,
	}
	if m.Track {
		req.Track = "Outcome"
	}
	return c.send(ctx, c.messagesURL, req, decodeSMS, smsErrorShape)
}

func decodeSMS(b []byte) (Receipt, error) {
	var r smsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return Receipt{}, err
	}
	rec := Receipt{TransactionID: r.UMID, Status: cleanCode(r.Status.Code)}
	switch r.Status.Code {
	case "QUEUED":
		if r.UMID == "" {
			return rec, errors.New("8x8 SMS answer has no umid")
		}
		return rec, nil
	case "REJECTED":
		return rec, &Error{Kind: Refused, Code: rec.Status, Message: cleanMessage(r.Status.Description)}
	}
	return rec, errors.New("8x8 SMS answer has an unknown status " + strconv.Quote(rec.Status))
}

// smsErrorShape reads an SMS API error. 8x8's own error answer is its
// ErrorResponse: an integer code with a message or an errorId.
func smsErrorShape(b []byte) (code, msg string, own bool) {
	var r struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
		ErrorID string          `json:"errorId"`
	}
	if json.Unmarshal(b, &r) != nil {
		return "", "", false
	}
	if _, err := strconv.ParseInt(string(r.Code), 10, 64); err != nil {
		return "", r.Message, false
	}
	return string(r.Code), r.Message, r.Message != "" || r.ErrorID != ""
}

// Feedback reports a tracked SMS's outcome to 8x8's Feedback API: success
// when the code was verified at `at`, failure once it expired unverified
// (a zero at sends no timestamp). Unlike a send, it is retried until ctx
// ends: a duplicate only restates the same outcome. The error is an *Error:
// Refused when 8x8 refused it (permanent: do not call again) or when ctx
// ended after a 429 or 8x8's own 5xx.
func (c *Client) Feedback(ctx context.Context, umid string, success bool, at time.Time) error {
	if umid == "" {
		return &Error{Kind: Refused, Err: errors.New("feedback needs the message's umid")}
	}
	fb := feedbackRequest{Outcome: "failure"}
	if success {
		fb.Outcome = "success"
	}
	if !at.IsZero() {
		fb.Timestamp = at.UTC().Format(validUntilLayout) // RFC 3339, UTC, milliseconds
	}
	body, err := json.Marshal(fb)
	if err != nil {
		return &Error{Kind: Unreachable, Err: err}
	}
	if _, e := c.request(ctx, http.MethodPost, c.messagesURL+"/"+url.PathEscape(umid)+"/feedback", body, maxBody, smsErrorShape, true); e != nil {
		return e
	}
	return nil
}
