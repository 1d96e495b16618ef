// Package benchtest holds the floor of issue 7's benchmarks: the least a
// hook that waits for 8x8 must do, to measure the real hook against.
package benchtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
)

// floorRequest is all a minimal hook reads.
type floorRequest struct {
	EventID string `json:"eventId"`
	Data    struct {
		MessageProfile struct {
			PhoneNumber     string `json:"phoneNumber"`
			OTPCode         string `json:"otpCode"`
			DeliveryChannel string `json:"deliveryChannel"`
			Locale          string `json:"locale"`
		} `json:"messageProfile"`
	} `json:"data"`
}

// Floor is the floor: read the body, decode it, one keep-alive POST of a
// voice callflow to voiceURL, write the SUCCESSFUL answer with 8x8's
// sessionId. Nothing else: no authentication, guard, log or checks.
func Floor(voiceURL, subaccount, apiKey, callerID string) http.Handler {
	hc := eightbyeight.NewHTTPClient()
	u := strings.TrimRight(voiceURL, "/") + "/api/v1/subaccounts/" + subaccount + "/callflows"
	auth := "Bearer " + apiKey
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		var req floorRequest
		if err == nil {
			err = json.Unmarshal(raw, &req)
		}
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		m := req.Data.MessageProfile
		body := `{"callflow":[{"action":"makeCall","params":{"source":"` + callerID + `","destination":"` + m.PhoneNumber +
			`"}},{"action":"say","params":{"text":"Your code is ` + m.OTPCode + `","voiceProfile":"en-US-Jenny","repetition":2}},{"action":"hangup"}]}`
		out, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u, strings.NewReader(body))
		if err != nil {
			http.Error(w, "internal", http.StatusInternalServerError)
			return
		}
		out.Header = http.Header{"Authorization": {auth}, "Content-Type": {"application/json"}}
		resp, err := hc.Do(out)
		if err != nil {
			http.Error(w, "8x8", http.StatusBadGateway)
			return
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var ans struct {
			SessionID string `json:"sessionId"`
		}
		_ = json.Unmarshal(rb, &ans)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"commands":[{"type":"com.okta.telephony.action","value":[{"status":"SUCCESSFUL","provider":"8x8","transactionId":"`+ans.SessionID+`"}]}]}`)
	})
}
