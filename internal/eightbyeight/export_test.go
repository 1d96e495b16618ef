package eightbyeight

import (
	"context"
	"time"
)

// SetSleep replaces the client's waits between attempts, so tests observe
// them instead of spending them.
func SetSleep(c *Client, f func(ctx context.Context, d time.Duration) error) { c.sleep = f }
