package eightbyeight

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/httpbody"
	"github.com/telephony-hooks/okta-8x8/internal/jsonstr"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// Copies of the hand-written encoders at 86c16c5, on the raw values.
func oldCallflowBody(dest, src, text, profile string, rep int, vu time.Time) []byte {
	b := make([]byte, 0, 256+len(text))
	b = append(b, '{')
	if !vu.IsZero() {
		b = append(b, `"validUntil":"`...)
		b = vu.UTC().AppendFormat(b, validUntilLayout)
		b = append(b, `",`...)
	}
	b = append(b, `"callflow":[{"action":"makeCall","params":{"source":`...)
	b = jsonstr.Append(b, src)
	b = append(b, `,"destination":`...)
	b = jsonstr.Append(b, dest)
	b = append(b, `}},{"action":"say","params":{"text":`...)
	b = jsonstr.Append(b, text)
	b = append(b, `,"voiceProfile":`...)
	b = jsonstr.Append(b, profile)
	if rep != 0 {
		b = append(b, `,"repetition":`...)
		b = strconv.AppendInt(b, int64(rep), 10)
	}
	return append(b, `}},{"action":"hangup"}]}`...)
}

func oldMessageBody(dest, src, text, cmid string) []byte {
	b := make([]byte, 0, 128+len(text))
	b = append(b, `{"destination":`...)
	b = jsonstr.Append(b, dest)
	b = append(b, `,"text":`...)
	b = jsonstr.Append(b, text)
	if src != "" {
		b = append(b, `,"source":`...)
		b = jsonstr.Append(b, src)
	}
	if cmid != "" {
		b = append(b, `,"clientMessageId":`...)
		b = jsonstr.Append(b, cmid)
	}
	return append(b, `,"encoding":"AUTO"}`...)
}

const (
	mText = "Votre code de vérification est : 9. 0. 5. 1. 2. 7."
	sText = "Your verification code is 482913. Do not share it with anyone."
)

var mVU = time.Date(2026, 3, 14, 10, 7, 11, 902e6, time.UTC)

func BenchmarkMeasure(b *testing.B) {
	c := Call{Destination: mustNumber(b, "+33612345678"), Source: "+14155550100", Text: redact.New(mText), VoiceProfile: "fr-FR-DeniseNeural", Repetition: 2, ValidUntil: mVU}
	m := Message{Destination: mustNumber(b, "+14155550123"), Source: "Acme", Text: redact.New(sText), ClientMessageID: "Jk3vQ9sLRmWb2nXe7TfYpA"}
	b.Run("callflow=hand", func(b *testing.B) {
		for b.Loop() {
			_ = oldCallflowBody(c.Destination.E164(), c.Source, c.Text.Reveal(), c.VoiceProfile, c.Repetition, c.ValidUntil)
		}
	})
	b.Run("callflow=json", func(b *testing.B) {
		for b.Loop() {
			_, _ = callflowBody(c)
		}
	})
	b.Run("sms=hand", func(b *testing.B) {
		for b.Loop() {
			_ = oldMessageBody(m.Destination.E164(), m.Source, m.Text.Reveal(), m.ClientMessageID)
		}
	})
	b.Run("sms=json", func(b *testing.B) {
		for b.Loop() {
			_, _ = messageBody(m)
		}
	})
	const voiceAns = `{"sessionId":"03cc8cac-376b-11ef-a28b-0582ff0039d5","sessionStatus":"CREATED","callFlowRequestId":"03cc3e8b-376b-11ef-a28b-4dd5d900ecb3","statusCode":1,"statusMessage":"Created"}`
	const smsAns = `{"umid":"bda3d56d-1424-e711-813c-06ed3428fe67","clientMessageId":"Jk3vQ9sLRmWb2nXe7TfYpA","destination":"14155550123","encoding":"GSM7","status":{"code":"QUEUED","description":"SMS is accepted and queued for processing"}}`
	for _, ans := range []struct{ name, body string }{{"voice", voiceAns}, {"sms", smsAns}} {
		b.Run("read="+ans.name+"/httpbody", func(b *testing.B) {
			for b.Loop() {
				_, _ = httpbody.Read(strings.NewReader(ans.body), int64(len(ans.body)), maxBody)
			}
		})
		b.Run("read="+ans.name+"/readall", func(b *testing.B) {
			for b.Loop() {
				_, _ = io.ReadAll(io.LimitReader(strings.NewReader(ans.body), maxBody))
			}
		})
		b.Run("read="+ans.name+"/buffer", func(b *testing.B) {
			for b.Loop() {
				var buf bytes.Buffer
				buf.Grow(len(ans.body) + bytes.MinRead)
				_, _ = buf.ReadFrom(io.LimitReader(strings.NewReader(ans.body), maxBody))
			}
		})
	}
}
