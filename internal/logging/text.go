package logging

import (
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
)

// newTextHandler writes readable lines for a terminal (the local run):
// slog's TextHandler, with a clock time, Cloud Logging's severity names and
// a short source, so a line reads as it will in Logs Explorer. It is never
// on a deployed hook's path, so it is not worth a hand-written encoder.
// Values are resolved by slog, so redaction holds here too.
func newTextHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewTextHandler(w, &slog.HandlerOptions{
		AddSource:   true,
		Level:       level,
		ReplaceAttr: replaceText,
	})
}

func replaceText(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		if a.Value.Kind() == slog.KindTime {
			return slog.String(slog.TimeKey, a.Value.Time().Format("15:04:05.000"))
		}
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(slog.LevelKey, severity(l))
		}
	case slog.SourceKey:
		if s, ok := a.Value.Any().(*slog.Source); ok {
			return slog.String(slog.SourceKey, filepath.Base(s.File)+":"+strconv.Itoa(s.Line))
		}
	}
	return a
}
