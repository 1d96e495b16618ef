package eightbyeighttest

import (
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// The fake must be able to refuse: these bodies break 8x8's specs.
func TestValidateRefusesBadRequests(t *testing.T) {
	sharedtest.Require(t)
	s := New(t)
	good := `{"callflow":[{"action":"makeCall","params":{"source":"+14155550100","destination":"+33612345678"}},{"action":"say","params":{"text":"1. 2. 3.","voiceProfile":"en-US-Jenny","repetition":2}},{"action":"hangup"}]}`
	tests := []struct {
		name string
		kind Kind
		body string
		ok   bool
	}{
		{"valid callflow", Voice, good, true},
		{"say without voiceProfile", Voice, `{"callflow":[{"action":"makeCall","params":{"source":"+1","destination":"+33612345678"}},{"action":"say","params":{"text":"x","repetition":1}},{"action":"hangup"}]}`, false},
		{"speed as a fraction (spec says integer)", Voice, `{"callflow":[{"action":"makeCall","params":{"source":"+1","destination":"+33612345678"}},{"action":"say","params":{"text":"x","voiceProfile":"en-US-Jenny","repetition":1,"speed":1.5}},{"action":"hangup"}]}`, false},
		{"makeCall without source", Voice, `{"callflow":[{"action":"makeCall","params":{"destination":"+33612345678"}},{"action":"say","params":{"text":"x","voiceProfile":"v","repetition":1}},{"action":"hangup"}]}`, false},
		{"no hangup", Voice, `{"callflow":[{"action":"makeCall","params":{"source":"+1","destination":"+33612345678"}},{"action":"say","params":{"text":"x","voiceProfile":"v","repetition":1}}]}`, false},
		{"valid sms", SMS, `{"destination":"+14155550123","text":"Your code is 1","source":"Acme","clientMessageId":"e1","encoding":"AUTO"}`, true},
		{"sms source over 16 characters", SMS, `{"destination":"+14155550123","text":"x","source":"AcmeCorporationOTP"}`, false},
		{"sms destination not a number", SMS, `{"destination":"+1-415-555","text":"x"}`, false},
		{"sms bad encoding", SMS, `{"destination":"+14155550123","text":"x","encoding":"UTF8"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate(tt.kind, []byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
