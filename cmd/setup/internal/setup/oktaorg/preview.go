package oktaorg

import (
	"crypto/rand"
	"encoding/json"
	"time"
)

// placeholderPhone is the number Okta's Admin Console puts in a preview:
// the hook answers it without calling anyone.
const placeholderPhone = "9876543210"

// previewRequest is a telephony request as the Admin Console's Preview
// sends it (Okta's documented pre-enrollment preview), with a fresh
// eventId and a code that has not expired.
func previewRequest() []byte {
	now := time.Now().UTC()
	type obj = map[string]any
	b, _ := json.Marshal(obj{
		"eventId":           rand.Text()[:22],
		"eventTime":         now.Format(time.RFC3339),
		"eventType":         "com.okta.telephony.provider",
		"eventTypeVersion":  "1.0",
		"contentType":       "application/json",
		"cloudEventVersion": "0.1",
		"requestType":       "com.okta.user.telephony.pre-enrollment",
		"data": obj{
			"context": obj{"request": obj{
				"id": "setup-preview", "method": "POST", "ipAddress": "127.0.0.1",
				"url": obj{"value": "/api/internal/v1/inlineHooks/com.okta.telephony.provider/generatePreview"},
			}},
			"userProfile": obj{"firstName": "test", "lastName": "user", "login": "test.user@okta.com", "userId": "00usetuppreview"},
			"messageProfile": obj{
				"msgTemplate": "(HOOK)Your code is 11111", "phoneNumber": placeholderPhone, "otpCode": "11111",
				"otpExpires": now.Add(5 * time.Minute).Format(time.RFC3339), "deliveryChannel": "SMS", "locale": "EN-US",
			},
		},
	})
	return b
}
