package okta

import (
	"encoding/json"
	"errors"
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

// The answers Okta reads, byte for byte: the shapes of Okta's
// TelephonyResponse and error object (the root tests also validate them
// against Okta's schema).
func TestMarshalGolden(t *testing.T) {
	for _, tt := range []struct {
		answer any
		want   string
	}{
		{Command(Result{Status: Successful, Provider: Provider, TransactionID: "5a8e7c3e-376b-11ef-a28b-0582ff0039d5", TransactionMetadata: "voice"}),
			`{"commands":[{"type":"com.okta.telephony.action","value":[{"status":"SUCCESSFUL","provider":"8x8","transactionId":"5a8e7c3e-376b-11ef-a28b-0582ff0039d5","transactionMetadata":"voice"}]}]}`},
		{Command(Result{Status: Pending, Provider: Provider, TransactionMetadata: "sms"}),
			`{"commands":[{"type":"com.okta.telephony.action","value":[{"status":"PENDING","provider":"8x8","transactionMetadata":"sms"}]}]}`},
		{Error("Too many codes <now> & \"then\"", ErrorCause{ErrorSummary: "too many codes sent to this phone number", Reason: "rate_limited_phone", Domain: "telephony-hook"}),
			`{"error":{"errorSummary":"Too many codes \u003cnow\u003e \u0026 \"then\"","errorCauses":[{"errorSummary":"too many codes sent to this phone number","reason":"rate_limited_phone","domain":"telephony-hook"}]}}`},
		{Error("unauthorized"), `{"error":{"errorSummary":"unauthorized"}}`},
		{Error("bad", ErrorCause{ErrorSummary: "eventId is required", Reason: "INVALID_REQUEST", LocationType: "body", Location: "eventId", Domain: "telephony-hook"}),
			`{"error":{"errorSummary":"bad","errorCauses":[{"errorSummary":"eventId is required","reason":"INVALID_REQUEST","locationType":"body","location":"eventId","domain":"telephony-hook"}]}}`},
	} {
		if got := string(Marshal(tt.answer)); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

// The eventId keys exactly-once delivery: it is used exactly as sent, and
// an id that decoding would have to repair is refused, naming the field.
func TestParseEventID(t *testing.T) {
	body := func(id string) []byte {
		return []byte(`{"eventId":` + id + `,"data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913","deliveryChannel":"SMS"}}}`)
	}
	for _, tt := range []struct {
		name, id, want, problem string
	}{
		{"plain", `"Jk3vQ9sLRmWb2nXe7TfYpA"`, "Jk3vQ9sLRmWb2nXe7TfYpA", ""},
		{"not trimmed: a different id", `" Jk3vQ9sLRmWb2nXe7TfYpA"`, " Jk3vQ9sLRmWb2nXe7TfYpA", ""},
		{"escaped but valid", `"a\u00e9b"`, "aéb", ""},
		{"invalid UTF-8 byte", "\"ab\xffcd\"", "", "must be valid UTF-8 text"},
		{"truncated UTF-8 sequence", "\"ab\xc3\"", "", "must be valid UTF-8 text"},
		{"lone surrogate escape", `"ab\ud800cd"`, "", "must be valid UTF-8 text"},
		{"blank", `"   "`, "", "is required"},
		{"as a number", `12345`, "12345", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(body(tt.id))
			if tt.problem != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != "eventId" || fe.Problem != tt.problem {
					t.Fatalf("Parse = %v, want eventId %s", err, tt.problem)
				}
				return
			}
			if err != nil || r.EventID != tt.want {
				t.Fatalf("Parse = %+v, %v; want eventId %q", r, err, tt.want)
			}
		})
	}
}

// The end user's IP is kept only when it is one.
// Okta has spelt deliveryChannel many ways: "sms" in any case is SMS,
// anything else a voice call.
func TestParseChannel(t *testing.T) {
	for in, want := range map[string]Channel{"SMS": SMS, "sms": SMS, " Sms ": SMS, "Voice": Voice, "voice call": Voice, "CALL": Voice, "call": Voice} {
		if got := ParseChannel(in); got != want {
			t.Errorf("ParseChannel(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseClientIP(t *testing.T) {
	for in, want := range map[string]string{
		`"198.51.100.23"`: "198.51.100.23", `" 2001:db8::1 "`: "2001:db8::1", `"::ffff:198.51.100.23"`: "198.51.100.23",
		`"not an ip"`: "", `null`: "", `"198.51.100.23, 10.0.0.1"`: "",
	} {
		r, err := Parse([]byte(`{"eventId":"e1","data":{"context":{"request":{"ipAddress":` + in + `}},"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913","deliveryChannel":"SMS"}}}`))
		if err != nil || r.ClientIP != want {
			t.Errorf("ipAddress %s: %q, %v; want %q", in, r.ClientIP, err, want)
		}
	}
}

// Duplicate keys: the last one wins, case-insensitively (encoding/json's
// rule), and there is one decoded value, so the number screened is the
// number sent. The root tests check it reaches 8x8 unchanged.
func TestParseDuplicateKeys(t *testing.T) {
	r, err := Parse([]byte(`{"eventId":"e1","data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913","deliveryChannel":"SMS","PHONENUMBER":"+33612345678"}}}`))
	if err != nil || r.Phone.Reveal() != "+33612345678" {
		t.Fatalf("Parse = %v; the phone is the last key's", err)
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
