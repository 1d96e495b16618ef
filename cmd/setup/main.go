// Command setup takes an empty Google Cloud project and Okta org to a
// deployed, verified hook (docs/admin-guide.md):
//
//	go run ./cmd/setup -project P -region R -account A -subaccount S -source-number N [-redis] [-oauth] [-alert-email E] [-replace-okta-hook] [-plan]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := setup.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
}
