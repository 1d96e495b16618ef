package conversion

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/httpjson"
)

// Okta System Log event types that carry a code's outcome.
const (
	typeAuthViaMFA     = "user.authentication.auth_via_mfa"
	typeFactorActivate = "user.mfa.factor.activate"
)

// delivery is an event hook POST body: the envelope and data.events[].
type delivery struct {
	EventID text `json:"eventId"`
	Data    *struct {
		Events []logEvent `json:"events"`
	} `json:"data"`
}

// slowDelivery decodes each event on its own (eventSlot), so that an
// event with a field of an unexpected type can be told from the others.
type slowDelivery struct {
	EventID text `json:"eventId"`
	Data    *struct {
		Events []eventSlot `json:"events"`
	} `json:"data"`
}

var errNotDelivery = errors.New("not an Okta event hook delivery (no data.events array)")

// parseDelivery decodes a POST body. Its error means the body is not JSON
// or not an event hook envelope (400); a problem inside an event is left
// in that event's slot. The whole body is decoded in one go; only when
// that meets a field of an unexpected type is it decoded again event by
// event, to know which event to skip.
func parseDelivery(body []byte) (eventID string, events []eventSlot, err error) {
	var d delivery
	err = json.Unmarshal(body, &d)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		if d.Data == nil || d.Data.Events == nil {
			return "", nil, errNotDelivery
		}
		events = make([]eventSlot, len(d.Data.Events))
		for i := range d.Data.Events {
			events[i].ev = &d.Data.Events[i]
		}
		return string(d.EventID), events, nil
	case !errors.As(err, &te):
		return "", nil, err
	}
	var s slowDelivery
	if err := json.Unmarshal(body, &s); err != nil {
		return "", nil, err // the envelope itself has the odd field
	}
	if s.Data == nil || s.Data.Events == nil {
		return "", nil, errNotDelivery
	}
	return string(s.EventID), s.Data.Events, nil
}

// eventSlot is one event and what went wrong decoding it.
type eventSlot struct {
	ev  *logEvent
	err error
}

func (s *eventSlot) UnmarshalJSON(b []byte) error {
	s.ev = new(logEvent)
	if len(b) == 0 || b[0] != '{' {
		s.err = errNotObject
		return nil
	}
	// encoding/json goes on after a type error and fills what it can:
	// eventType survives a malformed actor, so an irrelevant event with
	// an odd field is ignored, not counted malformed.
	s.err = json.Unmarshal(b, s.ev)
	return nil
}

var errNotObject = errors.New("event is not an object")

// logEvent is the part of a System Log event we read. The fields we rely
// on are plain strings: a number or an object there makes the event
// malformed. The factor's clues (debugData, outcome.reason, targets) are
// lenient text, since Okta says debugData is no contract; a debugData or
// target that is not an object at all makes the event malformed.
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
			// factorIntent (LOGIN, CREDENTIAL_RECOVERY…) is not read:
			// every phone code counts alike.
			Factor text `json:"factor"`
		} `json:"debugData"`
	} `json:"debugContext"`
}

type target struct {
	Type        text `json:"type"`
	DisplayName text `json:"displayName"`
	DetailEntry struct {
		MethodTypeUsed text `json:"methodTypeUsed"`
	} `json:"detailEntry"`
}

// text is a lenient field (Okta's debugData is no contract).
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
	if r := strings.ToUpper(string(ev.Outcome.Reason)); r != "" {
		switch {
		case strings.Contains(r, "SMS_FACTOR"):
			return factorSMS
		case strings.Contains(r, "CALL_FACTOR"):
			return factorVoice
		}
	}
	for i := range ev.Target {
		tg := &ev.Target[i]
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
)

// classified is one event after classify.
type classified struct {
	kind      eventKind
	factor    factorClass
	userID    string
	published time.Time
	why       string // evMalformed: the reason, for a debug line
}

func classify(s *eventSlot) classified {
	ev := s.ev
	if ev.EventType == "" {
		return classified{kind: evMalformed, why: "eventType missing or not a string"}
	}
	activate := strings.EqualFold(ev.EventType, typeFactorActivate)
	if !activate && !strings.EqualFold(ev.EventType, typeAuthViaMFA) {
		return classified{kind: evIgnored}
	}
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
	case s.err != nil:
		c.kind, c.why = evMalformed, "a field has an unexpected type"
	case result == "SUCCESS":
		c.kind = evSuccess
	case activate:
		c.kind = evOther
	case result == "FAILURE":
		c.kind = evFailure
	case result == "UNANSWERED", result == "ABANDONED":
		c.kind = evAbandoned
	default:
		c.kind = evOther
	}
	if c.kind != evSuccess {
		return c
	}
	var err error
	switch {
	case ev.UUID == "":
		c.kind, c.why = evMalformed, "uuid missing"
	case ev.Actor.ID == "":
		c.kind, c.why = evMalformed, "actor.id missing"
	default:
		if c.published, err = time.Parse(time.RFC3339Nano, ev.Published); err != nil {
			c.kind, c.why = evMalformed, "published is not a time"
		}
	}
	c.userID = ev.Actor.ID
	return c
}
