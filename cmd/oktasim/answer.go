package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// kind is what Okta makes of one hook answer. The first four are answers
// Okta accepts; the rest make it skip the hook.
type kind int

const (
	kindSuccessful kind = iota
	kindPending
	kindFailed
	kindError // an error object with an errorSummary
	kindHTTP  // any status but 200
	kindMalformed
	kindTimeout
	kindTransport
	numKinds
)

func (k kind) valid() bool { return k <= kindError }

var kindNames = [numKinds]string{
	kindSuccessful: "SUCCESSFUL",
	kindPending:    "PENDING",
	kindFailed:     "FAILED",
	kindError:      "error object",
	kindHTTP:       "HTTP non-200",
	kindMalformed:  "malformed",
	kindTimeout:    "timeout",
	kindTransport:  "transport error",
}

func (k kind) String() string { return kindNames[k] }

// result is one exchange with the hook.
type result struct {
	status  int // 0 when no answer arrived
	body    []byte
	latency time.Duration
	err     error
}

// verdict is the classified result; detail is the errorSummary, the HTTP
// status, or why the answer is unusable. reason is an error object's
// errorCauses[0].reason (the hook's refusal code, e.g. "conversion_suspect"),
// when it has one.
type verdict struct {
	kind   kind
	detail string
	status int
	reason string
}

// classify judges an answer the way Okta does (developer.okta.com
// telephony hook reference, "Troubleshoot"): only a 200 counts; its body
// is an error object, or commands[0] of type com.okta.telephony.action
// whose value[0].status is SUCCESSFUL, PENDING or FAILED; anything else
// is skipped.
func classify(r result, timeout time.Duration) verdict {
	if r.err != nil {
		var ne net.Error
		if errors.As(r.err, &ne) && ne.Timeout() {
			return verdict{kind: kindTimeout, detail: "no answer within " + timeout.String()}
		}
		return verdict{kind: kindTransport, detail: r.err.Error()}
	}
	if r.status != 200 {
		return verdict{kind: kindHTTP, status: r.status, detail: fmt.Sprintf("HTTP %d", r.status)}
	}
	return classifyBody(r.body)
}

func malformed(why string) verdict { return verdict{kind: kindMalformed, detail: why} }

// classifyBody matches keys exactly: Okta's parser is case-sensitive,
// unlike encoding/json's struct decoding.
func classifyBody(body []byte) verdict {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return malformed("not a JSON object")
	}
	if raw, ok := top["error"]; ok && string(raw) != "null" {
		var e map[string]json.RawMessage
		if err := json.Unmarshal(raw, &e); err != nil || e == nil {
			// Okta's own OpenAPI example has error as an array; Okta
			// does not accept it.
			return malformed("error is not an object")
		}
		var summary string
		if err := json.Unmarshal(e["errorSummary"], &summary); err != nil || strings.TrimSpace(summary) == "" {
			return malformed("error.errorSummary missing or not a string")
		}
		return verdict{kind: kindError, detail: summary, reason: firstReason(e["errorCauses"])}
	}
	raw, ok := top["commands"]
	if !ok {
		return malformed("neither commands nor error")
	}
	var cmds []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cmds); err != nil || len(cmds) == 0 || cmds[0] == nil {
		return malformed("commands is not a non-empty array of objects")
	}
	var typ string
	if err := json.Unmarshal(cmds[0]["type"], &typ); err != nil || typ != "com.okta.telephony.action" {
		return malformed(`commands[0].type is not "com.okta.telephony.action"`)
	}
	var values []map[string]json.RawMessage
	if err := json.Unmarshal(cmds[0]["value"], &values); err != nil || len(values) == 0 || values[0] == nil {
		return malformed("commands[0].value is not a non-empty array of objects")
	}
	var status string
	if err := json.Unmarshal(values[0]["status"], &status); err != nil {
		return malformed("commands[0].value[0].status missing or not a string")
	}
	switch status {
	case "SUCCESSFUL":
		return verdict{kind: kindSuccessful}
	case "PENDING":
		return verdict{kind: kindPending}
	case "FAILED":
		return verdict{kind: kindFailed}
	}
	return malformed(fmt.Sprintf("invalid status %q", status))
}

// firstReason reads errorCauses[0].reason leniently: Okta itself ignores
// the causes, so an odd one does not make the answer malformed.
func firstReason(raw json.RawMessage) string {
	var causes []map[string]json.RawMessage
	if json.Unmarshal(raw, &causes) != nil || len(causes) == 0 {
		return ""
	}
	var s string
	_ = json.Unmarshal(causes[0]["reason"], &s)
	return strings.TrimSpace(s)
}

// okta says, in an admin's words, what Okta does with the answer.
func (v verdict) okta() string {
	switch v.kind {
	case kindSuccessful:
		return "delivered by the hook (SUCCESSFUL)"
	case kindPending:
		return "hook could not confirm delivery; Okta waits, no second code (PENDING)"
	case kindFailed:
		return "Okta falls back to its own provider (FAILED)"
	case kindError:
		return "Okta shows the user: " + v.detail + " and falls back"
	case kindHTTP:
		return fmt.Sprintf("Okta skips the hook and falls back (HTTP %d)", v.status)
	case kindMalformed:
		return "Okta skips the hook and falls back (malformed: " + v.detail + ")"
	case kindTimeout:
		return "Okta skips the hook and falls back (timeout: " + v.detail + ")"
	default:
		return "Okta skips the hook and falls back (no answer: " + v.detail + ")"
	}
}
