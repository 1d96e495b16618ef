// Package guard keeps the hook from being an open door to toll fraud and
// from sending a code twice. It runs before 8x8 is called:
//
//  1. Policy.Screen refuses, with no I/O, numbers of types no user's phone
//     has (premium rate, shared cost, UAN, pager, voicemail access) and
//     countries outside ALLOWED_COUNTRIES or inside BLOCKED_COUNTRIES,
//     decided from the parsed number, not its leading digits.
//  2. Guard.Begin makes each Okta eventId deliver at most once: a repeat
//     gets the first answer's bytes, and a concurrent repeat waits for it.
//  3. Guard.Allow limits sends per phone, per Okta user, per end-user IP
//     and per country in sliding windows; only a request that will really
//     be delivered calls it, so refusals, repeats and dry-run previews
//     never count.
//
// State is in memory (per instance, bounded) and in Redis (shared by every
// instance, one Lua script per operation). Rate windows are counted in
// Redis, or in memory while Redis does not answer. For eventIds, memory
// always holds what this instance claimed and answered (written through
// to Redis) and is asked first: an answer or a claim known here wins
// whatever Redis says. Only when memory knows nothing and Redis does not
// answer is an eventId claimed in memory (sign-in availability beats the
// rule); once Redis has said another instance holds it, it is never
// claimed here (the hook answers PENDING). Answers recorded in memory only
// are written to Redis once it answers again. The Guard warns at most once
// a minute while Redis is down and returns to it by itself.
//
// Exactly once therefore holds on one instance, for the eventIds its
// memory holds, through a stalled, failing or restarted Redis. Across instances it is as good as what
// Redis knows: a repeat that reaches another instance while Redis does not
// answer, or after Redis lost its data (a restart without persistence;
// Memorystore Basic tier), of an eventId answered before, is delivered
// again.
//
// Memory is bounded (Config.MaxAnswers, Config.MaxWindows; CapsFor sizes
// them for a budget). At a cap, expired entries go first. Then:
//   - answered eventIds, arbitrary ones: a repeat of an eventId forgotten
//     here asks Redis, and is delivered again if Redis does not have it
//     (no Redis, or Redis down). Claims in flight are kept apart and are
//     never evicted for answers: dropping one would let a waiting
//     duplicate claim and send at once.
//   - rate windows, arbitrary ones of the same kind: MaxWindows is shared
//     evenly by the phone, user and IP limits that are on, so a flood of
//     distinct phones evicts only phone windows, never a user's or an
//     IP's; countries have room of their own. A forgotten window starts
//     again from zero on this instance, which is the flood's only gain.
//
// Store keys are HMAC-SHA256(KeySecret, kind‖id), 128 bits, for every
// phone number, user id, IP, country and eventId: a dump of Redis (key
// names and values) holds no number and cannot be reversed by hashing
// every number without the secret. KeySecret is required
// (storekey.DeriveSecret: from REDIS_KEY_SECRET, else from the 8x8 API key).
//
// Threat model, briefly. Screening stops international revenue-share
// fraud through premium and shared-cost ranges and, with an allow-list,
// SMS pumping towards countries the company has no users in. Rate limits
// cap what one number, one account or one IP (an IPv6 /64) can cost in a
// window; they do not stop a pumping attack spread over many numbers,
// accounts and addresses (that needs the allow-list, the per-country
// budget, and Okta's own sign-in rate limits), nor fraud on a mobile range
// in an allowed country. The per-IP limit is off by default: a company's
// users often share one egress address. Limits reset for an instance
// whose Redis is down (memory starts empty) and, in memory, under a flood
// of distinct keys beyond MaxWindows. Windows are kept to the second
// (longer than 65,534 s: to a few seconds, never shorter than asked).
//
// Recommended for a typical company: ALLOWED_COUNTRIES set to the
// countries employees work in, the default refused types, the default
// limits (5/15m per phone, 10/1h per user), and REDIS_URL whenever more
// than one instance may run.
package guard
