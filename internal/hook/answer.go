package hook

import (
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/message"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
)

// An answer is what the hook decided for one Okta request. Its JSON is a
// pure function of the answer and the request's eventId, so the guard
// remembers an eventId's answer as a record of a few bytes (record) and a
// repeat gets the same bytes again (render), without keeping ~300 bytes
// of JSON per eventId in memory or in Redis.
type answer struct {
	kind    answerKind
	channel okta.Channel
	txID    string            // 8x8's sessionId or umid, when there is one
	refusal refusalCode       // kindRefused
	failure eightbyeight.Kind // kindDeliveryFailed
	lang    message.Lang      // kindRefused, kindDeliveryFailed
}

type answerKind uint8

const (
	kindSuccessful answerKind = iota + 1
	kindPending
	kindFailed
	kindDryRun         // SUCCESSFUL with transactionId "dry-run-<eventId>"
	kindRefused        // a policy refusal: an error object in the user's language
	kindDeliveryFailed // 8x8 did not take it, ON_DELIVERY_FAILURE=error
)

// refusalCode names a policy refusal; its place in refusals is stable
// (it is stored in the guard's records).
type refusalCode uint8

const (
	refInvalidNumber refusalCode = iota + 1
	refPreviewPlaceholder
	refExpired
	refNumberType
	refCountry
	refRatePhone
	refRateUser
	refRateCountry
	refRateIP
	refConversion
	refPolicy // a guard reason this table does not know yet
)

// refusal is how one refusal reads: the end user's sentence (in their
// language) and, for the admin in Okta's System Log, the cause.
type refusal struct {
	reason  string         // errorCauses[0].reason, and the log line's outcome
	message message.Reason // the end user's sentence
	admin   string         // errorCauses[0].errorSummary
	atPhone bool           // the cause points at data.messageProfile.phoneNumber
}

var refusals = [...]refusal{
	refInvalidNumber:      {string(guard.ReasonInvalidNumber), message.InvalidNumber, "the phone number is not a valid number", true},
	refPreviewPlaceholder: {"preview_placeholder", message.PreviewPlaceholder, "the phone number is Okta's preview placeholder", true},
	refExpired:            {"otp_expired", message.Expired, "the code expired before it could be sent", false},
	refNumberType:         {string(guard.ReasonNumberType), message.NumberType, "numbers of this type cannot receive codes", true},
	refCountry:            {string(guard.ReasonCountry), message.Country, "codes are not sent to this country", true},
	refRatePhone:          {string(guard.ReasonRatePhone), message.RateLimited, "too many codes sent to this phone number", false},
	refRateUser:           {string(guard.ReasonRateUser), message.RateLimited, "too many codes sent to this user", false},
	refRateCountry:        {string(guard.ReasonRateCountry), message.RateLimited, "the budget of codes for this country is spent", false},
	refRateIP:             {string(guard.ReasonRateIP), message.RateLimited, "too many codes requested from this IP address", false},
	// The user is not told why: a pump's operator must not learn which
	// destinations are paused.
	refConversion: {"conversion_suspect", message.Unavailable, "codes to this destination are rarely entered: paused by the conversion guard", false},
	refPolicy:     {"refused_by_policy", message.Unavailable, "refused by policy", false},
}

// refusalFor maps a guard's reason onto its refusal code.
func refusalFor(r guard.Reason) refusalCode {
	if c, ok := guardRefusals[r]; ok {
		return c
	}
	return refPolicy
}

var guardRefusals = map[guard.Reason]refusalCode{
	guard.ReasonInvalidNumber: refInvalidNumber,
	guard.ReasonNumberType:    refNumberType,
	guard.ReasonCountry:       refCountry,
	guard.ReasonRatePhone:     refRatePhone,
	guard.ReasonRateUser:      refRateUser,
	guard.ReasonRateCountry:   refRateCountry,
	guard.ReasonRateIP:        refRateIP,
}

// result is the log line's outcome for the answer.
func (a answer) result() string {
	switch a.kind {
	case kindSuccessful, kindDryRun:
		return string(okta.Successful)
	case kindPending:
		return string(okta.Pending)
	case kindFailed:
		return string(okta.Failed)
	case kindRefused:
		return refusals[a.refusal].reason
	case kindDeliveryFailed:
		return string(message.DeliveryFailed)
	}
	return "invalid"
}

// render writes the answer Okta reads.
func (a answer) render(eventID string) []byte {
	r := okta.Result{Provider: okta.Provider, TransactionID: a.txID, TransactionMetadata: a.channel.String()}
	switch a.kind {
	case kindSuccessful:
		r.Status = okta.Successful
	case kindDryRun:
		r.Status, r.TransactionID = okta.Successful, "dry-run-"+eventID
	case kindPending:
		r.Status, r.TransactionID = okta.Pending, ""
	case kindFailed:
		r.Status = okta.Failed
	case kindRefused:
		ref := refusals[a.refusal]
		cause := okta.ErrorCause{ErrorSummary: ref.admin, Reason: ref.reason, Domain: "telephony-hook"}
		if ref.atPhone {
			cause.LocationType, cause.Location = "body", "data.messageProfile.phoneNumber"
		}
		return okta.Marshal(okta.Error(a.lang.Refusal(ref.message), cause))
	case kindDeliveryFailed:
		return okta.Marshal(okta.Error(a.lang.Refusal(message.DeliveryFailed), okta.ErrorCause{
			ErrorSummary: "The telephony provider did not accept the message",
			Reason:       "delivery_" + a.failure.String(),
			Domain:       "telephony-hook",
		}))
	}
	return okta.Marshal(okta.Command(r))
}

// record is the answer in a few bytes, for the guard to remember:
//
//	kind, channel, then per kind:
//	  successful, failed: a flag and the transaction id (16 bytes when it
//	                      is a UUID, as 8x8's are; else as it is)
//	  refused:            the refusal code and the language tag
//	  delivery failed:    8x8's outcome kind and the language tag
func (a answer) record() []byte {
	b := make([]byte, 0, 24)
	b = append(b, byte(a.kind), byte(a.channel))
	switch a.kind {
	case kindSuccessful, kindFailed:
		if u, ok := eightbyeight.PackID(a.txID); ok {
			b = append(append(b, 1), u[:]...)
		} else {
			b = append(append(b, 0), a.txID...)
		}
	case kindRefused:
		b = append(append(b, byte(a.refusal)), a.lang.Tag()...)
	case kindDeliveryFailed:
		b = append(append(b, byte(a.failure)), a.lang.Tag()...)
	}
	return b
}

// parseRecord reads what record wrote; ok is false for anything else.
func parseRecord(b []byte) (a answer, ok bool) {
	if len(b) < 2 {
		return answer{}, false
	}
	a.kind, a.channel = answerKind(b[0]), okta.Channel(b[1])
	if a.channel != okta.SMS && a.channel != okta.Voice {
		return answer{}, false
	}
	rest := b[2:]
	switch a.kind {
	case kindPending, kindDryRun:
		return a, len(rest) == 0
	case kindSuccessful, kindFailed:
		switch {
		case len(rest) == 17 && rest[0] == 1:
			a.txID = eightbyeight.UnpackID([16]byte(rest[1:]))
		case len(rest) >= 1 && rest[0] == 0:
			a.txID = string(rest[1:])
		default:
			return answer{}, false
		}
		return a, true
	case kindRefused, kindDeliveryFailed:
		if len(rest) < 1 {
			return answer{}, false
		}
		if a.kind == kindRefused {
			a.refusal = refusalCode(rest[0])
			if a.refusal == 0 || int(a.refusal) >= len(refusals) {
				return answer{}, false
			}
		} else {
			a.failure = eightbyeight.Kind(rest[0])
		}
		a.lang = message.Resolve(string(rest[1:]))
		return a, true
	}
	return answer{}, false
}
