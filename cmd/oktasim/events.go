package main

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// The shape of an Okta event hook delivery and of the System Log events in
// it, as in ../shared/contracts/okta/event-hook/ (the envelope is Okta's
// published sample; the events are reconstructed from documented field
// names, see that directory's MANIFEST.md). Nulls are where the fixtures
// have nulls: a parser must not trip over them.
type eventDelivery struct {
	EventType          string       `json:"eventType"`
	EventTypeVersion   string       `json:"eventTypeVersion"`
	CloudEventsVersion string       `json:"cloudEventsVersion"`
	Source             string       `json:"source"`
	EventID            string       `json:"eventId"`
	Data               deliveryData `json:"data"`
	EventTime          string       `json:"eventTime"`
	ContentType        string       `json:"contentType"`
}

type deliveryData struct {
	Events []logEvent `json:"events"`
}

type logEvent struct {
	UUID                  string          `json:"uuid"`
	Published             string          `json:"published"`
	EventType             string          `json:"eventType"`
	Version               string          `json:"version"`
	DisplayMessage        string          `json:"displayMessage"`
	Severity              string          `json:"severity"`
	LegacyEventType       *string         `json:"legacyEventType"`
	Actor                 logEntity       `json:"actor"`
	Client                logClient       `json:"client"`
	Device                *struct{}       `json:"device"`
	AuthenticationContext authContext     `json:"authenticationContext"`
	Outcome               logOutcome      `json:"outcome"`
	Target                []logEntity     `json:"target"`
	Transaction           logTransaction  `json:"transaction"`
	DebugContext          debugContext    `json:"debugContext"`
	SecurityContext       securityContext `json:"securityContext"`
	Request               logRequest      `json:"request"`
}

// logEntity is an actor or a target.
type logEntity struct {
	ID          string        `json:"id"`
	Type        string        `json:"type"`
	AlternateID string        `json:"alternateId"`
	DisplayName string        `json:"displayName"`
	DetailEntry *entityDetail `json:"detailEntry"`
}

type entityDetail struct {
	MethodTypeUsed               string `json:"methodTypeUsed"`
	MethodUsedVerifiedProperties string `json:"methodUsedVerifiedProperties,omitempty"`
}

type logClient struct {
	UserAgent           userAgent  `json:"userAgent"`
	Zone                string     `json:"zone"`
	Device              string     `json:"device"`
	ID                  *string    `json:"id"`
	IPAddress           string     `json:"ipAddress"`
	GeographicalContext geoContext `json:"geographicalContext"`
}

type userAgent struct {
	RawUserAgent string `json:"rawUserAgent"`
	OS           string `json:"os"`
	Browser      string `json:"browser"`
}

type geoContext struct {
	City        string `json:"city"`
	State       string `json:"state"`
	Country     string `json:"country"`
	PostalCode  string `json:"postalCode"`
	Geolocation struct {
		Lat float64 `json:"lat"`
		Lon float64 `json:"lon"`
	} `json:"geolocation"`
}

type authContext struct {
	AuthenticationProvider *string `json:"authenticationProvider"`
	CredentialProvider     *string `json:"credentialProvider"`
	CredentialType         *string `json:"credentialType"`
	Issuer                 *string `json:"issuer"`
	Interface              *string `json:"interface"`
	AuthenticationStep     int     `json:"authenticationStep"`
	ExternalSessionID      string  `json:"externalSessionId"`
	RootSessionID          string  `json:"rootSessionId,omitempty"`
}

type logOutcome struct {
	Result string  `json:"result"`
	Reason *string `json:"reason"`
}

type logTransaction struct {
	Type   string   `json:"type"`
	ID     string   `json:"id"`
	Detail struct{} `json:"detail"`
}

type debugContext struct {
	DebugData debugData `json:"debugData"`
}

type debugData struct {
	RequestID                        string `json:"requestId"`
	RequestURI                       string `json:"requestUri"`
	URL                              string `json:"url"`
	Factor                           string `json:"factor,omitempty"`
	FactorIntent                     string `json:"factorIntent,omitempty"`
	AuthenticatorMethodChallengeTime string `json:"authenticatorMethodChallengeTime,omitempty"`
	EnrollmentMethodChallengeTime    string `json:"enrollmentMethodChallengeTime,omitempty"`
	// A send event's number and calling code (Identity Engine), and
	// whether Okta sent it itself because our hook failed.
	PhoneNumber        string `json:"phoneNumber,omitempty"`
	CountryCallingCode string `json:"countryCallingCode,omitempty"`
	IsSmsHookFailover  bool   `json:"isSmsHookFailover,omitempty"`
	IsCallHookFailover bool   `json:"isCallHookFailover,omitempty"`
	ThreatSuspected    string `json:"threatSuspected"`
}

type securityContext struct {
	ASNumber int    `json:"asNumber"`
	ASOrg    string `json:"asOrg"`
	ISP      string `json:"isp"`
	Domain   string `json:"domain"`
	IsProxy  bool   `json:"isProxy"`
}

type logRequest struct {
	IPChain []ipChainEntry `json:"ipChain"`
}

type ipChainEntry struct {
	IP                  string     `json:"ip"`
	GeographicalContext geoContext `json:"geographicalContext"`
	Version             string     `json:"version"`
	Source              *string    `json:"source"`
}

// Okta System Log event types oktasim writes.
const (
	eventAuthViaMFA     = "user.authentication.auth_via_mfa"
	eventFactorActivate = "user.mfa.factor.activate"
	eventSendSMS        = "system.sms.send_phone_verification_message"
	eventSendCall       = "system.voice.send_phone_verification_call"
	eventHookSource     = "https://oktasim.okta.com/api/v1/eventHooks/whoOktaSim0000000001"
	eventsPath          = "/okta/events"
)

// answerKind is what the user did with a code.
type answerKind int

const (
	typedIn  answerKind = iota // verified: outcome SUCCESS
	mistyped                   // a wrong code: outcome FAILURE, INVALID_CREDENTIALS
)

// isEnrollment: the code confirms a new phone, and Okta logs the
// enrollment (user.mfa.factor.activate), not a sign-in.
func isEnrollment(requestType string) bool {
	return strings.TrimPrefix(requestType, requestTypePrefix) == "pre-enrollment"
}

// factorIntent is debugData.factorIntent for a request type: recovery
// flows verify the code to recover the account, the rest to sign in.
func factorIntent(requestType string) string {
	switch strings.TrimPrefix(requestType, requestTypePrefix) {
	case "password-reset", "account-unlock":
		return "CREDENTIAL_RECOVERY"
	}
	return "LOGIN"
}

// baseEvent is what every event oktasim writes for hr's user shares:
// the user, the browser, the network; reqID is the request Okta logs it
// under.
func baseEvent(hr hookRequest, at time.Time, reqID string) (logEvent, error) {
	id, err := newUUID()
	if err != nil {
		return logEvent{}, err
	}
	session, err := randomBase62(24)
	if err != nil {
		return logEvent{}, err
	}
	u := hr.Data.UserProfile
	ip := hr.Data.Context.Request.IPAddress
	return logEvent{
		UUID:      id,
		Published: at.UTC().Format(okTimeLayout),
		Version:   "0",
		Severity:  "INFO",
		Actor:     logEntity{ID: u.UserID, Type: "User", AlternateID: u.Login, DisplayName: u.FirstName + " " + u.LastName},
		Client: logClient{
			UserAgent: userAgent{
				RawUserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
				OS:           "Windows 10",
				Browser:      "CHROME",
			},
			Zone:                "null", // a string in Okta's events
			Device:              "Computer",
			IPAddress:           ip,
			GeographicalContext: simGeo,
		},
		AuthenticationContext: authContext{ExternalSessionID: "idx" + session, RootSessionID: "idx" + session},
		Transaction:           logTransaction{Type: "WEB", ID: reqID},
		DebugContext:          debugContext{DebugData: debugData{RequestID: reqID, ThreatSuspected: "false"}},
		SecurityContext:       securityContext{ASNumber: 64496, ASOrg: "example isp", ISP: "example isp", Domain: "example.net"},
		Request:               logRequest{IPChain: []ipChainEntry{{IP: ip, GeographicalContext: simGeo, Version: "V4"}}},
	}, nil
}

// newEvent is the System Log event Okta writes when the user of hr answers
// its code at at: user.authentication.auth_via_mfa for a sign-in or
// recovery, user.mfa.factor.activate for an enrollment (typedIn only).
func newEvent(hr hookRequest, at time.Time, what answerKind) (logEvent, error) {
	reqID, err := randomBase62(27)
	if err != nil {
		return logEvent{}, err
	}
	ev, err := baseEvent(hr, at, reqID)
	if err != nil {
		return logEvent{}, err
	}
	u := hr.Data.UserProfile
	// Enrollment ids are per user and channel: sms… for SMS, clf… for voice
	// (the Factors API's prefixes), then the user id's tail.
	sms := strings.EqualFold(hr.Data.MessageProfile.DeliveryChannel, "sms")
	factor, method, enrollPrefix := "CALL_FACTOR", "VOICE", "clf"
	if sms {
		factor, method, enrollPrefix = "SMS_FACTOR", "SMS", "sms"
	}
	enrollment := logEntity{
		ID: enrollPrefix + u.UserID[max(0, len(u.UserID)-17):], Type: "AuthenticatorEnrollment",
		AlternateID: "unknown", DisplayName: "Phone",
		DetailEntry: &entityDetail{MethodTypeUsed: method},
	}
	ev.AuthenticationContext.AuthenticationProvider = ptr("FACTOR_PROVIDER")
	ev.AuthenticationContext.CredentialProvider = ptr("OKTA_CREDENTIAL_PROVIDER")
	ev.DebugContext.DebugData.RequestURI = "/idp/idx/challenge/answer"
	ev.DebugContext.DebugData.URL = "/idp/idx/challenge/answer?"
	user := ev.Actor
	dd := &ev.DebugContext.DebugData
	switch {
	case isEnrollment(hr.RequestType) && what == typedIn:
		ev.EventType = eventFactorActivate
		ev.DisplayMessage = "Activate factor or authenticator enrollment method for user"
		ev.LegacyEventType = ptr("core.user.factor.activate")
		ev.AuthenticationContext.AuthenticationProvider, ev.AuthenticationContext.CredentialProvider = nil, nil
		ev.Outcome = logOutcome{Result: "SUCCESS", Reason: ptr("User set up " + factor + " factor")}
		dd.EnrollmentMethodChallengeTime = hr.EventTime
	case what == typedIn:
		ev.EventType = eventAuthViaMFA
		ev.DisplayMessage = "Authentication of user via MFA"
		ev.LegacyEventType = ptr("core.user.factor.attempt_success")
		ev.Outcome = logOutcome{Result: "SUCCESS"}
		enrollment.DetailEntry.MethodUsedVerifiedProperties = "[USER_PRESENCE]"
		dd.Factor, dd.FactorIntent, dd.AuthenticatorMethodChallengeTime = factor, factorIntent(hr.RequestType), hr.EventTime
	case what == mistyped:
		ev.EventType = eventAuthViaMFA
		ev.DisplayMessage = "Authentication of user via MFA"
		ev.LegacyEventType = ptr("core.user.factor.attempt_fail")
		ev.Outcome = logOutcome{Result: "FAILURE", Reason: ptr("INVALID_CREDENTIALS")}
		dd.Factor, dd.FactorIntent, dd.AuthenticatorMethodChallengeTime = factor, factorIntent(hr.RequestType), hr.EventTime
	default:
		return logEvent{}, fmt.Errorf("no event for answer kind %d", what)
	}
	ev.Target = []logEntity{user, enrollment}
	return ev, nil
}

// sendShape is where a send event carries the number: Identity Engine in
// debugData, Classic in a MobilePhone target.
type sendShape int

const (
	shapeOIE sendShape = iota
	shapeClassic
)

// sendKind is how Okta's send went.
type sendKind int

const (
	sentByHook sendKind = iota // the hook's answer was taken
	failedOver                 // Okta sent it itself: our hook failed it
	deniedSend                 // Okta blocked it: the hook was not called
)

// newSendEvent is the event Okta logs for hr's send at at
// (system.sms.send_phone_verification_message or
// system.voice.send_phone_verification_call), carrying the number and
// its calling code in shape's place. Its transaction id is the hook
// request's id, as Okta's appears to be.
func newSendEvent(hr hookRequest, at time.Time, shape sendShape, how sendKind) (logEvent, error) {
	reqID := hr.Data.Context.Request.ID
	ev, err := baseEvent(hr, at, reqID)
	if err != nil {
		return logEvent{}, err
	}
	number, callingCode := e164(hr.Data.MessageProfile.PhoneNumber)
	dd := &ev.DebugContext.DebugData
	sms := strings.EqualFold(hr.Data.MessageProfile.DeliveryChannel, "sms")
	ev.EventType, ev.DisplayMessage = eventSendCall, "Send phone verification call"
	if sms {
		ev.EventType, ev.DisplayMessage = eventSendSMS, "Send phone verification SMS message"
	}
	ev.Outcome = logOutcome{Result: "SUCCESS"}
	switch how {
	case failedOver:
		dd.IsSmsHookFailover, dd.IsCallHookFailover = sms, !sms
	case deniedSend:
		ev.Severity, ev.Outcome.Result, dd.ThreatSuspected = "WARN", "DENY", "true"
	}
	ev.Target = []logEntity{ev.Actor}
	if shape == shapeClassic {
		// Classic Engine: no Identity Engine session.
		ev.AuthenticationContext.ExternalSessionID = "102" + strings.TrimPrefix(ev.AuthenticationContext.ExternalSessionID, "idx")
		ev.AuthenticationContext.RootSessionID = ""
		dd.RequestURI, dd.URL = "/api/v1/authn/factors", "/api/v1/authn/factors?"
		u := hr.Data.UserProfile.UserID
		ev.Target = append(ev.Target, logEntity{ID: "mbl" + u[max(0, len(u)-17):], Type: "MobilePhone", AlternateID: number, DisplayName: number})
		return ev, nil
	}
	dd.RequestURI, dd.URL = signInPath, signInPath+"?"
	dd.PhoneNumber, dd.CountryCallingCode = number, callingCode
	return ev, nil
}

// e164 is a number as Okta logs it, and its calling code ("" when the
// number is not valid: Okta's preview placeholder).
func e164(raw string) (number, callingCode string) {
	s := raw
	if !strings.HasPrefix(s, "+") {
		s = "+" + s
	}
	n, err := phonenumbers.Parse(s, "ZZ")
	if err != nil || n.GetCountryCode() == 0 {
		return raw, ""
	}
	return phonenumbers.Format(n, phonenumbers.E164), strconv.Itoa(int(n.GetCountryCode()))
}

// simGeo is where every simulated user signs in from: the events' geography
// is not what the hook judges (it joins on the user and the channel).
var simGeo = func() geoContext {
	g := geoContext{City: "San Francisco", State: "California", Country: "United States", PostalCode: "94105"}
	g.Geolocation.Lat, g.Geolocation.Lon = 37.7898, -122.3942
	return g
}()

func ptr[T any](v T) *T { return &v }

// newDelivery wraps events in Okta's event hook envelope.
func newDelivery(events []logEvent, now time.Time) (eventDelivery, error) {
	id, err := newUUID()
	if err != nil {
		return eventDelivery{}, err
	}
	return eventDelivery{
		EventType:          "com.okta.event_hook",
		EventTypeVersion:   "1.0",
		CloudEventsVersion: "0.1",
		Source:             eventHookSource,
		EventID:            id,
		Data:               deliveryData{Events: events},
		EventTime:          now.UTC().Format(okTimeLayout),
		ContentType:        "application/json",
	}, nil
}

// newUUID is a random (version 4) UUID, as Okta's event uuids and eventIds.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
