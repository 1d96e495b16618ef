// Package conversion measures conversion, codes verified ÷ codes sent,
// per destination, and closes the loop with 8x8.
//
// SMS pumping (toll fraud) requests codes for numbers in leased premium
// ranges; nobody ever types them in. Static defences (the guard's number
// types, countries, rate limits) catch the crude cases; conversion catches
// the rest. 8x8 runs its own conversion monitoring if each SMS is sent with
// track "Outcome" and its outcome is reported to the SMS Feedback API.
// Okta reports the outcome to us through an event hook.
//
// # Flow
//
//  1. The hook calls Check before a send (a lookup in an in-memory cache)
//     and Sent once 8x8 accepted it (or the outcome is unknown: PENDING).
//     Sent records a pending send keyed by (user, channel).
//  2. Okta POSTs System Log events to /okta/events (Handler). A phone code
//     verified marks its pending send verified: a settled, verified send.
//  3. Settle (from Run every 15 s, and at the end of every event POST)
//     settles unverified the sends whose otpExpires + CONVERSION_GRACE
//     has passed, and sends the 8x8 reports owed.
//
// # Events
//
// Event types read (every other type is answered 200 and ignored):
//   - user.authentication.auth_via_mfa: outcome.result SUCCESS means the
//     code was verified. FAILURE (a mistyped code) is not a conversion and,
//     on its own, no evidence of pumping: the send settles by its outcome
//     (a later SUCCESS, or expiry). UNANSWERED and ABANDONED are counted
//     and change nothing either.
//   - user.mfa.factor.activate with SUCCESS: a phone enrollment completed,
//     so the enrollment code was verified.
//
// A recovery or unlock code is verified by the same auth_via_mfa event:
// only debugData.factorIntent tells them apart (CREDENTIAL_RECOVERY for
// the password reset in the shared batch fixture, LOGIN for a sign-in).
// We do not filter on the intent: every phone code counts alike.
//
// The factor comes from debugData.factor (SMS_FACTOR, CALL_FACTOR;
// Classic's sms, call), failing that from outcome.reason ("User set up
// SMS_FACTOR factor"), failing that from the AuthenticatorEnrollment
// target (displayName "Phone", detailEntry.methodTypeUsed SMS/VOICE; a
// Phone target without a method matches either channel). Non-phone
// factors are ignored. A success on another factor does not cancel a
// pending SMS: an attacker who controls, say, an email factor on the
// accounts he pumps through could otherwise hide every pumped code.
//
// Okta says debugData is no contract, so parsing is lenient: an event with
// a missing or oddly typed field we need (uuid, published, actor.id,
// outcome.result), or one we cannot place (no factor clue), is skipped and
// counted malformed; the delivery still gets 200. A body that is not JSON,
// or JSON without data.events, gets 400; over 1 MiB, 413. Deliveries come
// at least once and out of order: each verification is applied once per
// event uuid (remembered a day, in Redis when set, so instances agree).
//
// # The join
//
// Events carry no phone number. A verification by actor.id (= the hook's
// userProfile.userId) at published matches that user's most recent
// unverified send on the same channel whose validity covers it: SentAt −
// 5 s (clock skew) ≤ published ≤ otpExpires + CONVERSION_GRACE. Only a
// user's four latest sends per channel are kept for matching (Okta honours
// only the latest code anyway). A verification that arrives after its send
// was settled unverified (Okta's delivery lagged more than the grace)
// still matches for 15 minutes: the counts are corrected and a report not
// yet sent becomes a success. A user id never appears in clear in a store
// key: users are named by HMAC-SHA256 with Config.KeySecret.
//
// # 8x8 feedback
//
// With Config.Feedback, every SMS with a umid owes exactly one report: a
// success (timestamp: Okta's verification time) or, once otpExpires +
// grace has passed unverified, a failure (no timestamp: nothing happened).
// Voice has no feedback API; PENDING sends have no umid. 8x8 takes feedback
// only within 15 minutes of the send: a report that cannot go out by then
// is dropped, logged and counted (Stats.ReportsDropped).
//
// The Reporter retries 429/5xx/transport errors within the ctx it gets
// (at most 10 s); if it still fails, the report is tried again 5 s, 20 s,
// 80 s, then every 2 minutes later, with one last try 2 s before the
// deadline. Due work lives in the store (Redis: a sorted set by due time),
// so any instance can do it and a scale-in loses nothing when Redis is
// set. Settle takes it a batch at a time under a 30 s lease, longer than a
// report may take: instances settling at once never report the same umid.
// The one gap: if Redis fails between a report and recording it (or a
// report is cut off mid-flight), the report may be repeated after the
// lease.
//
// Cloud Run throttles CPU outside requests, so deferred work runs (a) in
// Run, with the deployment on always-allocated CPU (--no-cpu-throttling),
// and (b) at the end of every authenticated event POST, bounded to 1 s so
// Okta still has its answer well within 3 s. Close runs a last Settle at
// SIGTERM. Without Redis, work not yet due dies with the instance.
//
// # The conversion guard
//
// Destinations are the number's country, always, and in addition its
// prefix: the E.164 number without its last four digits (+1415555 for
// +14155550123; +3712000 for +37120000101). That is a NANP NPA-NXX, or a
// carrier's block of 10,000 numbers elsewhere: the unit in which numbers
// are allocated and in which pumping ranges are leased, narrow enough to
// single out a pumped range inside a healthy country, wide enough to
// gather many sends under one pump (a pump spreads over many numbers of a
// range, rarely over many ranges).
//
// A send is settled once verified, or once otpExpires + grace passed
// unverified. Per destination, the settled sends of the last
// CONVERSION_WINDOW are counted (in 12 buckets: the window slides in steps
// of a twelfth). A destination with at least CONVERSION_MIN_SENDS settled
// sends and verified ÷ settled below CONVERSION_MIN_RATE is suspect.
// Record mode logs each destination once when it becomes suspect and once
// when it clears (across all instances: the store decides the
// transition), and never refuses. Enforce mode also makes Check refuse it:
// the hook answers a policy error, Okta falls back to its own provider and
// our 8x8 spend stops. A refused destination teaches us nothing more (we
// send nothing), so it clears once its sends leave the window; a pump that
// resumes is refused again after MIN_SENDS more codes.
//
// Safety. When the feedback channel looks dead, enforcement pauses and a
// warning says so (once, then every 15 minutes, per instance): no
// authenticated event POST at all in the window, or at least MIN_SENDS
// settled sends and not one verification in the window across all
// destinations. Then every destination would look pumped, which means the
// event hook is broken (wrong secret, hook not verified, the join not
// matching), not that the whole world is pumping. The price: a small
// company attacked at night, with no legitimate verification in the hour,
// is not enforced; the guard's per-country budget is the backstop there.
//
// Check reads only an in-memory cache of the suspect destinations,
// refreshed from the store every 5 s by Run and at the end of every Settle
// (never a store round trip per request: about 50 ns, no allocation unless
// suspect). A cache older than a minute (no Run loop, no event POST) is
// not enforced.
//
// Defaults: a 1 h window, 20 settled sends, a rate of 0.2. A company with
// a handful of sign-ins per hour per country never reaches 20 settled
// sends in an hour, so it is never judged. A destination converting
// normally (70–95 %) falls below 20 % by chance with probability 5·10⁻⁷
// at 20 sends (p = 0.7), far less with more; even at 50 % conversion it
// is 1.3·10⁻³ at 20 sends and 2·10⁻⁵ at 40. Pumped ranges convert near 0.
//
// Tuning: raise CONVERSION_MIN_SENDS if a country has legitimately poor
// conversion (users who often abandon, or switch to another factor);
// lower it (with a longer window) for a small company that wants to be
// judged at all. Lower CONVERSION_MIN_RATE if legitimate traffic sits
// near 0.3; a longer window smooths, a shorter one reacts faster. Watch
// "conversion destination suspect" in record mode for a week before
// enforcing.
//
// Published thresholds, for comparison. Authgear's fraud-protection spec
// flags a country per day when unverified > max(20, 0.3 × the larger of
// the 14-day daily peak of verified and the last 24 h of verified), and
// per hour when unverified > max(3, 0.2 × …): relative to the country's
// own verified history, so it flags an attack worth 20–30 % of normal
// volume, and needs 14 days of history per country. Ours needs no history
// and judges a destination by its own hour: suspect means unverified > 4 ×
// verified with at least 17 unverified (at 20 settled), so it is blind to
// a pump smaller than about four times the country's legitimate verified
// volume; the prefix destinations narrow that blind spot, since a pumped
// range has no legitimate volume of its own. Vonage alerts when traffic
// exceeds 6 σ above a 90-day mean, with at least 1,000 messages in 12
// hours: volume anomalies for large senders, silent for a company of a few
// hundred users. Ours fits the small company, whose volume is too low for
// statistics, and errs towards never refusing a healthy destination.
//
// # Storage
//
// NewRedisStore shares everything between instances (one Lua script per
// operation: matching, counting, judging and leasing are atomic); without
// Redis, or while it fails, the Tracker uses memory and warns at most once
// a minute, returning to Redis by itself a second later. Sends recorded in
// memory during an outage are still matched there when Redis is back.
// Memory is bounded: see MemoryCaps (what is evicted first is on
// memoryStore); a pending send costs about 330 bytes, so the default cap
// of 100,000 is about 33 MiB.
//
// # Logs
//
// No phone number (only the prefix), code, secret or user id: a send is
// named by its 8x8 transaction id, which the hook logs beside the userId.
// Stable messages: "okta event hook delivery" (one per POST: events,
// relevant, verified, unmatched, late, failed, abandoned, duplicates,
// ignored, malformed, store, latencyMs), MsgSettled (one per code, for a
// log-based metric of conversion per country), MsgLate, MsgSuspect,
// MsgCleared, "conversion enforcement paused" / "resumed", "8x8 sms
// feedback failed" / "dropped", "okta event hook refused".
package conversion
