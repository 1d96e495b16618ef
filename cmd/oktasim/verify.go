package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/telephony-hooks/okta-8x8/internal/phone"
)

// destination is one seed number of -phone: requests cycle through them,
// each deriving its own numbers from its seed.
type destination struct {
	seed string
	// country is the seed's ISO 3166 region as the hook reads it
	// (libphonenumber, DEFAULT_REGION US for numbers without "+"); "" when
	// the seed is not a valid number (Okta's preview placeholder).
	country string
}

// label names the country in the summary.
func (d destination) label() string {
	if d.country == "" {
		return "??"
	}
	return d.country
}

// parseDestinations splits -phone's comma-separated seeds.
func parseDestinations(s string) ([]destination, error) {
	p, err := phone.NewParser("US")
	if err != nil {
		return nil, err
	}
	var out []destination
	for i, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return nil, fmt.Errorf("-phone: number %d of the list is empty", i+1)
		}
		d := destination{seed: raw}
		if n, err := p.Parse(raw); err == nil {
			d.country = n.Region()
		}
		out = append(out, d)
	}
	if len(out) > maxDestinations {
		return nil, fmt.Errorf("-phone lists %d numbers; at most %d", len(out), maxDestinations)
	}
	return out, nil
}

// maxDestinations keeps the destination index within the two digits it
// has in the simulated user ids.
const maxDestinations = 99

// rates is -verify-rate: the probability that a user types in a code sent
// to a country.
type rates struct {
	byCountry map[string]float64
	other     float64 // "*"
	hasOther  bool
	spec      string // as given, for the summary
}

// parseRates reads "US=0.9,LV=0,*=0.8".
func parseRates(s string) (rates, error) {
	r := rates{byCountry: map[string]float64{}, spec: s}
	if strings.TrimSpace(s) == "" {
		return r, fmt.Errorf("-verify-rate is empty (want e.g. US=0.9,LV=0,*=0.8)")
	}
	for _, item := range strings.Split(s, ",") {
		key, val, ok := strings.Cut(item, "=")
		key, val = strings.ToUpper(strings.TrimSpace(key)), strings.TrimSpace(val)
		if !ok || key == "" || val == "" {
			return r, fmt.Errorf("-verify-rate: %q is not COUNTRY=RATE (e.g. US=0.9, or *=0.8 for the rest)", strings.TrimSpace(item))
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || !(v >= 0 && v <= 1) {
			return r, fmt.Errorf("-verify-rate: the rate for %s must be a number from 0 to 1, not %q", key, val)
		}
		if key == "*" {
			if r.hasOther {
				return r, fmt.Errorf("-verify-rate: * is given twice")
			}
			r.other, r.hasOther = v, true
			continue
		}
		if len(key) != 2 || phonenumbers.GetCountryCodeForRegion(key) == 0 {
			return r, fmt.Errorf("-verify-rate: %q is not an ISO 3166 region code libphonenumber knows (e.g. US, LV)", key)
		}
		if _, dup := r.byCountry[key]; dup {
			return r, fmt.Errorf("-verify-rate: %s is given twice", key)
		}
		r.byCountry[key] = v
	}
	return r, nil
}

// of is the rate for a country, and whether -verify-rate gives one.
func (r rates) of(country string) (float64, bool) {
	if v, ok := r.byCountry[country]; ok {
		return v, true
	}
	return r.other, r.hasOther
}

// Streams of draws: each decision has its own, so adding one (mistyping)
// does not change another (verifying) for the same seed. draw spaces
// requests four streams apart.
const (
	streamVerify uint64 = iota + 1
	streamMistype
	streamFailover
	streamDeny
)

// draw is a number in [0, 1) that depends only on the seed, the request's
// index and the stream: a run is reproducible with -seed whatever order
// the concurrent requests finish in. It is SplitMix64 (Steele, Lea and
// Flood 2014), a counter-based generator made for exactly this.
func draw(seed uint64, i int, stream uint64) float64 {
	z := seed + (uint64(i)*4+stream)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// chosen reports whether a draw falls within a probability: never for 0,
// always for 1.
func chosen(seed uint64, i int, stream uint64, p float64) bool {
	return draw(seed, i, stream) < p
}
