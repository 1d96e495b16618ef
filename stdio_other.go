//go:build !linux

package telephonyhook

import (
	"log/slog"
)

// guardStdio is Linux-only (Cloud Run); elsewhere the streams stay as
// they are.
func guardStdio(*slog.Logger, *outputSwitch) {}
