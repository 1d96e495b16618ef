package logtest

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
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

// digitRuns is the set of maximal digit runs in s, each also with the
// digits after a leading country code cut off (a "+14155550123" in a log
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
		run := s[i:j]
		runs[run] = true
		for _, k := range []int{10, 9} {
			if len(run) > k {
				runs[run[len(run)-k:]] = true
			}
		}
		i = j
	}
	return runs
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
