// Package conversion measures conversion, codes verified ÷ codes sent,
// per destination (the number's country and its prefix), and closes the
// loop with 8x8.
//
// The hook calls Check before a send (a read of an in-memory verdict
// cache) and Sent once 8x8 took the code. Okta POSTs its System Log
// events to Handler: a verification (user.authentication.auth_via_mfa or
// user.mfa.factor.activate, SUCCESS, on a phone factor) is joined to the
// user's latest send on that channel; Okta's send events
// (system.sms.send_phone_verification_message,
// system.voice.send_phone_verification_call) are joined to our send to
// the same number, and show that the event hook hears our sends. Settle
// concludes each code once (verified, or unverified at otpExpires +
// CONVERSION_GRACE), writes its settled line, sends 8x8 exactly one
// feedback report per tracked SMS, and judges destinations.
//
// One store per deployment: Redis (redisstore.Conversion) when REDIS_URL
// is set, shared by every instance, else this process's memory. A Redis
// failure during an event POST answers 503, so Okta delivers again; one
// during Sent loses only that record, and says so.
//
// docs/operations.md explains the thresholds, the safety rule that
// pauses enforcement when the event hook looks deaf, and the logs.
package conversion
