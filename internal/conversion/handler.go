package conversion

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/httpjson"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
)

// MaxBody bounds an event POST. Okta batches up to a few hundred events
// of 2–5 KiB each.
const MaxBody = 1 << 20

// challengeHeader carries the one-time verification value on the GET.
const challengeHeader = "X-Okta-Verification-Challenge"

// Handler serves GET and POST /okta/events. auth checks the POSTs; a nil
// auth (no OKTA_EVENT_HOOK_SECRET) refuses every POST with 401.
func (t *Tracker) Handler(auth *okta.HeaderAuth) http.Handler {
	return &handler{t: t, auth: auth}
}

type handler struct {
	t    *Tracker
	auth *okta.HeaderAuth
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.verifyHook(w, r)
	case http.MethodPost:
		h.deliver(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, []byte(`{"error":"method not allowed"}`))
	}
}

// verifyHook answers Okta's one-time verification GET by echoing the
// challenge. It does not require the authentication header: Okta's docs
// do not say the GET carries it, and the answer only echoes a value the
// caller sent itself, revealing nothing and changing nothing.
func (h *handler) verifyHook(w http.ResponseWriter, r *http.Request) {
	v := r.Header.Get(challengeHeader) // canonical name: any case matches
	if v == "" {
		writeJSON(w, http.StatusBadRequest, []byte(`{"error":"missing x-okta-verification-challenge header"}`))
		return
	}
	b, _ := json.Marshal(struct {
		Verification string `json:"verification"`
	}{v})
	writeJSON(w, http.StatusOK, b)
	if h.auth != nil && h.auth.Check(r.Header) {
		h.t.log.LogAttrs(r.Context(), slog.LevelInfo, msgHookVerified, slog.Bool("authenticated", true))
		return
	}
	// Anyone may send this GET: sampled, so it cannot flood the logs.
	h.t.cfg.Refusals.Log(r.Context(), h.t.log, slog.LevelInfo, "okta event hook: verification GET without the secret",
		msgHookVerified, slog.Bool("authenticated", false))
}

// tally is the per-POST summary.
type tally struct {
	events, relevant, verified, unmatched, late  int
	failed, abandoned, duplicates, ignored, malf int
}

func (h *handler) deliver(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	t := h.t
	if h.auth == nil || !h.auth.Check(r.Header) {
		reason := "authentication header does not match"
		if h.auth == nil {
			reason = "no event hook secret configured"
		}
		t.cfg.Refusals.Log(ctx, t.log, slog.LevelWarn, "okta event hook: "+reason, msgRefused, slog.String("reason", reason))
		writeJSON(w, http.StatusUnauthorized, []byte(`{"error":{"errorSummary":"unauthorized"}}`))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			t.log.LogAttrs(ctx, slog.LevelWarn, msgNotUnderstood, slog.String("reason", "body over 1 MiB"))
			writeJSON(w, http.StatusRequestEntityTooLarge, []byte(`{"error":"body too large"}`))
			return
		}
		writeJSON(w, http.StatusBadRequest, []byte(`{"error":"unreadable body"}`))
		return
	}
	eventID, events, err := parseDelivery(body)
	if err != nil {
		reason := "body is not JSON"
		if errors.Is(err, errNotDelivery) || !isSyntaxError(err) {
			reason = "body is not an event hook delivery"
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, msgNotUnderstood, slog.String("reason", reason))
		writeJSON(w, http.StatusBadRequest, []byte(`{"error":"`+reason+`"}`))
		return
	}

	n, shared := t.ingest(ctx, events)
	store := "memory"
	if shared {
		store = "redis"
	}
	t.log.LogAttrs(ctx, slog.LevelInfo, msgDelivery,
		slog.String("eventId", clip(eventID, 64)),
		slog.Int("events", n.events), slog.Int("relevant", n.relevant),
		slog.Int("verified", n.verified), slog.Int("unmatched", n.unmatched), slog.Int("late", n.late),
		slog.Int("failed", n.failed), slog.Int("abandoned", n.abandoned),
		slog.Int("duplicates", n.duplicates), slog.Int("ignored", n.ignored), slog.Int("malformed", n.malf),
		slog.String("store", store),
		slog.Float64("latencyMs", float64(time.Since(start).Microseconds())/1000))

	// Deferred work rides on this request too (Cloud Run gives CPU to
	// requests), bounded so Okta still gets its answer well within 3 s.
	sctx, cancel := context.WithTimeout(ctx, PostSettleBudget)
	_, _ = t.Settle(sctx)
	cancel()
	writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
}

// ingest applies one delivery's events. It reports whether the shared
// store answered.
func (t *Tracker) ingest(ctx context.Context, events []eventSlot) (tally, bool) {
	var n tally
	n.events = len(events)
	var vs []verification
	for i := range events {
		c := classify(&events[i])
		switch c.kind {
		case evIgnored:
			n.ignored++
			continue
		case evMalformed:
			n.malf++
			t.log.LogAttrs(ctx, slog.LevelDebug, msgSkipped, slog.String("reason", c.why),
				slog.String("eventType", clip(events[i].ev.EventType, 64)), slog.String("uuid", clip(events[i].ev.UUID, 64)))
			if c.factor == factorUnknown {
				continue
			}
		}
		n.relevant++
		switch c.kind {
		case evFailure:
			n.failed++
		case evAbandoned:
			n.abandoned++
		case evSuccess:
			v := verification{seen: newSeenKey(events[i].ev.UUID), published: c.published.UnixMilli()}
			h := t.userHash(c.userID)
			switch c.factor {
			case factorSMS:
				v.users[0] = userKey{h: h, ch: chSMS}
			case factorVoice:
				v.users[0] = userKey{h: h, ch: chVoice}
			default:
				v.users = [2]userKey{{h: h, ch: chSMS}, {h: h, ch: chVoice}}
			}
			vs = append(vs, v)
		}
	}

	p := t.params()
	var res []verifyResult
	shared := t.use(ctx, func(ctx context.Context, st Store) error {
		var c changes
		var err error
		res, c, err = st.verify(ctx, p, vs)
		if err == nil {
			t.logChanges(ctx, c)
		}
		return err
	})
	// A send recorded in memory while Redis was down is matched there.
	if shared {
		var again []verification
		var at []int
		for i, r := range res {
			if r.outcome == vUnmatched {
				again = append(again, vs[i])
				at = append(at, i)
			}
		}
		if len(again) > 0 && t.mem.hasSends() {
			r2, c, _ := t.mem.verify(ctx, p, again)
			t.logChanges(ctx, c)
			for j, r := range r2 {
				if r.outcome == vMatched || r.outcome == vLate {
					res[at[j]] = r
				}
			}
		}
	}
	for _, r := range res {
		switch r.outcome {
		case vDuplicate:
			n.duplicates++
			t.st.duplicates.Add(1)
		case vUnmatched:
			n.unmatched++
			t.st.unmatched.Add(1)
		case vMatched:
			n.verified++
			t.st.verified.Add(1)
			t.logSettled(ctx, slog.LevelInfo, MsgSettled, r.settled)
		case vLate:
			n.late++
			t.st.late.Add(1)
			t.logSettled(ctx, slog.LevelInfo, MsgLate, r.settled)
		}
	}
	return n, shared
}

func isSyntaxError(err error) bool {
	var syn *json.SyntaxError
	return errors.As(err, &syn)
}

var writeJSON = httpjson.Write
