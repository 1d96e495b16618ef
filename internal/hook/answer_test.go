package hook

import (
	"bytes"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/message"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
)

// A repeat of an eventId gets the first answer byte for byte, rebuilt
// from the record the guard keeps; the record stays small enough for the
// guard to keep inline (24 bytes), whatever the answer.
func TestAnswerRecordRoundTrip(t *testing.T) {
	const eventID = "Jk3vQ9sLRmWb2nXe7TfYpA"
	fr, en, zhTW := message.Resolve("fr-FR"), message.Resolve("en_GB"), message.Resolve("zh-TW")
	for _, a := range []answer{
		{kind: kindSuccessful, channel: okta.Voice, txID: "bda3d56d-1424-e711-813c-06ed3428fe67"},
		{kind: kindSuccessful, channel: okta.SMS, txID: "BDA3D56D-1424-E711-813C-06ED3428FE67"}, // not lowercase: kept as text
		{kind: kindSuccessful, channel: okta.SMS, txID: "umid-not-a-uuid"},
		{kind: kindFailed, channel: okta.SMS, txID: "bda3d56d-1424-e711-813c-06ed3428fe67"},
		{kind: kindFailed, channel: okta.Voice},
		{kind: kindPending, channel: okta.Voice},
		{kind: kindDryRun, channel: okta.SMS},
		{kind: kindRefused, channel: okta.SMS, refusal: refRatePhone, lang: fr},
		{kind: kindRefused, channel: okta.Voice, refusal: refConversion, lang: zhTW},
		{kind: kindRefused, channel: okta.Voice, refusal: refRateIP, lang: en},
		{kind: kindDeliveryFailed, channel: okta.Voice, failure: eightbyeight.Unreachable, lang: fr},
	} {
		rec := a.record()
		got, ok := parseRecord(rec)
		if !ok {
			t.Fatalf("%+v: record %x does not parse", a, rec)
		}
		if want, again := a.render(eventID), got.render(eventID); !bytes.Equal(want, again) {
			t.Errorf("rendered from the record:\n got %s\nwant %s", again, want)
		}
		if len(rec) > 24 && a.txID != "umid-not-a-uuid" && a.txID != "BDA3D56D-1424-E711-813C-06ED3428FE67" {
			t.Errorf("%+v: record of %d bytes, want at most 24", a, len(rec))
		}
	}
	for _, bad := range [][]byte{nil, {1}, {9, 0}, {byte(kindSuccessful), 7}, {byte(kindRefused), 0}, {byte(kindRefused), 0, 200, 'e', 'n'},
		{byte(kindSuccessful), 0, 1, 1, 2}, {byte(kindPending), 0, 1}, []byte(`{"commands":[]}`)} {
		if a, ok := parseRecord(bad); ok {
			t.Errorf("parseRecord(%q) = %+v, want not ok", bad, a)
		}
	}
}
