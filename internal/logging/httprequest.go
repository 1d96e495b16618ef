package logging

import (
	"strconv"
	"time"
)

// HTTPRequest is logged as Cloud Logging's httpRequest object, which Logs
// Explorer shows on the entry's summary line. Log it with
// slog.Any("httpRequest", HTTPRequest{…}); the handler lifts it to the top
// level of the entry wherever it appears (Cloud Logging ignores it nested).
//
// URL is logged as given: pass a path without a query string that could
// carry personal data.
type HTTPRequest struct {
	Method, URL, UserAgent, RemoteIP, Protocol string
	Status                                     int
	RequestSize, ResponseSize                  int64
	Latency                                    time.Duration
}

// MarshalJSON gives the Cloud Logging shape, so other JSON handlers write
// the same object.
func (r HTTPRequest) MarshalJSON() ([]byte, error) {
	return r.appendJSON(nil), nil
}

// String is the request on a terminal line (the text format): "POST / 200 12ms".
func (r HTTPRequest) String() string {
	s := r.Method + " " + r.URL + " " + strconv.Itoa(r.Status)
	if r.Latency != 0 {
		s += " " + r.Latency.String()
	}
	return s
}

// appendJSON follows the proto3 JSON mapping of google.logging.type.HttpRequest:
// int64 sizes are strings, the latency is a Duration string ("0.250s"),
// zero values are omitted.
func (r HTTPRequest) appendJSON(b []byte) []byte {
	e := jsonEncoder{buf: append(b, '{')}
	str := func(k, v string) {
		if v != "" {
			e.key(k)
			e.buf = appendJSONString(e.buf, v)
		}
	}
	size := func(k string, n int64) {
		if n != 0 {
			e.key(k)
			e.buf = append(e.buf, '"')
			e.buf = strconv.AppendInt(e.buf, n, 10)
			e.buf = append(e.buf, '"')
		}
	}
	str("requestMethod", r.Method)
	str("requestUrl", r.URL)
	size("requestSize", r.RequestSize)
	if r.Status != 0 {
		e.key("status")
		e.buf = strconv.AppendInt(e.buf, int64(r.Status), 10)
	}
	size("responseSize", r.ResponseSize)
	str("userAgent", r.UserAgent)
	str("remoteIp", r.RemoteIP)
	if r.Latency != 0 {
		e.key("latency")
		e.buf = appendProtoDuration(e.buf, r.Latency)
	}
	str("protocol", r.Protocol)
	return append(e.buf, '}')
}

// appendProtoDuration writes d as a proto3 JSON Duration: seconds with 0,
// 3, 6 or 9 fractional digits and an "s" suffix.
func appendProtoDuration(b []byte, d time.Duration) []byte {
	b = append(b, '"')
	u := uint64(d)
	if d < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/1e9, 10)
	if ns := u % 1e9; ns != 0 {
		digits, frac := 9, ns
		switch {
		case ns%1e6 == 0:
			digits, frac = 3, ns/1e6
		case ns%1e3 == 0:
			digits, frac = 6, ns/1e3
		}
		b = append(b, '.')
		var tmp [9]byte
		for i := digits - 1; i >= 0; i-- {
			tmp[i] = byte('0' + frac%10)
			frac /= 10
		}
		b = append(b, tmp[:digits]...)
	}
	return append(b, 's', '"')
}
