package eightbyeight

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// feedbackRequest is the SMS spec's "feedback" schema.
type feedbackRequest struct {
	Outcome   string `json:"outcome"`
	Timestamp string `json:"timestamp,omitempty"`
}

// Feedback reports a tracked SMS's outcome to 8x8's Feedback API: success
// when the code was verified at `at`, failure once it expired unverified
// (a zero at sends no timestamp). It is background work, never on the
// hook's 3-second path: it retries 429, every 5xx and transport errors,
// with backoff and jitter or after Retry-After, until ctx ends. Retrying
// is safe here, unlike a send: a feedback delivers nothing to the user,
// and a duplicate only restates the same outcome for the same umid.
//
// The error is an *Error: Refused when 8x8 refused it (a 4xx other than
// 429, permanent: do not call again) or when ctx ended after a 429 or 8x8's
// own 5xx; Unknown or Unreachable as for a send when ctx ended after a
// proxy's 5xx or a transport error.
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
	_, err = c.retrying(ctx, http.MethodPost, c.messagesURL+"/"+url.PathEscape(umid)+"/feedback", body, maxBody, smsErrorShape)
	return err
}
