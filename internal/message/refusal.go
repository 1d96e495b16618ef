package message

// Reason is why the hook refused to send a code. The value is stable and
// meant for errorCauses and logs; Refusal gives the end-user sentence.
type Reason string

// The refusal reasons.
const (
	// InvalidNumber: the number is not a valid phone number.
	InvalidNumber Reason = "invalid_number"
	// PreviewPlaceholder: Okta's Admin Console preview sent its placeholder
	// number 9876543210; the reader is the admin.
	PreviewPlaceholder Reason = "preview_placeholder"
	// NumberType: premium rate, shared cost, pager and other numbers no
	// user's phone has.
	NumberType Reason = "number_type"
	// Country: the number's country is not allowed.
	Country Reason = "country"
	// RateLimited: too many codes for this phone or user.
	RateLimited Reason = "rate_limited"
	// Expired: otpExpires passed before the code could be sent.
	Expired Reason = "expired"
	// DeliveryFailed: 8x8 refused or could not be reached.
	DeliveryFailed Reason = "delivery_failed"
	// Unavailable: the hook cannot send right now (not configured, not ready).
	Unavailable Reason = "unavailable"
)

// previewPlaceholder is read by the admin testing the hook in the Okta
// Admin Console, so it is English whatever the locale.
const previewPlaceholder = "This is the Okta preview placeholder number (9876543210), not a real phone number, so no code was sent. " +
	"Click Edit, enter a real phone number and preview again to test delivery."

// Refusal is the sentence for Okta's errorSummary: something the user can
// read on the sign-in page, in their language. An unknown reason gets the
// Unavailable sentence.
func (l Lang) Refusal(r Reason) string {
	if r == PreviewPlaceholder {
		return previewPlaceholder
	}
	pk := l.p()
	if s, ok := pk.refusals[r]; ok {
		return s
	}
	return pk.refusals[Unavailable]
}
