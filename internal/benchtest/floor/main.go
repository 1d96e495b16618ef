// Command floor serves benchtest.Floor on 127.0.0.1:$PORT, delivering to
// $EIGHTYEIGHTX_VOICE_URL: the process the hook's process is measured
// against (BenchmarkProcess).
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/telephony-hooks/okta-8x8/internal/benchtest"
)

func main() {
	h := benchtest.Floor(os.Getenv("EIGHTYEIGHTX_VOICE_URL"), os.Getenv("EIGHTYEIGHTX_SUBACCOUNT_ID"),
		os.Getenv("EIGHTYEIGHTX_API_KEY"), os.Getenv("EIGHTYEIGHTX_SOURCE_NUMBER"))
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
