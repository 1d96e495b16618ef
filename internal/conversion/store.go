package conversion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Store holds pending sends, per-destination counts, the due-work queue and
// the event uuids already seen. NewMemoryStore keeps them in this process;
// NewRedisStore shares them between every instance. Its methods are
// unexported: the two implementations here are the only ones, and one
// test suite holds them to the same behaviour.
//
// Every call carries the Tracker's clock and settings (params), so one
// injected clock drives memory and Redis alike and a Store needs no
// configuration of its own.
type Store interface {
	// addSend records a pending send and queues its settlement at
	// settleAt.
	addSend(ctx context.Context, p params, r sendRecord) (changes, error)
	// verify applies a batch of verifications (after deduplicating them
	// on their uuid) and notes the delivery time for the feedback-silence
	// check. One result per verification, in order.
	verify(ctx context.Context, p params, vs []verification) ([]verifyResult, changes, error)
	// take settles the sends due by now and leases up to max feedback
	// reports for p.lease: until then no other caller gets them.
	take(ctx context.Context, p params, max int) ([]job, changes, error)
	// finish records what became of a leased report.
	finish(ctx context.Context, p params, id string, a action, next int64) error
	// refresh re-judges the suspect destinations and returns them with the
	// figures the Tracker's verdict cache needs.
	refresh(ctx context.Context, p params) (view, changes, error)
}

// params is the Tracker's configuration and clock as a store needs it.
// Times are Unix milliseconds: Redis scripts and the memory store share
// one representation.
type params struct {
	now         int64
	width       int64 // one bucket of the sliding window (Window / buckets)
	minSends    int64
	minRate     float64
	maxSuspects int
	seenTTL     int64
	lease       int64
	skew        int64
	retain      int64 // how long a finished send is kept for late events
	destTTL     int64
	postTTL     int64
}

// buckets is the number of slices of the sliding window: it slides in
// steps of Window/12 (5 minutes for the default hour) and covers between
// 11/12 of Window and Window.
const buckets = 12

func (p params) cur() int64            { return p.now / p.width }
func (p params) bucket(ms int64) int64 { return ms / p.width }

// inWindow reports whether bucket idx still counts at p.now. Buckets ahead
// of now (a verification stamped by a clock slightly ahead of ours) count.
func (p params) inWindow(idx int64) bool { return idx > p.cur()-buckets }

// suspect is the judgement: enough settled sends, too few verified.
func (p params) suspect(settled, verified int64) bool {
	return settled >= p.minSends && float64(verified) < p.minRate*float64(settled)
}

// Channels.
const (
	chSMS   uint8 = 's'
	chVoice uint8 = 'v'
)

func channelName(ch uint8) string {
	if ch == chSMS {
		return "sms"
	}
	return "voice"
}

// Send states.
const (
	statePending    uint8 = 'p'
	stateVerified   uint8 = 'v'
	stateUnverified uint8 = 'u' // settled: Expires + Grace passed unverified
)

// Feedback report states.
const (
	fbNone    uint8 = 0   // no report due (voice, no umid, feedback off)
	fbWanted  uint8 = '1' // a report is owed
	fbDone    uint8 = 'd'
	fbDropped uint8 = 'x'
)

// sendRecord is one pending send as Tracker.Sent hands it to a store.
type sendRecord struct {
	id       string
	user     userKey
	country  string // ISO region, or ""
	prefix   string // number prefix, or ""
	tx       string // 8x8 umid or sessionId, or ""
	sentAt   int64
	settleAt int64 // Expires + Grace
	feedback bool
	shadow   bool // memory only: a copy of a send Redis may also hold
}

// feedbackBy is when 8x8 stops taking feedback on a send made at sentAt
// (Unix ms).
func feedbackBy(sentAt int64) int64 { return sentAt + FeedbackWindow.Milliseconds() }

// userKey names one user and channel in a store without the user id:
// the user's storekey (128 bits of HMAC-SHA256) and the channel.
type userKey struct {
	h  [16]byte
	ch uint8
}

func (u userKey) redisKey() string {
	var b [2 + 32 + 2]byte
	b[0], b[1] = 'u', ':'
	hex.Encode(b[2:34], u.h[:])
	b[34], b[35] = ':', u.ch
	return string(b[:])
}

// verification is one phone-code success from the event hook, ready for a
// store: who, which channel(s), when, and the event's uuid for dedupe.
type verification struct {
	seen      seenKey
	published int64
	users     [2]userKey // users[1].ch == 0 when the channel is known
}

// seenKey identifies an event uuid: a canonical UUID is kept as its 16
// bytes; anything else is hashed.
type seenKey [16]byte

func newSeenKey(uuid string) seenKey {
	var k seenKey
	if len(uuid) == 36 && uuid[8] == '-' && uuid[13] == '-' && uuid[18] == '-' && uuid[23] == '-' {
		var compact [32]byte
		copy(compact[0:8], uuid[0:8])
		copy(compact[8:12], uuid[9:13])
		copy(compact[12:16], uuid[14:18])
		copy(compact[16:20], uuid[19:23])
		copy(compact[20:32], uuid[24:36])
		if _, err := hex.Decode(k[:], compact[:]); err == nil {
			return k
		}
	}
	sum := sha256.Sum256([]byte("uuid:" + uuid))
	copy(k[:], sum[:16])
	k[6] ^= 0xff // not a version-4 UUID's bytes: no collision with the parsed form
	return k
}

func (k seenKey) String() string { return hex.EncodeToString(k[:]) }

// verifyResult is what became of one verification.
type verifyResult struct {
	outcome verifyOutcome
	settled settledSend // when matched or late
}

type verifyOutcome uint8

const (
	vUnmatched verifyOutcome = iota
	vMatched
	vLate // matched a send already settled unverified: counts corrected
	vDuplicate
)

// settledSend is one send's conclusion, for the log line per code.
type settledSend struct {
	country, prefix, tx string
	channel             uint8
	sentAt              int64
	verified            bool
	late                bool
	verifiedAt          int64
}

// transition is a destination becoming suspect or clearing.
type transition struct {
	dest              string // "c:US", "p:+1415555"
	suspect           bool
	settled, verified int64
}

// dropped is a feedback report given up.
type dropped struct {
	tx      string
	success bool
	reason  string // "" : 8x8's 15 minutes passed
}

const (
	dropEvicted  = "memory store full"
	dropNoClient = "no 8x8 client on this instance (feedback off here)"
	dropTooLate  = "8x8 takes feedback only within 15 minutes of the send"
	dropDeaf     = "no Okta event hook delivery in the window: the code may have been verified unheard"
)

// changes is what a store operation did that deserves a log line.
type changes struct {
	settled     []settledSend
	transitions []transition
	dropped     []dropped
}

// job is one leased feedback report.
type job struct {
	id         string
	tx         string
	success    bool
	verifiedAt int64
	attempts   int
	deadline   int64
}

// action is what finish records.
type action uint8

const (
	actDone    action = 'd' // the report went out
	actRetry   action = 'r' // it failed: try again at next
	actDrop    action = 'x' // it failed and time is up
	actRelease action = 'l' // not attempted (out of time in this Settle): due again now
	actHold    action = 'h' // not attempted (a failure while the event hook is silent): due at next
)

// view is what the verdict cache is built from.
type view struct {
	suspects        []figure
	settled, verify int64 // every destination together
	lastPost        int64 // Unix ms of the last authenticated event POST, 0 if none
}

type figure struct {
	dest              string
	settled, verified int64
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
