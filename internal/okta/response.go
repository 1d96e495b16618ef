package okta

import (
	"encoding/json"

	"github.com/telephony-hooks/okta-8x8/internal/jsonstr"
)

// Status is the delivery status Okta accepts in a command.
type Status string

const (
	// Successful: the provider accepted the code for delivery.
	Successful Status = "SUCCESSFUL"
	// Pending: the request may have reached the provider but its answer did
	// not come in time. Okta does not send a second code.
	Pending Status = "PENDING"
	// Failed: the provider did not take it; Okta falls back to its own.
	Failed Status = "FAILED"
)

// ActionType is the only command type of the telephony hook.
const ActionType = "com.okta.telephony.action"

// Provider is what the hook reports as provider.
const Provider = "8x8"

// Result is one telephony action result.
type Result struct {
	Status              Status `json:"status"`
	Provider            string `json:"provider,omitempty"`
	TransactionID       string `json:"transactionId,omitempty"`
	TransactionMetadata string `json:"transactionMetadata,omitempty"`
}

type command struct {
	Type  string   `json:"type"`
	Value []Result `json:"value"`
}

// CommandResponse is the answer when the hook handled delivery.
type CommandResponse struct {
	Commands []command `json:"commands"`
}

// ErrorCause names one reason for an error answer (for the admin; Okta's
// System Log shows it).
type ErrorCause struct {
	ErrorSummary string `json:"errorSummary"`
	Reason       string `json:"reason,omitempty"`
	LocationType string `json:"locationType,omitempty"`
	Location     string `json:"location,omitempty"`
	Domain       string `json:"domain,omitempty"`
}

// ErrorBody is Okta's error object. Okta shows errorSummary to the end user.
type ErrorBody struct {
	ErrorSummary string       `json:"errorSummary"`
	ErrorCauses  []ErrorCause `json:"errorCauses,omitempty"`
}

// ErrorResponse is an error answer.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// Command builds the answer for a delivery outcome.
func Command(r Result) CommandResponse {
	return CommandResponse{Commands: []command{{Type: ActionType, Value: []Result{r}}}}
}

// Error builds an error answer.
func Error(summary string, causes ...ErrorCause) ErrorResponse {
	return ErrorResponse{Error: ErrorBody{ErrorSummary: summary, ErrorCauses: causes}}
}

// Marshal encodes an answer. The types here cannot fail to encode. The
// two answers of the hook are written by hand, byte for byte what
// encoding/json writes, without its reflection on every request.
func Marshal(v any) []byte {
	switch a := v.(type) {
	case CommandResponse:
		return appendCommandResponse(make([]byte, 0, 192), a)
	case ErrorResponse:
		return appendErrorResponse(make([]byte, 0, 256), a)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("okta: answer does not encode: " + err.Error())
	}
	return b
}

func appendCommandResponse(b []byte, r CommandResponse) []byte {
	b = append(b, `{"commands":`...)
	if r.Commands == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, c := range r.Commands {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b = jsonstr.Append(b, c.Type)
			b = append(b, `,"value":`...)
			if c.Value == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, '[')
				for j, v := range c.Value {
					if j > 0 {
						b = append(b, ',')
					}
					b = appendResult(b, v)
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendResult(b []byte, r Result) []byte {
	b = append(b, `{"status":`...)
	b = jsonstr.Append(b, string(r.Status))
	b = appendOmitEmpty(b, `,"provider":`, r.Provider)
	b = appendOmitEmpty(b, `,"transactionId":`, r.TransactionID)
	b = appendOmitEmpty(b, `,"transactionMetadata":`, r.TransactionMetadata)
	return append(b, '}')
}

func appendErrorResponse(b []byte, r ErrorResponse) []byte {
	b = append(b, `{"error":{"errorSummary":`...)
	b = jsonstr.Append(b, r.Error.ErrorSummary)
	if len(r.Error.ErrorCauses) > 0 {
		b = append(b, `,"errorCauses":[`...)
		for i, c := range r.Error.ErrorCauses {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"errorSummary":`...)
			b = jsonstr.Append(b, c.ErrorSummary)
			b = appendOmitEmpty(b, `,"reason":`, c.Reason)
			b = appendOmitEmpty(b, `,"locationType":`, c.LocationType)
			b = appendOmitEmpty(b, `,"location":`, c.Location)
			b = appendOmitEmpty(b, `,"domain":`, c.Domain)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "}}"...)
}

func appendOmitEmpty(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return jsonstr.Append(append(b, key...), v)
}
