//go:build !linux

package telephonyhook

import (
	"log/slog"

	"github.com/telephony-hooks/okta-8x8/internal/logging"
)

// guardStdio is Linux-only (Cloud Run); elsewhere the streams stay as
// they are.
func guardStdio(*slog.Logger, *outputSwitch, *logging.Writer) {}
