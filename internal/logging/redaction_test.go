package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/phone"
)

// A value whose LogValue redacts is never written in the clear, in any
// format, wherever it is put.
func TestRedactionEverywhere(t *testing.T) {
	p, err := phone.NewParser("US")
	if err != nil {
		t.Fatal(err)
	}
	num, err := p.Parse("+14155550123")
	if err != nil {
		t.Fatal(err)
	}
	const clear = "4155550123"
	ways := []struct {
		name string
		log  func(l *slog.Logger) // plants the number and the secret once each
	}{
		{"attributes", func(l *slog.Logger) { l.Info("m", "phone", num, "otp", secret(clear)) }},
		{"group", func(l *slog.Logger) { l.Info("m", slog.Group("g", "phone", num, "otp", secret(clear))) }},
		{"nested groups", func(l *slog.Logger) {
			l.Info("m", slog.Group("a", slog.Group("b", "phone", num)), slog.Group("c", slog.Group("d", "otp", secret(clear))))
		}},
		{"With", func(l *slog.Logger) { l.With("phone", num).With(slog.Any("otp", secret(clear))).Info("m") }},
		{"WithGroup then With", func(l *slog.Logger) { l.WithGroup("g").With("phone", num, "otp", secret(clear)).Info("m") }},
		{"WithGroup, With, group", func(l *slog.Logger) {
			l.WithGroup("g").With("phone", num).Info("m", slog.Group("h", "otp", secret(clear)))
		}},
		{"LogValuer resolving to LogValuers", func(l *slog.Logger) {
			l.Info("m", "phone", num, "w", wrapped{secret(clear)})
		}},
		{"error level", func(l *slog.Logger) { l.Error("m", "phone", num, "otp", secret(clear)) }},
	}
	formats := []struct {
		name string
		run  func(log func(*slog.Logger)) string
	}{
		{"json", func(log func(*slog.Logger)) string {
			var buf bytes.Buffer
			log(slog.New(NewHandler(&buf, Options{ProjectID: "p"})))
			return buf.String()
		}},
		{"text", func(log func(*slog.Logger)) string {
			var buf bytes.Buffer
			log(slog.New(NewHandler(&buf, Options{Format: Text})))
			return buf.String()
		}},
		{"sink", func(log func(*slog.Logger)) string {
			var line lineCapture
			log(slog.New(NewHandler(&line, Options{ProjectID: "p"})))
			var f map[string]any
			if err := json.Unmarshal(line, &f); err != nil {
				t.Fatal(err)
			}
			j, err := json.Marshal(entry(f).Payload)
			if err != nil {
				t.Fatal(err)
			}
			return string(j)
		}},
	}
	for _, f := range formats {
		for _, w := range ways {
			t.Run(f.name+"/"+w.name, func(t *testing.T) {
				out := f.run(w.log)
				if strings.Contains(out, clear) {
					t.Errorf("clear value written: %s", out)
				}
				if got := strings.Count(out, num.Redacted()) + strings.Count(out, "[redacted]"); got != 2 {
					t.Errorf("%d redacted values, want 2: %s", got, out)
				}
			})
		}
	}
}
