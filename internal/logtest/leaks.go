package logtest

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// Leaks returns the needles found in logs: secrets anywhere, and numbers
// (one-time codes, phone numbers in their E.164, bare-digit and national
// forms) only as whole digit runs, so an id or a timestamp that happens
// to contain a code's digits is not a leak, and a test cannot flake on
// one.
func Leaks(logs string, secrets []string, numbers []string) []string {
	var found []string
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			found = append(found, fmt.Sprintf("secret %q", s))
		}
	}
	runs := digitRuns(logs)
	for _, n := range numbers {
		for _, form := range numberForms(n) {
			if len(form) >= 4 && runs[form] {
				found = append(found, fmt.Sprintf("number %q (as %q)", n, form))
				break
			}
		}
	}
	slices.Sort(found)
	return slices.Compact(found)
}

// numberForms are the ways a number can be written: as given, its digits
// alone, and, for a phone number, its national significant number (the
// last 9 or 10 digits).
func numberForms(n string) []string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, n)
	forms := []string{digits}
	for _, k := range []int{10, 9} {
		if len(digits) > k {
			forms = append(forms, digits[len(digits)-k:])
		}
	}
	return forms
}

// digitRuns is the set of maximal digit runs in s (also as people write
// them, with separators), each also with the digits after a leading
// country code cut off (a "+14155550123" in a log
// holds "4155550123" as much as "14155550123").
func digitRuns(s string) map[string]bool {
	runs := map[string]bool{}
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		addRun(runs, s[i:j])
		i = j
	}
	// Written for people: "(415) 555-0123", "+1 415-555-0123", and a code
	// spoken digit by digit, "4, 8, 2, 9, 1, 3" or "4、8、2、9、1、3". Digit groups joined by at
	// most two separators count as one run too. Not ".": a latency of
	// 482.913 ms is not the code 482913.
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		var b strings.Builder
		groups, j := 0, i
		for {
			k := j
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			b.WriteString(s[j:k])
			groups++
			sep := k
			for n := 0; n < 2 && sep < len(s); n++ {
				l := separatorLen(s, sep)
				if l == 0 {
					break
				}
				sep += l
			}
			if sep == k || sep >= len(s) || s[sep] < '0' || s[sep] > '9' {
				j = k
				break
			}
			j = sep
		}
		if groups > 1 {
			addRun(runs, b.String())
		}
		i = j
	}
	return runs
}

// separatorLen is what the scan counts as a separator inside a number:
// what redact.Text does, but "." and "/" (a latency of 482.913 ms is not
// the code 482913, nor a date a number).
func separatorLen(s string, i int) int {
	if s[i] == '.' || s[i] == '/' {
		return 0
	}
	return redact.SeparatorLen(s, i)
}

func addRun(runs map[string]bool, run string) {
	runs[run] = true
	for _, k := range []int{10, 9} {
		if len(run) > k {
			runs[run[len(run)-k:]] = true
		}
	}
}

// Suite collects every log line a test binary's scenarios write, for one
// leak scan when the binary's tests end. Its zero value is ready to use.
type Suite struct {
	all     Buffer
	writers atomic.Int64
}

// Tee is a log output for one scenario: what is written goes to own and
// to the suite.
func (s *Suite) Tee(own *Buffer) io.Writer {
	s.writers.Add(1)
	return tee{s, own}
}

type tee struct {
	s   *Suite
	own *Buffer
}

func (t tee) Write(p []byte) (int, error) {
	_, _ = t.s.all.Write(p)
	return t.own.Write(p)
}

// Write adds lines written elsewhere (a process's stdout) to the scan.
func (s *Suite) Write(p []byte) (int, error) { return s.all.Write(p) }

// Main runs the tests, then fails the run when the suite's logs hold any
// of the secrets or numbers, or when scenarios ran but wrote nothing (a
// scan of nothing proves nothing). Call it from TestMain.
func (s *Suite) Main(m *testing.M, secrets, numbers []string) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	logs := s.all.String()
	if leaks := Leaks(logs, secrets, numbers); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the logs of this suite contain secrets or personal data:\n  %s\n", strings.Join(leaks, "\n  "))
		return 1
	}
	if s.writers.Load() > 0 && logs == "" {
		fmt.Fprintln(os.Stderr, "FAIL: the scenarios ran but wrote no logs: the leak scan scanned nothing")
		return 1
	}
	return 0
}
