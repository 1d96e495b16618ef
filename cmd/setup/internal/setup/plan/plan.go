// Package plan is what every setup step says it will change (plan mode)
// or changed (apply): one line per resource, so the operator reads one
// list whichever system a step talks to.
package plan

import "fmt"

// Action is what happens to a resource.
type Action string

const (
	Create Action = "create"
	Update Action = "update"
	Check  Action = "check" // a read-only check that runs in apply (verify, execute)
)

// Change is one resource a step creates or updates. Detail never holds a
// secret value.
type Change struct {
	System   string // "gcp", "okta", "8x8", "monitoring"
	Action   Action
	Resource string // e.g. "secret okta-secret", "inline hook okta-8x8"
	Detail   string
}

func (c Change) String() string {
	s := fmt.Sprintf("%-10s %-6s %s", c.System, c.Action, c.Resource)
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// Mutations counts the changes that altered a resource (checks excluded).
func Mutations(cs []Change) int {
	n := 0
	for _, c := range cs {
		if c.Action != Check {
			n++
		}
	}
	return n
}
