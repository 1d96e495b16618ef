package conversion

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/httpjson"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
	rs "github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// maxBody bounds an event POST. Okta batches up to a few hundred events
// of 2–5 KiB each.
const maxBody = 1 << 20

// Handler serves GET and POST /okta/events. auth checks the POSTs; a nil
// auth (no OKTA_EVENT_HOOK_SECRET) refuses every POST with 401.
func (t *Tracker) Handler(auth *okta.HeaderAuth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			t.verifyHook(w, r, auth)
		case http.MethodPost:
			t.deliver(w, r, auth)
		default:
			w.Header().Set("Allow", "GET, POST")
			httpjson.Write(w, http.StatusMethodNotAllowed, []byte(`{"error":"method not allowed"}`))
		}
	})
}

// verifyHook answers Okta's one-time verification GET by echoing the
// challenge, with or without the authentication header: Okta's docs do not
// say the GET carries it, and echoing the caller's value reveals nothing.
func (t *Tracker) verifyHook(w http.ResponseWriter, r *http.Request, auth *okta.HeaderAuth) {
	v := r.Header.Get("X-Okta-Verification-Challenge")
	if v == "" {
		t.refuse(w, r, http.StatusBadRequest, slog.LevelInfo, "missing x-okta-verification-challenge header", msgNotUnderstood)
		return
	}
	b, _ := json.Marshal(map[string]string{"verification": v})
	httpjson.Write(w, http.StatusOK, b)
	if auth != nil && auth.Check(r.Header) {
		t.log.LogAttrs(r.Context(), slog.LevelInfo, msgHookVerified, slog.Bool("authenticated", true))
		return
	}
	// Anyone may send this GET: sampled, so it cannot flood the logs.
	t.cfg.Refusals.Log(r.Context(), t.log, slog.LevelInfo, "okta event hook: verification GET without the secret",
		msgHookVerified, slog.Bool("authenticated", false), httpRequest(r, http.StatusOK))
}

// refuse answers an error and logs it, sampled per reason, with the
// caller's address as Google's front end saw it.
func (t *Tracker) refuse(w http.ResponseWriter, r *http.Request, status int, level slog.Level, reason, msg string) {
	t.cfg.Refusals.Log(r.Context(), t.log, level, "okta event hook: "+reason, msg,
		slog.String("reason", reason), httpRequest(r, status))
	summary := reason
	if status == http.StatusUnauthorized {
		summary = "unauthorized" // the caller learns nothing of why
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"errorSummary": summary}})
	httpjson.Write(w, status, b)
}

func httpRequest(r *http.Request, status int) slog.Attr {
	return slog.Any("httpRequest", logging.HTTPRequest{Method: r.Method, URL: r.URL.Path,
		UserAgent: r.UserAgent(), RemoteIP: logging.ClientIP(r), Status: status})
}

// tally is the per-POST summary.
type tally struct {
	events, relevant, sends, ours, failovers, denied int

	kinds    [evSend + 1]int // events by kind
	outcomes map[string]int  // verifications, and duplicates, by outcome
}

func (t *Tracker) deliver(w http.ResponseWriter, r *http.Request, auth *okta.HeaderAuth) {
	start := time.Now()
	ctx := r.Context()
	if auth == nil || !auth.Check(r.Header) {
		reason := "authentication header does not match"
		if auth == nil {
			reason = "no event hook secret configured"
		}
		t.refuse(w, r, http.StatusUnauthorized, slog.LevelWarn, reason, msgRefused)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			t.refuse(w, r, http.StatusRequestEntityTooLarge, slog.LevelWarn, "body over 1 MiB", msgNotUnderstood)
			return
		}
		t.refuse(w, r, http.StatusBadRequest, slog.LevelWarn, "unreadable body", msgNotUnderstood)
		return
	}
	eventID, events, err := parseDelivery(body)
	if err != nil {
		reason := "body is not an event hook delivery"
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			reason = "body is not JSON"
		}
		t.refuse(w, r, http.StatusBadRequest, slog.LevelWarn, reason, msgNotUnderstood)
		return
	}
	n, err := t.ingest(ctx, events)
	if err != nil {
		// Nothing of this delivery is lost: Okta redelivers it once on a
		// 5xx, and uuids already applied count once.
		t.log.LogAttrs(ctx, slog.LevelWarn, msgStoreFailed, slog.String("op", "event delivery"),
			slog.String("eventId", logging.Clip(eventID, 64)), slog.Int("events", n.events),
			slog.String("error_class", rs.ErrorClass(err)), httpRequest(r, http.StatusServiceUnavailable))
		httpjson.Write(w, http.StatusServiceUnavailable, []byte(`{"error":{"errorSummary":"store unavailable, retry"}}`))
		return
	}
	t.log.LogAttrs(ctx, slog.LevelInfo, msgDelivery,
		slog.String("eventId", logging.Clip(eventID, 64)),
		slog.Int("events", n.events), slog.Int("relevant", n.relevant),
		slog.Int("verified", n.outcomes[rs.ConvMatched]), slog.Int("unmatched", n.outcomes[rs.ConvUnmatched]),
		slog.Int("late", n.outcomes[rs.ConvLate]), slog.Int("duplicates", n.outcomes[rs.ConvDuplicate]),
		slog.Int("failed", n.kinds[evFailure]), slog.Int("abandoned", n.kinds[evAbandoned]),
		slog.Int("ignored", n.kinds[evIgnored]), slog.Int("malformed", n.kinds[evMalformed]),
		slog.Int("sendEvents", n.sends), slog.Int("sendEventsOurs", n.ours),
		slog.Int("failovers", n.failovers), slog.Int("denied", n.denied),
		slog.Float64("latencyMs", float64(time.Since(start).Microseconds())/1000))

	// Deferred work rides on this request too (Cloud Run gives CPU to
	// requests), bounded so Okta still gets its answer well within 3 s.
	sctx, cancel := context.WithTimeout(ctx, postSettleBudget)
	_, _ = t.Settle(sctx)
	cancel()
	httpjson.Write(w, http.StatusOK, []byte(`{"status":"ok"}`))
}

// ingest applies one delivery's events in one store call. Its error is
// the store's: then nothing is known to be applied.
func (t *Tracker) ingest(ctx context.Context, events []logEvent) (tally, error) {
	n := tally{events: len(events), outcomes: map[string]int{}}
	var items []rs.ConvItem
	var sends []sendEvent // items' send events, by index
	for i := range events {
		c := classify(&events[i])
		n.kinds[c.kind]++
		if c.kind == evMalformed {
			t.log.LogAttrs(ctx, slog.LevelDebug, msgSkipped, slog.String("reason", c.why),
				slog.String("eventType", logging.Clip(events[i].EventType, 64)),
				slog.String("uuid", logging.Clip(events[i].UUID, 64)))
		}
		if c.kind == evIgnored || c.kind == evMalformed && c.factor == factorUnknown {
			continue
		}
		n.relevant++
		it := rs.ConvItem{UUID: logging.Clip(events[i].UUID, 64), Published: c.published.UnixMilli()}
		switch c.kind {
		case evSend:
			// A DENY or a number we cannot read matches none of ours, but
			// still counts once per uuid.
			it.Phone = noPhone
			if c.send.number != "" && !c.send.denied {
				it.Phone = t.keys.Key(rs.Phone, c.send.number).Hex()
			}
			items, sends = append(items, it), append(sends, c.send)
		case evSuccess:
			if c.factor != factorVoice {
				it.Users = append(it.Users, t.userKey(c.userID, chSMS))
			}
			if c.factor != factorSMS {
				it.Users = append(it.Users, t.userKey(c.userID, chVoice))
			}
			items, sends = append(items, it), append(sends, sendEvent{})
		}
	}
	actx, cancel := context.WithTimeout(ctx, t.postTimeout)
	res, c, err := t.store.Apply(actx, t.params(), items)
	cancel()
	if err != nil {
		return n, err
	}
	t.logChanges(ctx, c)
	for i, r := range res {
		if items[i].Users == nil && r.Outcome != rs.ConvDuplicate {
			t.noteSendEvent(ctx, sends[i], r, &n)
		} else {
			n.outcomes[r.Outcome]++
		}
	}
	return n, nil
}

// noPhone stands for a send event's number when it cannot match a send
// of ours: no number key is ever spelled so.
const noPhone = "-"

// noteSendEvent counts one of Okta's send events, new by its uuid, and
// logs Okta's failovers and refusals.
func (t *Tracker) noteSendEvent(ctx context.Context, e sendEvent, r rs.ConvResult, n *tally) {
	n.sends++
	ours := r.Outcome == rs.ConvMatched
	if ours {
		n.ours++
	}
	attrs := []slog.Attr{slog.String("country", cmp.Or(e.country, "unknown")), slog.String("channel", channelName(e.channel))}
	switch {
	case e.denied:
		n.denied++
		t.log.LogAttrs(ctx, slog.LevelInfo, msgDenied, attrs...)
	case e.failover:
		n.failovers++
		answer := "unknown"
		if ours {
			// We recorded the send: we answered that the code was sent
			// (or PENDING, without a transaction id), too late for Okta.
			answer = "sent"
			attrs = append(attrs, slog.String("transactionId", r.Tx))
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, msgFailover, append(attrs, slog.String("ourAnswer", answer))...)
	}
}
