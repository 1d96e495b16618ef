// Package guard keeps the hook from being an open door to toll fraud and
// from sending a code twice. It runs before 8x8 is called:
//
//  1. Policy.Screen refuses, with no I/O, numbers of types no user's phone
//     has (premium rate, shared cost, UAN, pager, voicemail access) and
//     countries outside ALLOWED_COUNTRIES or inside BLOCKED_COUNTRIES,
//     decided from the parsed number, not its leading digits.
//  2. Guard.Begin makes each Okta eventId deliver at most once: a repeat
//     gets the first answer's bytes, and a concurrent repeat waits for it.
//  3. Guard.Allow limits sends per phone and per Okta user in sliding
//     windows; only a request that will really be delivered calls it, so
//     refusals, repeats and dry-run previews never count.
//
// State is in memory (per instance, bounded) or in Redis (shared by every
// instance, one Lua script per operation). If Redis does not answer, the
// Guard keeps answering from memory, warns at most once a minute, and
// returns to Redis by itself: sign-in availability beats the limit.
//
// Threat model, briefly. Screening stops international revenue-share
// fraud through premium and shared-cost ranges and, with an allow-list,
// SMS pumping towards countries the company has no users in. Rate limits
// cap what one number or one account can cost in a window; they do not
// stop a pumping attack spread over many numbers and accounts (that needs
// the allow-list, and Okta's own sign-in rate limits), nor fraud on a
// mobile range in an allowed country. Limits reset for an instance whose
// Redis is down (memory starts empty) and, in memory, under a flood of
// distinct keys beyond MemoryMaxKeys (expired entries go first, then
// arbitrary ones).
// Recommended for a typical company: ALLOWED_COUNTRIES set to the
// countries employees work in, the default refused types, the default
// limits (5/15m per phone, 10/1h per user), and REDIS_URL whenever more
// than one instance may run.
package guard
