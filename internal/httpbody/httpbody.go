// Package httpbody reads HTTP bodies into one buffer sized from their
// Content-Length (io.ReadAll starts at 512 bytes and grows twice for an
// Okta request or an 8x8 answer).
package httpbody

import "io"

// Read reads r to EOF, at most limit bytes (more is cut silently; wrap r
// in http.MaxBytesReader to refuse it instead).
func Read(r io.Reader, contentLength, limit int64) ([]byte, error) {
	n := int64(512)
	if contentLength >= 0 && contentLength < limit {
		n = contentLength + 1 // room to read the EOF without growing
	}
	b := make([]byte, 0, n)
	lr := &io.LimitedReader{R: r, N: limit}
	for {
		m, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
