package redisstore

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The conversion tracker's vocabulary, shared by its two stores: the
// memory store in package conversion and the Redis one here. The scripts
// get the codes from convPrelude, so each has one spelling.
const (
	// A send's state.
	ConvPending    = "p"
	ConvVerified   = "v"
	ConvUnverified = "u" // otpExpires + grace passed unverified

	// What Conversion.Finish records of a leased feedback report.
	ConvDone    = "d" // the report went out
	ConvRetry   = "r" // it failed: try again at next
	ConvDrop    = "x" // it failed and time is up
	ConvRelease = "l" // not attempted: due again now
	ConvHold    = "h" // not attempted (the event hook is silent): due at next

	// What became of one item of Conversion.Apply.
	ConvDuplicate = "D" // its uuid was applied before
	ConvUnmatched = "U" // no send of ours to join it to
	ConvMatched   = "M"
	ConvLate      = "L" // matched a send already settled unverified

	// ConvBuckets slices the sliding window: it slides by Window/12.
	ConvBuckets = 12
	// ConvUserSlots is how many sends per user and channel (and per
	// number) are kept for matching: Okta honours only the latest code.
	ConvUserSlots = 4
)

// The conversion store's records and replies. Times are Unix ms. The
// scripts reply in JSON, named as these fields are.
type (
	// ConvParams is the tracker's clock and settings.
	ConvParams struct {
		Now, Width, MinSends                   int64
		MinRate                                float64
		MaxSuspects                            int
		DestTTL, PostTTL, SeenTTL, Lease, Skew int64
		Retain                                 int64 // how long a settled send is kept for a late event
		MatchWindow                            int64 // how far a send event may be from our send
	}
	// ConvSend is one send: User is the user's key and channel
	// ("<hex>:s"), Phone the number's key or "", Channel "s" or "v".
	ConvSend struct {
		ID, User, Phone, Channel, Country, Prefix, Tx string
		SentAt, SettleAt, FeedbackBy                  int64
		Feedback                                      bool // an 8x8 report is owed
	}
	// ConvItem is one event to apply: a verification (Users set) or one
	// of Okta's send events (Phone set).
	ConvItem struct {
		UUID, Phone string
		Published   int64
		Users       []string
	}
	// ConvResult is what became of an item, and the matched send's umid.
	ConvResult struct{ Outcome, Tx string }
	// ConvSettled is one send's conclusion, for its log line.
	ConvSettled struct {
		Country, Prefix, Channel, Tx string
		SentAt, VerifiedAt           int64
		Verified, Late               bool
	}
	// ConvJob is one leased feedback report; as a dropped one (8x8's 15
	// minutes passed), only Tx and Success are set.
	ConvJob struct {
		ID, Tx               string
		Success              bool
		VerifiedAt, Deadline int64
		Attempts             int
	}
	// ConvFigure is a destination ("c:US", "p:+1415555") with its
	// figures; as a transition, becoming suspect or clearing.
	ConvFigure struct {
		Dest              string
		Suspect           bool
		Settled, Verified int64
	}
	// ConvChanges is what an operation did that deserves a log line.
	ConvChanges struct {
		Settled     []ConvSettled
		Transitions []ConvFigure
		Dropped     []ConvJob
	}
	// ConvView is what the tracker's verdict cache is built from: the
	// suspects, every destination's sums, the last authenticated event
	// POST and the last send event matched to one of our sends (0: none).
	ConvView struct {
		Suspects                []ConvFigure
		Settled, Verified       int64
		LastPost, LastSendEvent int64
	}
)

// Expiry is when a send may be forgotten, late events and its report done.
func (p ConvParams) Expiry(r ConvSend) int64 {
	return max(r.SettleAt, r.FeedbackBy) + p.Retain + p.Lease
}

// Conversion is the conversion tracker's store in Redis, shared by every
// instance. Each operation is one Lua script, so matching, counting,
// judging and leasing are atomic. Keys, under one hash tag:
//
//	p:<id>          HASH  one send: channel, country, prefix, umid, times, state, report state
//	u:<hmac>:<s|v>  ZSET  a user's last sends on a channel, by send time
//	n:<hmac>        ZSET  a number's last sends, by send time
//	due             ZSET  sends with work due (settlement, log line, report), by due time
//	d:<dest>        HASH  a destination's window: 12 buckets of settled/verified
//	sus             HASH  the suspect destinations
//	s:<uuid>        STR   an event uuid already applied
//	lastpost        STR   the last authenticated event POST
//	lastsend        STR   the last send event matched to one of our sends
//
// No key holds a user id or a whole phone number (HMACs and prefixes).
type Conversion struct {
	client redis.UniversalClient
}

const convPrefix = "okta8x8:{conv}:"

// NewConversion returns the conversion store on client. The client should
// have ContextTimeoutEnabled set, so that the tracker's timeouts apply.
func NewConversion(client redis.UniversalClient) *Conversion {
	return &Conversion{client: client}
}

// Budget is the per-country budget's store on the same Redis.
func (s *Conversion) Budget() *BudgetStore { return NewBudgetStore(s.client) }

func (s *Conversion) lib(p ConvParams, extra ...any) []any {
	return append([]any{p.Now, p.Width, p.MinSends, strconv.FormatFloat(p.MinRate, 'g', -1, 64),
		p.MaxSuspects, p.DestTTL, convPrefix}, extra...)
}

// AddSend records a pending send and queues its settlement.
func (s *Conversion) AddSend(ctx context.Context, p ConvParams, r ConvSend) error {
	return convAdd.Run(ctx, s.client, []string{convPrefix + "due"}, convPrefix, r.ID, r.User, r.Phone, r.Channel,
		r.Country, r.Prefix, r.Tx, r.SentAt, r.SettleAt, r.FeedbackBy, r.Feedback, max(p.Expiry(r)-p.Now, 1000)).Err()
}

// Apply applies a delivery's verifications and send events, each once
// per uuid, and notes the delivery for the silence check.
func (s *Conversion) Apply(ctx context.Context, p ConvParams, items []ConvItem) ([]ConvResult, ConvChanges, error) {
	args := s.lib(p, p.SeenTTL, p.Skew, p.PostTTL, p.MatchWindow, len(items))
	for _, it := range items {
		u := append(it.Users[:len(it.Users):len(it.Users)], "", "")
		args = append(args, it.UUID, it.Published, u[0], u[1], it.Phone)
	}
	var r struct {
		Results []ConvResult
		ConvChanges
	}
	err := s.run(ctx, convApply, args, &r)
	if err == nil && len(r.Results) != len(items) {
		err = errBadReply
	}
	return r.Results, r.ConvChanges, err
}

// Take settles the sends due by now and leases up to max reports.
func (s *Conversion) Take(ctx context.Context, p ConvParams, maxJobs int) ([]ConvJob, ConvChanges, error) {
	var r struct {
		Jobs []ConvJob
		ConvChanges
	}
	err := s.run(ctx, convTake, s.lib(p, maxJobs, p.Lease), &r)
	return r.Jobs, r.ConvChanges, err
}

// Finish records what became of a leased report (ConvDone…).
func (s *Conversion) Finish(ctx context.Context, p ConvParams, id, action string, next int64) error {
	return convFinish.Run(ctx, s.client, []string{convPrefix + "due"}, convPrefix, id, action, next, p.Now).Err()
}

// Refresh re-judges the suspect destinations.
func (s *Conversion) Refresh(ctx context.Context, p ConvParams) (ConvView, ConvChanges, error) {
	var r struct {
		ConvView
		Transitions []ConvFigure
	}
	err := s.run(ctx, convRefresh, s.lib(p), &r)
	return r.ConvView, ConvChanges{Transitions: r.Transitions}, err
}

// run runs a script and decodes its JSON reply into reply.
func (s *Conversion) run(ctx context.Context, sc *redis.Script, args []any, reply any) error {
	raw, err := sc.Run(ctx, s.client, []string{convPrefix + "due"}, args...).Text()
	if err == nil && json.Unmarshal([]byte(raw), reply) != nil {
		err = errBadReply
	}
	return err
}
