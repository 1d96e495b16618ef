// Package secrets resolves Secret Manager references found in configuration
// values (DESIGN.md §1, "Configuration"): each distinct reference is read once
// per instance at cold start, in parallel, with retries on transient errors.
package secrets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"google.golang.org/grpc/status"
)

// The parts of a secret version's name: project ids, project numbers and
// domain-scoped ids (example.com:p); Secret Manager's secret id rule;
// "latest" or a version number (they start at 1).
const (
	projectID = `([a-z0-9.:-]{1,100})`
	secretID  = `([A-Za-z0-9_-]{1,255})`
	versionID = `(latest|[1-9][0-9]{0,18})`
)

var (
	schemeForm   = regexp.MustCompile(`^sm://` + projectID + `/` + secretID + `(?:#` + versionID + `)?$`)
	resourceForm = regexp.MustCompile(`^projects/` + projectID + `/secrets/` + secretID + `/versions/` + versionID + `$`)
)

// ParseReference reports whether v is a Secret Manager reference
// (sm://PROJECT/SECRET, latest version; sm://PROJECT/SECRET#VERSION;
// projects/PROJECT/secrets/SECRET/versions/VERSION) and returns its canonical
// name, projects/P/secrets/S/versions/V. A plain value gives ok=false and no
// error. One that starts like a reference but is malformed is an error that
// never repeats v: a secret pasted where a reference was meant stays unlogged.
func ParseReference(v string) (name string, ok bool, err error) {
	var m []string
	switch {
	case strings.HasPrefix(v, "sm://"):
		if m = schemeForm.FindStringSubmatch(v); m == nil {
			return "", false, errors.New(`invalid secret reference: want sm://PROJECT/SECRET or sm://PROJECT/SECRET#VERSION (a number or "latest")`)
		}
	case isResourceName(v):
		if m = resourceForm.FindStringSubmatch(v); m == nil {
			return "", false, errors.New(`invalid secret reference: want projects/PROJECT/secrets/SECRET/versions/VERSION (a number or "latest")`)
		}
	default:
		return "", false, nil
	}
	return "projects/" + m[1] + "/secrets/" + m[2] + "/versions/" + cmp.Or(m[3], "latest"), true, nil
}

// isResourceName: only projects/X/secrets/... is a reference attempt.
func isResourceName(v string) bool {
	parts := strings.SplitN(v, "/", 4)
	return len(parts) > 2 && parts[0] == "projects" && parts[2] == "secrets"
}

// Resolve returns a copy of values in which every reference (see
// ParseReference) is replaced by its secret payload, trailing newlines
// trimmed (gcloud secrets create --data-file=- from echo adds one). Distinct
// references are read in parallel, each once however many keys use it; the
// accessor retries transient errors within ctx. On failure the error is a
// *ResolveError naming every failing key; no secret value is ever part of it.
func Resolve(ctx context.Context, a Accessor, values map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(values))
	type read struct {
		keys    []string // every key naming this secret version
		payload []byte
		err     error
	}
	reads := map[string]*read{}
	var failures []Failure
	for k, v := range values {
		name, ok, err := ParseReference(v)
		switch {
		case err != nil:
			failures = append(failures, Failure{Key: k, Err: err})
		case ok:
			if reads[name] == nil {
				reads[name] = new(read)
			}
			reads[name].keys = append(reads[name].keys, k)
		default:
			out[k] = v
		}
	}

	var wg sync.WaitGroup
	for name, r := range reads {
		wg.Go(func() { r.payload, r.err = a.Access(ctx, name) })
	}
	wg.Wait()

	for name, r := range reads {
		for _, k := range r.keys {
			if r.err != nil {
				failures = append(failures, Failure{Key: k, Reference: name, Err: r.err})
				continue
			}
			out[k] = strings.TrimRight(string(r.payload), "\r\n")
		}
	}
	if len(failures) > 0 {
		slices.SortFunc(failures, func(a, b Failure) int { return strings.Compare(a.Key, b.Key) })
		return nil, &ResolveError{Failures: failures}
	}
	return out, nil
}

// Failure is one key whose reference could not be resolved. Err (Secret
// Manager's, a context's, ErrChecksum, a parse error) carries no payload.
type Failure struct {
	Key       string
	Reference string // canonical resource name; empty if the value was a malformed reference
	Err       error
}

func (f Failure) String() string {
	switch {
	case f.Reference == "":
		return f.Key + ": " + f.Err.Error() // parse errors never repeat the value
	case errors.Is(f.Err, ErrChecksum):
		return f.Key + " (" + f.Reference + "): checksum mismatch"
	}
	// A gRPC code; a context error's own code; Unknown for anything else.
	code := status.FromContextError(f.Err).Code()
	if st, ok := status.FromError(f.Err); ok {
		code = st.Code()
	}
	return f.Key + " (" + f.Reference + "): " + code.String()
}

// ResolveError lists every key that could not be resolved, sorted by key.
// Its message names keys, references and gRPC codes, never a value.
type ResolveError struct {
	Failures []Failure
}

func (e *ResolveError) Error() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = f.String()
	}
	return fmt.Sprintf("secrets: %d unresolved: %s", len(e.Failures), strings.Join(parts, "; "))
}

// Unwrap exposes context.DeadlineExceeded, ErrChecksum… to errors.Is.
func (e *ResolveError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}
