package conversion

import (
	"context"
	"log/slog"
	"strings"
	"time"

	rs "github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// Log messages, stable for Logs Explorer queries and log-based metrics
// (docs/operations.md lists their fields). None carries a phone number
// (a prefix only by logPrefix), a code, a secret or a user id.
const (
	msgDelivery      = "okta event hook delivery"
	msgRefused       = "okta event hook refused"
	msgNotUnderstood = "okta event hook body not understood"
	msgSkipped       = "okta event skipped"
	msgHookVerified  = "okta event hook verification"

	msgSettled  = "conversion code settled"        // once per code, verified or not
	msgLate     = "conversion late verification"   // a verification after its code settled unverified
	msgSuspect  = "conversion destination suspect" // once across instances
	msgCleared  = "conversion destination cleared"
	msgFailover = "okta hook failover" // a send event flagged isSmsHookFailover/isCallHookFailover
	msgDenied   = "okta send denied"   // a send event with outcome DENY

	msgPaused          = "conversion enforcement paused"
	msgResumed         = "conversion enforcement resumed"
	msgFeedbackSent    = "8x8 sms feedback sent"
	msgFeedbackFailed  = "8x8 sms feedback failed"
	msgFeedbackDropped = "8x8 sms feedback dropped"
	msgSendLost        = "conversion send not recorded"
	msgStoreFailed     = "conversion store failed"
	msgSettle          = "conversion settle"
)

// Why a report is dropped.
const (
	dropNoClient = "no 8x8 client on this instance (feedback off here)"
	dropTooLate  = "8x8 takes feedback only within 15 minutes of the send"
	dropDeaf     = "no Okta event hook delivery in the window: the code may have been verified unheard"
	dropRefused  = "8x8 refused the report (4xx): repeating it cannot succeed"
)

// settled writes a code's settled line and takes a verified one back from
// its country's budget: once each, as a store concludes a code once.
func (t *Tracker) settled(ctx context.Context, s rs.ConvSettled) {
	if s.Verified && t.cfg.Mode != Off {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
		if err := t.budget.Verified(bctx, s.Country, msTime(s.SentAt)); err != nil {
			t.warnStore(ctx, "budget", err)
		}
		cancel()
	}
	msg := msgSettled
	if s.Late {
		msg = msgLate
	}
	attrs := []slog.Attr{slog.String("channel", channelName(s.Channel)), slog.String("country", s.Country),
		slog.String("prefix", logPrefix(s.Prefix)), slog.Bool("verified", s.Verified)}
	// No transactionId: the line is about the destination, not the send.
	if s.Verified && s.VerifiedAt >= s.SentAt && s.SentAt > 0 {
		attrs = append(attrs, slog.Float64("verifySeconds", float64(s.VerifiedAt-s.SentAt)/1000))
	}
	t.log.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
}

// logChanges writes what a store operation changed: settled codes,
// destination transitions, dropped reports.
func (t *Tracker) logChanges(ctx context.Context, c rs.ConvChanges) {
	for _, s := range c.Settled {
		t.settled(ctx, s)
	}
	if t.cfg.Mode != Off {
		for _, tr := range c.Transitions {
			kind, dest := "country", strings.TrimPrefix(tr.Dest, "c:")
			if strings.HasPrefix(tr.Dest, "p:") {
				kind, dest = "prefix", logPrefix(tr.Dest[2:])
			}
			msg := msgCleared
			if tr.Suspect {
				msg = msgSuspect
			}
			t.log.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("destination", dest), slog.String("kind", kind),
				slog.Int64("settled", tr.Settled), slog.Int64("verified", tr.Verified),
				slog.Float64("rate", rate(tr.Settled, tr.Verified)), slog.Float64("windowSeconds", t.cfg.Window.Seconds()),
				slog.String("mode", t.cfg.Mode.String()), slog.Bool("enforced", t.cfg.Mode == Enforce && tr.Suspect))
		}
	}
	for _, d := range c.Dropped {
		t.logDropped(ctx, d, dropTooLate)
	}
}

// logDropped names a report given up. Held for a silent event hook: one
// WARNING per 15 minutes says so, the rest are INFO.
func (t *Tracker) logDropped(ctx context.Context, j rs.ConvJob, reason string) {
	level := slog.LevelWarn
	if reason == dropDeaf && !t.every(&t.deafWarn) {
		level = slog.LevelInfo
	}
	t.log.LogAttrs(ctx, level, msgFeedbackDropped,
		slog.String("transactionId", j.Tx), slog.String("outcome", outcomeName(j.Success)),
		slog.String("reason", reason))
}

// warnStore logs a store failure outside a request, at most once per
// pausedWarnEvery.
func (t *Tracker) warnStore(ctx context.Context, op string, err error) {
	if t.every(&t.storeWarn) {
		t.log.LogAttrs(ctx, slog.LevelWarn, msgStoreFailed, slog.String("op", op),
			slog.String("error_class", rs.ErrorClass(err)))
	}
}

// every reports whether the warning last logged at *last is due again
// (once per pausedWarnEvery), and if so notes it now.
func (t *Tracker) every(last *time.Time) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !last.IsZero() && now.Sub(*last) < pausedWarnEvery {
		return false
	}
	*last = now
	return true
}

func outcomeName(success bool) string {
	if success {
		return "success"
	}
	return "failure"
}
