package okta

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// awkward are strings that encoding/json escapes or replaces.
var awkward = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "é ñ 日本 🎉", "line\u2028sep\u2029para", "bad \xff utf-8 \xc3", "\xed\xa0\x80",
	strings.Repeat("x", 300), allBytes(),
}

func allBytes() string {
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	return string(all)
}

// The hand-written answers are byte for byte what encoding/json writes.
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	var answers []any
	for _, s := range awkward {
		answers = append(answers,
			Command(Result{Status: Successful, Provider: Provider, TransactionID: s, TransactionMetadata: "voice"}),
			Command(Result{Status: Status(s)}),
			Error(s),
			Error("summary", ErrorCause{ErrorSummary: s, Reason: s, LocationType: "body", Location: s, Domain: "telephony-hook"}),
			Error(s, ErrorCause{}, ErrorCause{ErrorSummary: "a"}),
		)
	}
	answers = append(answers, CommandResponse{}, CommandResponse{Commands: []command{{Type: ActionType}}},
		CommandResponse{Commands: []command{{Type: ActionType, Value: []Result{{}, {Status: Pending}}}, {}}},
		ErrorResponse{}, ErrorResponse{Error: ErrorBody{ErrorCauses: []ErrorCause{}}})
	for i, a := range answers {
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := Marshal(a); !bytes.Equal(got, want) {
			t.Errorf("answer %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// Plain strings take the fast path; escaped ones and invalid UTF-8 are
// decoded exactly as encoding/json decodes them.
func TestFlexStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range append(awkward, `\u00e9`, `\"`, `a\/b`) {
		raw, _ := json.Marshal(s)
		for _, in := range [][]byte{raw, []byte(`"` + s + `"`)} {
			if !json.Valid(in) {
				continue
			}
			var want string
			_ = json.Unmarshal(in, &want)
			var got flexString
			if err := json.Unmarshal(in, &got); err != nil {
				t.Fatalf("%s: %v", in, err)
			}
			if string(got) != want {
				t.Errorf("%s: got %q, want %q", in, got, want)
			}
		}
	}
}

func BenchmarkParse(b *testing.B) {
	body := []byte(`{"eventId":"Zp8wR2mKQx6Nf4Tb1YhLsg","eventTime":"2026-03-14T10:02:11.000Z","eventType":"com.okta.telephony.provider","eventTypeVersion":"1.0","contentType":"application/json","cloudEventVersion":"0.1","source":"https://acme.okta.com/api/v1/inlineHooks/calq3z8WbV5nPd2Hx0h7","requestType":"com.okta.user.telephony.mfa-verification","data":{"context":{"request":{"id":"Qw9Er7Ty5Ui3Op1As8Df6Gh4JkL","method":"POST","url":{"value":"/idp/idx/challenge"},"ipAddress":"198.51.100.23"}},"userProfile":{"firstName":"Élodie","lastName":"Dupré","login":"elodie.dupre@example.fr","userId":"00u9f3KqL2mNx8Rt4dd7"},"messageProfile":{"phoneNumber":"+33612345678","otpExpires":"2026-03-14T10:07:11.902Z","deliveryChannel":"Voice call","otpCode":"905127","locale":"fr"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalCommand(b *testing.B) {
	r := Command(Result{Status: Successful, Provider: Provider, TransactionID: "5a8e7c3e-376b-11ef-a28b-0582ff0039d5", TransactionMetadata: "voice"})
	b.ReportAllocs()
	for b.Loop() {
		_ = Marshal(r)
	}
}
