package benchtest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// FloorConfig is what floorreq needs: where 8x8's voice API is, the
// account, and where its log lines go.
type FloorConfig struct {
	VoiceURL   string // 8x8's voice API base URL
	Subaccount string
	APIKey     string
	CallerID   string
	Log        io.Writer    // one slog.JSONHandler line per request
	HTTPClient *http.Client // nil: a keep-alive client sized for 32+ clients
}

// floorRequest is all floorreq reads of Okta's request.
type floorRequest struct {
	EventID string `json:"eventId"`
	Data    struct {
		UserProfile struct {
			UserID string `json:"userId"`
		} `json:"userProfile"`
		MessageProfile struct {
			PhoneNumber     string `json:"phoneNumber"`
			OTPCode         string `json:"otpCode"`
			DeliveryChannel string `json:"deliveryChannel"`
			Locale          string `json:"locale"`
		} `json:"messageProfile"`
	} `json:"data"`
}

// floorCall is the voice callflow floorreq posts to 8x8.
type floorCall struct {
	ValidUntil string       `json:"validUntil,omitempty"`
	Callflow   []floorSteps `json:"callflow"`
}

type floorSteps struct {
	Action string       `json:"action"`
	Params *floorParams `json:"params,omitempty"`
}

type floorParams struct {
	Source       string `json:"source,omitempty"`
	Destination  string `json:"destination,omitempty"`
	Text         string `json:"text,omitempty"`
	VoiceProfile string `json:"voiceProfile,omitempty"`
	Repetition   int    `json:"repetition,omitempty"`
}

var floorInvalid = []byte(`{"error":{"errorSummary":"The phone number is not valid.","errorCauses":[{"errorSummary":"invalid phone number"}]}}`)

// FloorReq is the floor: the work every correct hook must do for a
// voice request, and nothing more. It decodes the request with
// encoding/json; reads the number with phonenumbers.Parse, IsValidNumber
// and GetNumberType (the version in go.mod, the hook's); makes one
// keep-alive POST of a callflow to 8x8; writes one slog.JSONHandler line;
// and answers Okta SUCCESSFUL with 8x8's sessionId. No authentication,
// guard, redaction or retries: the hook is measured against it.
func FloorReq(cfg FloorConfig) http.Handler {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	logger := slog.New(slog.NewJSONHandler(cfg.Log, nil))
	u := strings.TrimRight(cfg.VoiceURL, "/") + "/api/v1/subaccounts/" + cfg.Subaccount + "/callflows"
	auth := "Bearer " + cfg.APIKey
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var req floorRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil || req.EventID == "" {
			http.Error(w, `{"error":{"errorSummary":"bad request"}}`, http.StatusBadRequest)
			return
		}
		m := req.Data.MessageProfile
		num, err := phonenumbers.Parse(m.PhoneNumber, "US")
		if err != nil || !phonenumbers.IsValidNumber(num) {
			answer(w, floorInvalid)
			return
		}
		typ := phonenumbers.GetNumberType(num)
		if typ == phonenumbers.PREMIUM_RATE {
			answer(w, floorInvalid)
			return
		}
		body, _ := json.Marshal(floorCall{Callflow: []floorSteps{
			{Action: "makeCall", Params: &floorParams{Source: cfg.CallerID, Destination: phonenumbers.Format(num, phonenumbers.E164)}},
			{Action: "say", Params: &floorParams{Text: "Your code is " + m.OTPCode, VoiceProfile: "en-US-Jenny", Repetition: 2}},
			{Action: "hangup"},
		}})
		out, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			http.Error(w, "internal", http.StatusInternalServerError)
			return
		}
		out.Header = http.Header{"Authorization": {auth}, "Content-Type": {"application/json"}}
		var ans struct {
			SessionID string `json:"sessionId"`
		}
		resp, err := hc.Do(out)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&ans)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		status := "SUCCESSFUL"
		if err != nil || ans.SessionID == "" {
			status = "FAILED"
		}
		answer(w, []byte(`{"commands":[{"type":"com.okta.telephony.action","value":[{"status":"`+status+
			`","provider":"8x8","transactionId":"`+ans.SessionID+`","transactionMetadata":"voice"}]}]}`))
		logger.LogAttrs(r.Context(), slog.LevelInfo, "okta telephony hook",
			slog.String("outcome", status),
			slog.String("eventId", req.EventID),
			slog.String("userId", req.Data.UserProfile.UserID),
			slog.String("channel", "voice"),
			slog.Int("numberType", int(typ)),
			slog.String("transactionId", ans.SessionID),
			slog.Float64("latencyMs", float64(time.Since(start).Microseconds())/1000),
		)
	})
}

func answer(w http.ResponseWriter, body []byte) {
	w.Header()["Content-Type"] = []string{"application/json"}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
	_, _ = w.Write(body)
}
