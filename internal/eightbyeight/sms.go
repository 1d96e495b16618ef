package eightbyeight

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/telephony-hooks/okta-8x8/internal/jsonstr"
)

// Message is an SMS OTP.
type Message struct {
	Destination     string // E.164
	Source          string // sender id (≤ 16 characters)
	Text            string
	ClientMessageID string // Okta's eventId, to join 8x8's receipts to the sign-in
}

// Wire types, per 8x8's SMS OpenAPI spec (Send-Sms-Single).
type smsRequest struct {
	Destination     string `json:"destination"`
	Text            string `json:"text"`
	Source          string `json:"source,omitempty"`
	ClientMessageID string `json:"clientMessageId,omitempty"`
	Encoding        string `json:"encoding"`
}

type smsResponse struct {
	UMID   string `json:"umid"`
	Status struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	} `json:"status"`
}

type smsError struct {
	Code    json.Number `json:"code"`
	Message string      `json:"message"`
}

// MessageBody is the JSON body sent for m (exported for tests and dry
// runs), written by hand as CallflowBody is.
func MessageBody(m Message) []byte {
	b := make([]byte, 0, 128+len(m.Text))
	b = append(b, `{"destination":`...)
	b = jsonstr.Append(b, m.Destination)
	b = append(b, `,"text":`...)
	b = jsonstr.Append(b, m.Text)
	if m.Source != "" {
		b = append(b, `,"source":`...)
		b = jsonstr.Append(b, m.Source)
	}
	if m.ClientMessageID != "" {
		b = append(b, `,"clientMessageId":`...)
		b = jsonstr.Append(b, m.ClientMessageID)
	}
	return append(b, `,"encoding":"AUTO"}`...)
}

// SendSMS sends the message. On success the receipt's TransactionID is
// 8x8's umid.
func (c *Client) SendSMS(ctx context.Context, m Message) (Receipt, error) {
	return c.post(ctx, c.messagesURL, MessageBody(m), decodeSMS, decodeSMSError)
}

func decodeSMS(b []byte) (Receipt, error) {
	var r smsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return Receipt{}, err
	}
	rec := Receipt{TransactionID: r.UMID, Status: r.Status.Code}
	switch r.Status.Code {
	case "QUEUED":
		if r.UMID == "" {
			return rec, errors.New("8x8 SMS answer has no umid")
		}
		return rec, nil
	case "REJECTED":
		return rec, &Error{Kind: Refused, Code: r.Status.Code, Message: cleanMessage(r.Status.Description)}
	}
	return rec, errors.New("8x8 SMS answer has an unknown status " + strconv.Quote(truncate(r.Status.Code, 32)))
}

func decodeSMSError(b []byte) (code, msg string) {
	var r smsError
	if json.Unmarshal(b, &r) != nil {
		return "", ""
	}
	return r.Code.String(), r.Message
}
