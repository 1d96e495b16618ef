// Package guard keeps the hook from being an open door to toll fraud and
// from sending a code twice. Before 8x8 is called, Policy.Screen refuses,
// with no I/O, number types and countries no user needs; Guard.Begin makes
// each Okta eventId deliver at most once (a repeat gets the first answer's
// bytes, a concurrent one waits for them); Guard.Allow counts the send in
// sliding windows per phone, Okta user, end-user IP and country. Only a
// request that will really be delivered calls Allow, so refusals, repeats
// and dry-run previews never count; a send counts once Allow says yes,
// whatever 8x8 answers.
//
// State is in Redis (shared by every instance) and in memory (per
// instance, bounded: CapsFor). Rate windows are counted in Redis, or in
// memory, from zero, while Redis does not answer. For eventIds, memory
// always holds what this instance claimed and answered and is asked
// first: an answer or a claim known here wins whatever Redis says. Only
// when memory knows nothing and Redis does not answer is an eventId
// claimed in memory (sign-in availability beats the rule); once Redis has
// said another instance holds it, it is never claimed here. Answers
// recorded in memory only go to Redis within about a second of it
// answering again, and at Close. So exactly once holds on one instance
// through a stalled, failing or restarted Redis, and across instances as
// far as Redis knows (docs/security.md, "Exactly once, under faults").
//
// Store keys are HMAC-SHA256(KeySecret, kind‖id), 128 bits: a dump of
// Redis holds no phone number, user, IP or eventId, and cannot be reversed
// by hashing every number without the secret. What screening and the
// limits do not stop is in docs/security.md's toll fraud threat model.
package guard
