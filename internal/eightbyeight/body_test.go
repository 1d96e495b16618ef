package eightbyeight

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The references: the wire types through encoding/json.
func callflowBodyJSON(t *testing.T, c Call) []byte {
	req := callflowRequest{Callflow: []action{
		{Action: "makeCall", Params: makeCallParams{Source: c.Source, Destination: c.Destination}},
		{Action: "say", Params: sayParams{Text: c.Text, VoiceProfile: c.VoiceProfile, Repetition: c.Repetition}},
		{Action: "hangup"},
	}}
	if !c.ValidUntil.IsZero() {
		req.ValidUntil = c.ValidUntil.UTC().Format(validUntilLayout)
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func messageBodyJSON(t *testing.T, m Message) []byte {
	b, err := json.Marshal(smsRequest{Destination: m.Destination, Text: m.Text, Source: m.Source, ClientMessageID: m.ClientMessageID, Encoding: "AUTO"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var awkward = []string{
	"", "+33612345678", "Votre code est : 9. 0. 5. 1. 2. 7.", `quote " and \ backslash`, "<b>&amp;</b>",
	"tab\tnew\nline\rcr\bbs\fff\x00\x1f\x7f", "é ñ 日本 🎉", "line\u2028sep\u2029para", "bad \xff utf-8 \xc3",
	strings.Repeat("x", 3000),
}

// The hand-written bodies are byte for byte what encoding/json writes.
func TestBodiesMatchEncodingJSON(t *testing.T) {
	paris := time.FixedZone("Paris", 3600)
	for _, s := range awkward {
		for _, c := range []Call{
			{Destination: s, Source: s, Text: s, VoiceProfile: s, Repetition: 2, ValidUntil: time.Date(2026, 3, 14, 11, 7, 11, 902e6, paris)},
			{Destination: "+14155550123", Text: s, Repetition: 0},
			{Text: s, Repetition: 3, ValidUntil: time.Date(2026, 3, 14, 10, 7, 11, 0, time.UTC)},
		} {
			if got, want := CallflowBody(c), callflowBodyJSON(t, c); !bytes.Equal(got, want) {
				t.Errorf("callflow:\n got %s\nwant %s", got, want)
			}
		}
		for _, m := range []Message{
			{Destination: s, Source: s, Text: s, ClientMessageID: s},
			{Destination: "+14155550123", Text: s},
		} {
			if got, want := MessageBody(m), messageBodyJSON(t, m); !bytes.Equal(got, want) {
				t.Errorf("sms:\n got %s\nwant %s", got, want)
			}
		}
	}
}

// readAll reads what io.ReadAll reads, up to the limit, whatever the
// Content-Length says.
