// Command cardfloor is the cold start's floor: a binary that
// links only the design card's packages, the Functions Framework, Secret
// Manager's client and Cloud Logging's client, plus libphonenumber, so
// that they are linked and initialised as in the hook, registers a
// trivial handler with the Functions Framework (FUNCTION_TARGET=CardFloor)
// and starts it as the buildpack's main does. Its handler answers every
// request with a fixed SUCCESSFUL command: what it costs to be up is all
// it measures. BenchmarkColdStart times exec → first answer of it against
// the hook's buildpack main.
package main

import (
	"log"
	"net/http"
	"os"

	"cloud.google.com/go/logging"
	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/nyaruka/phonenumbers"
)

// linked keeps what the hook calls of each package in the binary: a
// blank import alone would let the linker drop the clients.
var linked = []any{secretmanager.NewClient, logging.NewClient, phonenumbers.Parse}

var answer = []byte(`{"commands":[{"type":"com.okta.telephony.action","value":[{"status":"SUCCESSFUL","provider":"8x8","transactionId":"card-floor","transactionMetadata":"voice"}]}]}`)

func init() {
	functions.HTTP("CardFloor", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
}

func main() {
	_ = linked
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("Function failed to start: %v\n", err)
	}
}
