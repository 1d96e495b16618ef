package secrets

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Default backoff: a cold start has a few seconds at most, so start small.
const (
	DefaultBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff = 2 * time.Second
)

// Resolver replaces Secret Manager references in configuration values with
// the secrets they name.
type Resolver struct {
	Accessor Accessor
	// Backoff is the delay before the first retry of a transient error,
	// doubled per attempt up to MaxBackoff, each with jitter. Zero means
	// DefaultBackoff / DefaultMaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// Resolve is Resolver{Accessor: a}.Resolve with the default backoff.
func Resolve(ctx context.Context, a Accessor, values map[string]string) (map[string]string, error) {
	return Resolver{Accessor: a}.Resolve(ctx, values)
}

// Resolve returns a copy of values in which every reference (see
// ParseReference) is replaced by its secret payload, trailing newlines
// trimmed (gcloud secrets create --data-file=- from echo adds one). Distinct
// references are read in parallel, each once however many keys use it.
// Transient errors are retried until ctx ends, so ctx bounds the whole
// resolution. On failure the error is a *ResolveError naming every failing
// key; no secret value is ever part of it.
func (r Resolver) Resolve(ctx context.Context, values map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(values))
	keysByName := map[string][]string{}
	var failures []Failure
	for k, v := range values {
		name, ok, err := ParseReference(v)
		switch {
		case err != nil:
			failures = append(failures, Failure{Key: k, Code: codes.InvalidArgument, Err: err})
		case ok:
			keysByName[name] = append(keysByName[name], k)
		default:
			out[k] = v
		}
	}

	results := make(map[string]result, len(keysByName))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name := range keysByName {
		wg.Go(func() {
			p, n, err := r.fetch(ctx, name)
			mu.Lock()
			results[name] = result{p, n, err}
			mu.Unlock()
		})
	}
	wg.Wait()

	for name, keys := range keysByName {
		res := results[name]
		for _, k := range keys {
			if res.err != nil {
				failures = append(failures, Failure{Key: k, Reference: name, Code: codeOf(res.err), Attempts: res.attempts, Err: res.err})
				continue
			}
			out[k] = strings.TrimRight(string(res.payload), "\r\n")
		}
	}
	if len(failures) > 0 {
		slices.SortFunc(failures, func(a, b Failure) int { return strings.Compare(a.Key, b.Key) })
		return nil, &ResolveError{Failures: failures}
	}
	return out, nil
}

// fetch reads one secret version, retrying transient errors with exponential
// backoff and full jitter until ctx ends.
func (r Resolver) fetch(ctx context.Context, name string) (payload []byte, attempts int, err error) {
	delay, ceiling := r.Backoff, r.MaxBackoff
	if delay <= 0 {
		delay = DefaultBackoff
	}
	if ceiling <= 0 {
		ceiling = max(DefaultMaxBackoff, delay)
	}
	var last error // last failure seen while ctx was still live: says why we kept trying
	for attempts = 1; ; attempts++ {
		p, err := r.Accessor.Access(ctx, name)
		if err == nil {
			return p, attempts, nil
		}
		if !transient(codeOf(err)) {
			return nil, attempts, err
		}
		if ctx.Err() != nil {
			return nil, attempts, &gaveUpError{last: last, ctxErr: ctx.Err()}
		}
		// An RPC cut by the caller's deadline can report DeadlineExceeded a
		// moment before ctx.Err() says so; keep the code we were retrying.
		if last == nil || codeOf(err) != codes.DeadlineExceeded {
			last = err
		}
		t := time.NewTimer(rand.N(delay) + 1)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, attempts, &gaveUpError{last: last, ctxErr: ctx.Err()}
		case <-t.C:
		}
		delay = min(2*delay, ceiling)
	}
}

// gaveUpError is a fetch that ran out of time: it keeps the failure that made
// us retry (the useful part in a log) and the context's reason.
type gaveUpError struct {
	last   error // nil if ctx ended during the first attempt
	ctxErr error
}

func (e *gaveUpError) Error() string {
	if e.last == nil {
		return e.ctxErr.Error()
	}
	return e.last.Error() + "; gave up: " + e.ctxErr.Error()
}

func (e *gaveUpError) Unwrap() []error {
	if e.last == nil {
		return []error{e.ctxErr}
	}
	return []error{e.last, e.ctxErr}
}

func transient(c codes.Code) bool {
	switch c {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Internal, codes.Aborted:
		return true
	}
	return false
}

// codeOf maps an Accessor error to a gRPC code; non-gRPC errors (a
// checksum mismatch, a test fake's plain error) are Unknown, so permanent.
func codeOf(err error) codes.Code {
	if ge, ok := errors.AsType[*gaveUpError](err); ok {
		if ge.last != nil {
			return codeOf(ge.last)
		}
		return status.FromContextError(ge.ctxErr).Code()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return status.FromContextError(err).Code()
	}
	return status.Code(err)
}

type result struct {
	payload  []byte
	attempts int
	err      error
}

// Failure is one key whose reference could not be resolved.
type Failure struct {
	Key       string
	Reference string     // canonical resource name; empty if the value was a malformed reference
	Code      codes.Code // gRPC code; for a run out of time, the code that was being retried
	Attempts  int
	// Err is the underlying error (Secret Manager's, a context error,
	// ErrChecksum or a parse error); none of them carries a payload.
	Err error
}

func (f Failure) String() string {
	var b strings.Builder
	b.WriteString(f.Key)
	if f.Reference != "" {
		b.WriteString(" (" + f.Reference + ")")
	}
	b.WriteString(": ")
	ge, gaveUp := errors.AsType[*gaveUpError](f.Err)
	switch {
	case f.Reference == "":
		b.WriteString(f.Err.Error()) // parse errors never repeat the value
	case errors.Is(f.Err, ErrChecksum):
		b.WriteString("checksum mismatch")
	case gaveUp && ge.last != nil:
		b.WriteString(f.Code.String() + " after " + strconv.Itoa(f.Attempts) + " attempts; gave up: " + ge.ctxErr.Error())
	default:
		b.WriteString(f.Code.String())
	}
	return b.String()
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

// Unwrap exposes the underlying errors to errors.Is / errors.As (for example
// context.DeadlineExceeded or ErrChecksum).
func (e *ResolveError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}
