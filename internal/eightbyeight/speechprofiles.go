package eightbyeight

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// SpeechProfile is one voice the 8x8 account can use in `say`.
type SpeechProfile struct {
	Code        string // speechProfileCode, the say voiceProfile ("en-US-Jenny")
	Locale      string // localeCode ("en-US")
	Description string // localeDescription ("EnglishUS")
	Gender      string // "F", "M"
}

type speechProfilesResponse struct {
	SpeechProfiles []struct {
		SpeechProfileCode string `json:"speechProfileCode"`
		LocaleCode        string `json:"localeCode"`
		LocaleDescription string `json:"localeDescription"`
		Gender            string `json:"gender"`
	} `json:"speechProfiles"`
	StatusCode    *int   `json:"statusCode"`
	StatusMessage string `json:"statusMessage"`
}

// maxProfilesBody bounds the profile list: hundreds of voices at ~100
// bytes each.
const maxProfilesBody = 1 << 20

// SpeechProfiles reads the voices the account has (GET
// {voice}/api/v1/subaccounts/{id}/speech-profiles). Availability is per
// account: a profile missing from it fails every call that names it. A
// read is idempotent, so it is retried as Feedback is, until ctx ends:
// bound ctx to what start-up can spend. Entries without a code are
// dropped.
func (c *Client) SpeechProfiles(ctx context.Context) ([]SpeechProfile, error) {
	b, err := c.retrying(ctx, http.MethodGet, c.speechProfilesURL, nil, maxProfilesBody, callflowErrorShape)
	if err != nil {
		return nil, err
	}
	var r speechProfilesResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, &Error{Kind: Unknown, HTTPStatus: http.StatusOK, Err: err}
	}
	if r.StatusCode != nil && *r.StatusCode < 0 {
		return nil, &Error{Kind: Refused, HTTPStatus: http.StatusOK, Code: redact.Code(strconv.Itoa(*r.StatusCode)), Message: cleanMessage(r.StatusMessage)}
	}
	out := make([]SpeechProfile, 0, len(r.SpeechProfiles))
	for _, p := range r.SpeechProfiles {
		if p.SpeechProfileCode == "" {
			continue
		}
		out = append(out, SpeechProfile{Code: p.SpeechProfileCode, Locale: p.LocaleCode, Description: p.LocaleDescription, Gender: p.Gender})
	}
	return out, nil
}
