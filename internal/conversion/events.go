package conversion

import (
	"cmp"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/httpjson"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
)

// Okta System Log event types read: the two that carry a code's outcome,
// and the two Okta logs for every phone code it sends.
const (
	typeAuthViaMFA     = "user.authentication.auth_via_mfa"
	typeFactorActivate = "user.mfa.factor.activate"
	typeSendSMS        = "system.sms.send_phone_verification_message"
	typeSendCall       = "system.voice.send_phone_verification_call"
)

// delivery is an event hook POST body; each event is decoded on its own,
// so one event with an odd field does not spoil the others.
type delivery struct {
	EventID text `json:"eventId"`
	Data    *struct {
		Events []json.RawMessage `json:"events"`
	} `json:"data"`
}

var errNotDelivery = errors.New("not an Okta event hook delivery (no data.events array)")

// parseDelivery decodes a POST body. Its error means the body is not JSON
// or not an event hook envelope (400); each event's own decoding error is
// kept with it.
func parseDelivery(body []byte) (eventID string, events []logEvent, err error) {
	var d delivery
	var te *json.UnmarshalTypeError
	switch err := json.Unmarshal(body, &d); {
	case errors.As(err, &te), err == nil && (d.Data == nil || d.Data.Events == nil):
		return "", nil, errNotDelivery
	case err != nil:
		return "", nil, err
	}
	events = make([]logEvent, len(d.Data.Events))
	for i, raw := range d.Data.Events {
		// encoding/json goes on after a type error and fills what it
		// can: eventType survives a malformed actor, so an irrelevant
		// event with an odd field is ignored, not counted malformed. An
		// event that is no object has no eventType.
		events[i].err = json.Unmarshal(raw, &events[i])
	}
	return string(d.EventID), events, nil
}

// logEvent is the part of a System Log event we read. The fields we rely
// on are plain strings: a number or an object there makes the event
// malformed. The rest is lenient text, since Okta says debugData is no
// contract.
type logEvent struct {
	UUID      string `json:"uuid"`
	Published string `json:"published"`
	EventType string `json:"eventType"`
	Actor     struct {
		ID string `json:"id"`
	} `json:"actor"`
	Outcome struct {
		Result string `json:"result"`
		Reason text   `json:"reason"`
	} `json:"outcome"`
	Target       []target `json:"target"`
	DebugContext struct {
		DebugData struct {
			Factor      text `json:"factor"`
			PhoneNumber text `json:"phoneNumber"`
			SMSFailover text `json:"isSmsHookFailover"`
			CallFailed  text `json:"isCallHookFailover"`
		} `json:"debugData"`
	} `json:"debugContext"`
	err error // what went wrong decoding the event
}

type target struct {
	Type        text `json:"type"`
	AlternateID text `json:"alternateId"`
	DisplayName text `json:"displayName"`
	DetailEntry struct {
		MethodTypeUsed text `json:"methodTypeUsed"`
	} `json:"detailEntry"`
}

// text is a lenient field.
type text = httpjson.Text

// factorClass is what an event says about the factor used.
type factorClass uint8

const (
	factorUnknown factorClass = iota
	factorOther               // not a phone factor (Okta Verify, email…)
	factorSMS
	factorVoice
	factorPhone // the phone authenticator, channel unknown
)

// factorOf finds the factor: debugData.factor first (SMS_FACTOR,
// CALL_FACTOR; Classic's "sms", "call"), then outcome.reason ("User set
// up SMS_FACTOR factor"), then the AuthenticatorEnrollment target
// (displayName "Phone", detailEntry.methodTypeUsed "SMS"/"VOICE").
func factorOf(ev *logEvent) factorClass {
	if f := strings.ToUpper(string(ev.DebugContext.DebugData.Factor)); f != "" {
		switch {
		case strings.Contains(f, "SMS"):
			return factorSMS
		case strings.Contains(f, "CALL"), strings.Contains(f, "VOICE"):
			return factorVoice
		}
		return factorOther
	}
	switch r := strings.ToUpper(string(ev.Outcome.Reason)); {
	case strings.Contains(r, "SMS_FACTOR"):
		return factorSMS
	case strings.Contains(r, "CALL_FACTOR"):
		return factorVoice
	}
	for _, tg := range ev.Target {
		if !strings.EqualFold(string(tg.Type), "AuthenticatorEnrollment") {
			continue
		}
		m := strings.ToUpper(string(tg.DetailEntry.MethodTypeUsed))
		switch {
		case m == "SMS":
			return factorSMS
		case strings.Contains(m, "VOICE"), strings.Contains(m, "CALL"):
			return factorVoice
		case strings.EqualFold(string(tg.DisplayName), "Phone"):
			return factorPhone
		case tg.DisplayName != "" || m != "":
			return factorOther
		}
	}
	return factorUnknown
}

// eventKind is what one event means to us.
type eventKind uint8

const (
	evIgnored   eventKind = iota // another event type, or a non-phone factor
	evMalformed                  // one of ours we cannot use
	evSuccess                    // a phone code verified (sign-in, recovery, unlock, enrollment)
	evFailure                    // a phone code mistyped
	evAbandoned                  // UNANSWERED or ABANDONED
	evOther                      // another outcome on a phone factor
	evSend                       // Okta sent, or meant to send, a phone code
)

// classified is one event after classify.
type classified struct {
	kind      eventKind
	factor    factorClass
	userID    string
	published time.Time
	why       string // evMalformed: the reason, for a debug line
	send      sendEvent
}

// sendEvent is what an Okta send event says. Its number is never logged.
type sendEvent struct {
	channel  string // chSMS or chVoice
	number   string // E.164, or as Okta wrote it; "" when absent
	country  string // the number's region, "" when unknown
	denied   bool   // outcome DENY: Okta blocked the send itself
	failover bool   // Okta sent through its own provider: our hook failed
}

func classify(ev *logEvent) classified {
	var c classified
	switch {
	case ev.EventType == "":
		return classified{kind: evMalformed, why: "eventType missing or not a string"}
	case strings.EqualFold(ev.EventType, typeSendSMS), strings.EqualFold(ev.EventType, typeSendCall):
		c = classified{kind: evSend, send: sendOf(ev)}
	case strings.EqualFold(ev.EventType, typeAuthViaMFA), strings.EqualFold(ev.EventType, typeFactorActivate):
		if c = outcomeOf(ev); c.kind != evSuccess {
			return c
		}
	default:
		return classified{kind: evIgnored}
	}
	// What we apply needs its uuid and time, and a verification its user.
	at, err := time.Parse(time.RFC3339Nano, ev.Published)
	c.published, c.userID = at, ev.Actor.ID
	switch {
	case ev.UUID == "":
		c.kind, c.why = evMalformed, "uuid missing"
	case err != nil:
		c.kind, c.why = evMalformed, "published is not a time"
	case c.kind == evSuccess && c.userID == "":
		c.kind, c.why = evMalformed, "actor.id missing"
	}
	return c
}

// outcomeOf reads a verification event's factor and result.
func outcomeOf(ev *logEvent) classified {
	c := classified{factor: factorOf(ev)}
	switch c.factor {
	case factorOther:
		// Not a phone code. A success on another factor does not cancel a
		// pending SMS: an attacker holding an email factor could then hide
		// every pumped code.
		return classified{kind: evIgnored}
	case factorUnknown:
		return classified{kind: evMalformed, why: "factor not recognised"}
	}
	result := strings.ToUpper(ev.Outcome.Result)
	switch {
	case ev.err != nil:
		c.kind, c.why = evMalformed, "a field has an unexpected type"
	case result == "SUCCESS":
		c.kind = evSuccess
	case strings.EqualFold(ev.EventType, typeFactorActivate):
		c.kind = evOther
	case result == "FAILURE":
		c.kind = evFailure
	case result == "UNANSWERED", result == "ABANDONED":
		c.kind = evAbandoned
	default:
		c.kind = evOther
	}
	return c
}

// numbers reads send events' numbers: only international ones ("+…")
// are expected, so the default region never applies.
var numbers, _ = phone.NewParser("US")

// sendOf reads a send event in either shape: Identity Engine puts the
// number in debugData.phoneNumber, Classic in a MobilePhone target. The
// failover flags come as booleans or as "true".
func sendOf(ev *logEvent) sendEvent {
	dd := &ev.DebugContext.DebugData
	e := sendEvent{channel: chSMS, failover: strings.EqualFold(string(dd.SMSFailover), "true"),
		denied: strings.EqualFold(ev.Outcome.Result, "DENY")}
	if strings.EqualFold(ev.EventType, typeSendCall) {
		e.channel, e.failover = chVoice, strings.EqualFold(string(dd.CallFailed), "true")
	}
	raw := string(dd.PhoneNumber)
	for _, tg := range ev.Target {
		if raw == "" && strings.EqualFold(string(tg.Type), "MobilePhone") {
			raw = string(cmp.Or(tg.AlternateID, tg.DisplayName))
		}
	}
	// The number as Okta wrote it, in E.164 as the hook's is, matches even
	// where our metadata knows no such country.
	e.number = raw
	if n, err := numbers.Parse(raw); err == nil {
		e.number, e.country = n.E164(), n.Region()
	}
	return e
}
