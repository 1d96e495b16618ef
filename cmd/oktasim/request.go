package main

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The shape of Okta's telephony inline hook request, as in
// ../shared/contracts/okta/fixtures/synth-mfa-verification-sms-en-US.json
// and Okta's published sample: every leaf is a string.
type hookRequest struct {
	EventID           string   `json:"eventId"`
	EventTime         string   `json:"eventTime"`
	EventType         string   `json:"eventType"`
	EventTypeVersion  string   `json:"eventTypeVersion"`
	ContentType       string   `json:"contentType"`
	CloudEventVersion string   `json:"cloudEventVersion"`
	Source            string   `json:"source"`
	RequestType       string   `json:"requestType"`
	Data              hookData `json:"data"`
}

type hookData struct {
	Context        hookContext    `json:"context"`
	UserProfile    userProfile    `json:"userProfile"`
	MessageProfile messageProfile `json:"messageProfile"`
}

type hookContext struct {
	Request contextRequest `json:"request"`
}

type contextRequest struct {
	ID        string     `json:"id"`
	Method    string     `json:"method"`
	URL       requestURL `json:"url"`
	IPAddress string     `json:"ipAddress"`
}

type requestURL struct {
	Value string `json:"value"`
}

type userProfile struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Login     string `json:"login"`
	UserID    string `json:"userId"`
}

type messageProfile struct {
	// Okta sends msgTemplate for SMS; the docs call it "not applicable
	// for CALL".
	MsgTemplate     string `json:"msgTemplate,omitempty"`
	PhoneNumber     string `json:"phoneNumber"`
	OtpExpires      string `json:"otpExpires"`
	DeliveryChannel string `json:"deliveryChannel"`
	OtpCode         string `json:"otpCode"`
	Locale          string `json:"locale"`
}

const (
	requestTypePrefix = "com.okta.user.telephony."
	previewPath       = "/api/internal/v1/inlineHooks/com.okta.telephony.provider/generatePreview"
	signInPath        = "/idp/idx/challenge"
	okTimeLayout      = "2006-01-02T15:04:05.000Z"
	// Okta's OTPs are valid for five minutes.
	otpLifetime = 5 * time.Minute
)

// newHookRequest builds request number i (0-based) of a run. In load mode
// requests cycle through the destinations, and the phone number and the
// user vary with i so that per-phone and per-user rate limits are not what
// is being measured.
func newHookRequest(o *options, now time.Time, i int) (hookRequest, error) {
	eventID, err := randomBase62(22) // Okta's eventIds are 22 base62 characters
	if err != nil {
		return hookRequest{}, err
	}
	reqID, err := randomBase62(27)
	if err != nil {
		return hookRequest{}, err
	}
	otp := o.otp
	if otp == "" {
		if otp, err = randomDigits(6); err != nil {
			return hookRequest{}, err
		}
	}
	d, k := destOf(o, i), numberOf(o, i)
	phone, user := o.dests[d].seed, userProfile{
		FirstName: "Olivia",
		LastName:  "Simms",
		Login:     "oktasim.user@example.com",
		// Distinct per destination too: the hook joins a verification to
		// its send by user and channel, so users must not span countries.
		UserID: fmt.Sprintf("00uoktasim%02d%08d", d, k),
	}
	if o.perDest > 1 {
		if phone, err = derivePhone(phone, k, o.perDest); err != nil {
			return hookRequest{}, err
		}
	}
	switch {
	case len(o.dests) > 1:
		user.Login = fmt.Sprintf("oktasim.user+%d.%d@example.com", d, k)
	case o.perDest > 1:
		user.Login = fmt.Sprintf("oktasim.user+%d@example.com", k)
	}
	path := signInPath
	if o.preview {
		path = previewPath
	}
	lifetime := o.otpLifetime
	if lifetime <= 0 {
		lifetime = otpLifetime
	}
	mp := messageProfile{
		PhoneNumber: phone,
		OtpExpires:  now.Add(lifetime).UTC().Format(okTimeLayout),
		OtpCode:     otp,
		Locale:      o.locale,
	}
	if o.channel == "sms" {
		mp.DeliveryChannel = "SMS"
		mp.MsgTemplate = "Your verification code is " + otp // Okta's default SMS template
	} else {
		mp.DeliveryChannel = "Voice" // as Okta sends it (8x8's capture of a real preview)
	}
	return hookRequest{
		EventID:           eventID,
		EventTime:         now.UTC().Truncate(time.Second).Format(okTimeLayout),
		EventType:         "com.okta.telephony.provider",
		EventTypeVersion:  "1.0",
		ContentType:       "application/json",
		CloudEventVersion: "0.1",
		Source:            "https://oktasim.okta.com/api/v1/inlineHooks/calOktaSim0000000000",
		RequestType:       o.requestType,
		Data: hookData{
			Context: hookContext{Request: contextRequest{
				ID:        reqID,
				Method:    "POST",
				URL:       requestURL{Value: path},
				IPAddress: "203.0.113.45", // TEST-NET-3
			}},
			UserProfile:    user,
			MessageProfile: mp,
		},
	}, nil
}

// destOf is the destination of request i: requests cycle through them.
func destOf(o *options, i int) int { return i % len(o.dests) }

// numberOf is which of its destination's numbers request i goes to.
func numberOf(o *options, i int) int { return (i / len(o.dests)) % o.perDest }

// distinctNumbers is how many different numbers a run of n requests uses.
func distinctNumbers(o *options, n int) int {
	total := 0
	for d := range o.dests {
		reqs := n / len(o.dests)
		if d < n%len(o.dests) {
			reqs++
		}
		total += min(reqs, o.perDest)
	}
	return total
}

// derivePhone returns the k-th of n distinct numbers made from base by
// adding k to its trailing digits (as many as n-1 has), wrapping within
// them, so every number keeps base's country and length.
func derivePhone(base string, k, n int) (string, error) {
	w := len(strconv.Itoa(n - 1))
	digits := 0
	for i := len(base) - 1; i >= 0 && base[i] >= '0' && base[i] <= '9'; i-- {
		digits++
	}
	// Keep the calling code and area code untouched.
	if digits < w+6 {
		return "", fmt.Errorf("-phone has too few trailing digits to derive %d distinct numbers", n)
	}
	head, tail := base[:len(base)-w], base[len(base)-w:]
	v, _ := strconv.Atoi(tail)
	mod := 1
	for range w {
		mod *= 10
	}
	return fmt.Sprintf("%s%0*d", head, w, (v+k)%mod), nil
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomBase62(n int) (string, error) {
	return randomFrom(base62, n)
}

func randomDigits(n int) (string, error) {
	return randomFrom("0123456789", n)
}

// randomFrom draws n characters uniformly from alphabet (len ≤ 256) using
// rejection sampling, so no character is more likely than another.
func randomFrom(alphabet string, n int) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+8)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// normalizeRequestType accepts "mfa-verification" or the full
// "com.okta.user.telephony.mfa-verification".
func normalizeRequestType(s string) (string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, requestTypePrefix)
	if s == "" || strings.ContainsAny(s, " /") {
		return "", fmt.Errorf("-request-type %q is not an Okta telephony request type (e.g. mfa-verification)", s)
	}
	return requestTypePrefix + s, nil
}
