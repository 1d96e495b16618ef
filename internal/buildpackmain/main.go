// Command buildpackmain is the main Google's Go buildpack generates for a
// declaratively registered function (GoogleCloudPlatform/buildpacks,
// cmd/go/functions_framework, the declarative template): it blank-imports
// the function's package, whose init registers OktaTelephonyHook, and
// calls funcframework.Start, a bare http.ListenAndServe with no timeouts
// and no graceful shutdown. Cloud Run runs exactly this; the SIGTERM and
// stdout tests run it to prove the function package drains and survives
// by itself, whatever main serves it.
package main

import (
	"log"
	"net/http"
	"os"

	_ "github.com/telephony-hooks/okta-8x8"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	http.HandleFunc("/robots.txt", http.NotFound)
	http.HandleFunc("/favicon.ico", http.NotFound)

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("Function failed to start: %v\n", err)
	}
}
