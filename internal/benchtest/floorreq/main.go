// Command floorreq serves benchtest.FloorReq, the floor of required
// work, on 127.0.0.1:$PORT, delivering to
// $EIGHTYEIGHTX_VOICE_URL and logging one JSON line per request to stdout:
// the process the hook's process is measured against (BenchmarkProcess,
// BenchmarkColdStart in the root package).
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/telephony-hooks/okta-8x8/internal/benchtest"
)

func main() {
	h := benchtest.FloorReq(benchtest.FloorConfig{
		VoiceURL:   os.Getenv("EIGHTYEIGHTX_VOICE_URL"),
		Subaccount: os.Getenv("EIGHTYEIGHTX_SUBACCOUNT_ID"),
		APIKey:     os.Getenv("EIGHTYEIGHTX_API_KEY"),
		CallerID:   os.Getenv("EIGHTYEIGHTX_SOURCE_NUMBER"),
		Log:        os.Stdout,
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
