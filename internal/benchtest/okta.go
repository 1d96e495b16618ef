package benchtest

import (
	"strconv"
	"time"
)

// Requests writes Okta voice mfa-verification requests (a synthetic
// fixture's shape, about 1.2 KB), numbered: request i has eventId
// "<prefix>" and i, and the OTP and user the shape gives it.
type Requests struct {
	prefix   string
	at, exp  string
	phone    func(i int) string
	user     func(i int) int
	head     []byte
	midUser  []byte
	midLogin []byte
	midPhone []byte
	tail     []byte
}

// Flood is the pumping shape: request i has its own number (f.Phone(i)),
// its own user and its own eventId.
func Flood(prefix string, now time.Time, f *Numbers) *Requests {
	return newRequests(prefix, now, f.Phone, func(i int) int { return i })
}

func newRequests(prefix string, now time.Time, phone func(int) string, user func(int) int) *Requests {
	now = now.UTC()
	q := &Requests{prefix: prefix, phone: phone, user: user,
		at: now.Format("2006-01-02T15:04:05.000Z"), exp: now.Add(5 * time.Minute).Format("2006-01-02T15:04:05.000Z")}
	q.head = []byte(`{"eventId":"` + prefix)
	q.midUser = []byte(`","eventTime":"` + q.at + `","eventType":"com.okta.telephony.provider","eventTypeVersion":"1.0","contentType":"application/json","cloudEventVersion":"0.1","source":"https://acme.okta.com/api/v1/inlineHooks/calq3z8WbV5nPd2Hx0h7","requestType":"com.okta.user.telephony.mfa-verification","data":{"context":{"request":{"id":"Qw9Er7Ty5Ui3Op1As8Df6Gh4JkL","method":"POST","url":{"value":"/idp/idx/challenge"},"ipAddress":"198.51.100.23"}},"userProfile":{"firstName":"Alice","lastName":"Doe","login":"user`)
	q.midLogin = []byte(`@example.com","userId":"00u`)
	q.midPhone = []byte(`"},"messageProfile":{"phoneNumber":"`)
	q.tail = []byte(`","otpExpires":"` + q.exp + `","deliveryChannel":"Voice call","otpCode":"`)
	return q
}

// Append appends request i's body to dst.
func (q *Requests) Append(dst []byte, i int) []byte {
	u := q.user(i)
	dst = append(dst, q.head...)
	dst = appendPadded(dst, i, 14)
	dst = append(dst, q.midUser...)
	dst = strconv.AppendInt(dst, int64(u), 10)
	dst = append(dst, q.midLogin...)
	dst = appendPadded(dst, u, 17)
	dst = append(dst, q.midPhone...)
	dst = append(dst, q.phone(i)...)
	dst = append(dst, q.tail...)
	dst = appendPadded(dst, (i*7919+104729)%1000000, 6)
	return append(dst, `","locale":"en-US"}}}`...)
}

// Body is request i's body.
func (q *Requests) Body(i int) []byte { return q.Append(nil, i) }

func appendPadded(dst []byte, v, width int) []byte {
	var b [20]byte
	s := strconv.AppendInt(b[:0], int64(v), 10)
	for range width - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}
