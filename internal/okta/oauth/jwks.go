package oauth

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/time/rate"
)

const (
	// fetchTimeout bounds one JWKS request; it sits under the hook deadline
	// so a hung endpoint cannot hold anything for long.
	fetchTimeout = 2 * time.Second
	// maxJWKSBytes: Okta's key sets are a few KiB.
	maxJWKSBytes = 1 << 20
	// minRSABits: Okta signs with 2048-bit keys; anything weaker is refused.
	minRSABits = 2048
)

// keyCache is the jwkset.Storage keyfunc reads: an in-memory key set that
// is replaced whole by each successful fetch (so revoked keys go), kept
// as-is when a fetch fails, and refreshed on an unknown kid at most once
// per limiter period.
type keyCache struct {
	*jwkset.MemoryJWKSet

	url     string
	client  *http.Client
	logger  *slog.Logger
	now     func() time.Time
	limiter *rate.Limiter // unknown-kid refreshes, on the injected clock

	loaded atomic.Bool // a key set has been stored at least once

	ctx    context.Context // lives until Close; parent of every fetch after New
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	flight *flight // the fetch in progress, shared by everyone who needs it
	closed bool
	kids   []string // key ids of the last set stored, to log rotations
}

type flight struct {
	done chan struct{}
	err  error
}

// KeyRead is what keyfunc calls for a token's kid. A known kid never waits
// on the network; an unknown one triggers (or joins) a refresh, waiting no
// longer than ctx allows.
func (c *keyCache) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	jwk, err := c.MemoryJWKSet.KeyRead(ctx, kid)
	if !errors.Is(err, jwkset.ErrKeyNotFound) {
		return jwk, err
	}
	if err := c.refresh(ctx, true); err == nil {
		jwk, err = c.MemoryJWKSet.KeyRead(ctx, kid)
		if !errors.Is(err, jwkset.ErrKeyNotFound) {
			return jwk, err
		}
	}
	if !c.loaded.Load() {
		return jwkset.JWK{}, errNoKeys
	}
	return jwkset.JWK{}, errUnknownKey
}

var errRateLimited = errors.New("jwks refresh rate limited")

// refresh starts a fetch, or joins the one in flight, and waits for it
// until ctx ends. The fetch itself runs under c.ctx and fetchTimeout, not
// under ctx, so a request giving up early still leaves the result in the
// cache for the next one. rateLimited applies the unknown-kid limiter to
// starting a new fetch (joining one in flight is free).
func (c *keyCache) refresh(ctx context.Context, rateLimited bool) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errors.New("verifier closed")
	}
	f := c.flight
	if f == nil {
		if rateLimited && !c.limiter.AllowN(c.now(), 1) {
			c.mu.Unlock()
			return errRateLimited
		}
		f = &flight{done: make(chan struct{})}
		c.flight = f
		c.wg.Go(func() {
			fctx, cancel := context.WithTimeout(c.ctx, fetchTimeout)
			err := c.fetch(fctx)
			cancel()
			c.mu.Lock()
			f.err = err
			c.flight = nil
			c.mu.Unlock()
			close(f.done)
		})
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch loads the key set once and stores it if it holds at least one
// usable key; on any failure the cached set stays in use.
func (c *keyCache) fetch(ctx context.Context) error {
	err := c.fetchOnce(ctx)
	if err != nil {
		level := slog.LevelWarn
		msg := "okta oauth: JWKS fetch failed; cached keys stay in use"
		if !c.loaded.Load() {
			level = slog.LevelError
			msg = "okta oauth: JWKS fetch failed and no key set was ever loaded; every OAuth request is refused (401) until one is"
		}
		c.logger.Log(context.Background(), level, msg, "jwks_url", c.url, "error", err)
	}
	return err
}

func (c *keyCache) fetchOnce(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	var set jwkset.JWKSMarshal
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&set); err != nil {
		return fmt.Errorf("decoding key set: %w", err)
	}
	keys := make([]jwkset.JWK, 0, len(set.Keys))
	kids := make([]string, 0, len(set.Keys))
	skipped := 0
	for _, m := range set.Keys {
		k, ok := usableKey(m)
		if !ok {
			skipped++
			continue
		}
		keys = append(keys, k)
		kids = append(kids, m.KID)
	}
	if len(keys) == 0 {
		// An empty set would lock every caller out; keep the old one.
		return fmt.Errorf("key set holds no usable RS256 signing key (%d skipped)", skipped)
	}
	if err := c.MemoryJWKSet.KeyReplaceAll(ctx, keys); err != nil {
		return err
	}
	first := !c.loaded.Swap(true)
	slices.Sort(kids)
	c.mu.Lock()
	changed := !slices.Equal(kids, c.kids)
	c.kids = kids
	c.mu.Unlock()
	switch {
	case first:
		c.logger.Info("okta oauth: JWKS loaded", "jwks_url", c.url, "kids", kids, "skipped", skipped)
	case changed:
		c.logger.Info("okta oauth: JWKS keys changed", "jwks_url", c.url, "kids", kids, "skipped", skipped)
	default:
		c.logger.Debug("okta oauth: JWKS refreshed", "jwks_url", c.url, "keys", len(kids))
	}
	return nil
}

// usableKey keeps only what may verify an Okta access token: an RSA public
// key of at least 2048 bits, for signatures, with a kid, and RS256 if the
// JWK names an algorithm. Anything else in the set is ignored rather than
// failing the whole set.
func usableKey(m jwkset.JWKMarshal) (jwkset.JWK, bool) {
	if m.KTY != jwkset.KtyRSA || m.KID == "" {
		return jwkset.JWK{}, false
	}
	if m.USE != "" && m.USE != jwkset.UseSig {
		return jwkset.JWK{}, false
	}
	if m.ALG != "" && m.ALG != jwkset.AlgRS256 {
		return jwkset.JWK{}, false
	}
	// Private material, if any, is dropped: only the public key is kept.
	m.D, m.P, m.Q, m.DP, m.DQ, m.QI, m.OTH = "", "", "", "", "", "", nil
	k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return jwkset.JWK{}, false
	}
	pub, ok := k.Key().(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < minRSABits || pub.E < 3 || pub.E%2 == 0 {
		return jwkset.JWK{}, false
	}
	return k, true
}

// backgroundRefresh keeps the set fresh without any request waiting on it:
// every interval while the last fetch worked, every retry while it fails.
func (c *keyCache) backgroundRefresh(interval, retry time.Duration) {
	next := interval
	if !c.loaded.Load() {
		next = retry
	}
	t := time.NewTimer(next)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		next = interval
		if err := c.refresh(c.ctx, false); err != nil {
			next = retry
		}
		t.Reset(next)
	}
}

func (c *keyCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}
