package conversion

import (
	"context"
	"log/slog"
	"strings"
)

// Log messages, stable so Logs Explorer queries and log-based metrics can
// match on them. None carries a phone number (only a prefix, by
// LogPrefix), a code or a secret; users appear only as the 8x8 transaction
// id the hook already logs beside its userId.
const (
	msgDelivery      = "okta event hook delivery"
	msgRefused       = "okta event hook refused"
	msgNotUnderstood = "okta event hook body not understood"
	msgSkipped       = "okta event skipped"
	msgHookVerified  = "okta event hook verification"

	// MsgSettled is one line per code once its outcome is known: verified
	// (at the verification) or not (at otpExpires + grace). Fields:
	// channel, country, prefix (by LogPrefix), verified, and for verified
	// codes verifySeconds. A log-based metric counting it by country and
	// verified gives conversion per country.
	MsgSettled = "conversion code settled"
	// MsgLate is a verification that arrived after its code had been
	// settled unverified: the counts are corrected; a metric of verified
	// codes adds these lines.
	MsgLate = "conversion late verification"
	// MsgSuspect and MsgCleared mark a destination's transitions (one line
	// each across all instances). Fields: destination, kind, settled,
	// verified, rate, windowSeconds, mode, enforced.
	MsgSuspect = "conversion destination suspect"
	MsgCleared = "conversion destination cleared"

	msgPaused          = "conversion enforcement paused"
	msgResumed         = "conversion enforcement resumed"
	msgFeedbackSent    = "8x8 sms feedback sent"
	msgFeedbackFailed  = "8x8 sms feedback failed"
	msgFeedbackDropped = "8x8 sms feedback dropped"
	msgSettle          = "conversion settle"
	msgRedisDown       = "redis unavailable, using in-memory conversion store"
	msgRedisBack       = "redis available again, using shared conversion store"
)

func (t *Tracker) logSettled(ctx context.Context, level slog.Level, msg string, s settledSend) {
	if !t.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("channel", channelName(s.channel)),
		slog.String("country", s.country),
		slog.String("prefix", LogPrefix(s.prefix)),
		slog.Bool("verified", s.verified))
	// No transactionId: the line is about the destination, not the send.
	if s.verified && s.verifiedAt >= s.sentAt && s.sentAt > 0 {
		attrs = append(attrs, slog.Float64("verifySeconds", float64(s.verifiedAt-s.sentAt)/1000))
	}
	t.log.LogAttrs(ctx, level, msg, attrs...)
}

// logChanges writes what a store operation changed: settled codes,
// destination transitions, dropped reports.
func (t *Tracker) logChanges(ctx context.Context, c changes) {
	for _, s := range c.settled {
		t.st.settled.Add(1)
		t.logSettled(ctx, slog.LevelInfo, MsgSettled, s)
	}
	if t.cfg.Mode != Off {
		for _, tr := range c.transitions {
			kind, dest := "country", strings.TrimPrefix(tr.dest, "c:")
			if strings.HasPrefix(tr.dest, "p:") {
				kind, dest = "prefix", LogPrefix(tr.dest[2:])
			}
			msg := MsgCleared
			if tr.suspect {
				msg = MsgSuspect
			}
			t.log.LogAttrs(ctx, slog.LevelWarn, msg,
				slog.String("destination", dest), slog.String("kind", kind),
				slog.Int64("settled", tr.settled), slog.Int64("verified", tr.verified),
				slog.Float64("rate", rate(tr.settled, tr.verified)),
				slog.Float64("windowSeconds", t.cfg.Window.Seconds()),
				slog.String("mode", t.cfg.Mode.String()),
				slog.Bool("enforced", t.cfg.Mode == Enforce && tr.suspect))
		}
	}
	for _, d := range c.dropped {
		t.st.dropped.Add(1)
		reason := d.reason
		if reason == "" {
			reason = dropTooLate
		}
		// Held for a silent event hook: one WARNING per 15 minutes says
		// so (the enforcement pause warning may not fire: mode off, or
		// too few codes), the rest are INFO.
		level := slog.LevelWarn
		if d.reason == dropDeaf && !t.warnDeaf() {
			level = slog.LevelInfo
		}
		t.log.LogAttrs(ctx, level, msgFeedbackDropped,
			slog.String("transactionId", d.tx), slog.String("outcome", outcomeName(d.success)),
			slog.String("reason", reason))
	}
}

// warnDeaf reports whether a drop for a silent event hook should be a
// WARNING: the first, then one per pausedWarnEvery.
func (t *Tracker) warnDeaf() bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.deafWarn.IsZero() && now.Sub(t.deafWarn) < pausedWarnEvery {
		return false
	}
	t.deafWarn = now
	return true
}

func outcomeName(success bool) string {
	if success {
		return "success"
	}
	return "failure"
}
