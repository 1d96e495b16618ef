package monitoringfake

import (
	loggingpb "cloud.google.com/go/logging/apiv2/loggingpb"

	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Entry is a log entry as Cloud Logging's filters see it: the resource
// the line was written under and the line's JSON, whose special fields
// (severity, the trace) sit beside jsonPayload as the agent puts them.
type Entry map[string]any

// CloudRunEntry is how Cloud Run's agent stores one JSON line of the
// service's stdout.
func CloudRunEntry(service string, line []byte) (Entry, error) {
	var payload map[string]any
	if err := json.Unmarshal(line, &payload); err != nil {
		return nil, err
	}
	sev, _ := payload["severity"].(string)
	delete(payload, "severity")
	return Entry{
		"resource":    map[string]any{"type": "cloud_run_revision", "labels": map[string]any{"service_name": service}},
		"severity":    sev,
		"jsonPayload": payload,
	}, nil
}

// field looks up a dotted path ("jsonPayload.outcome").
func (e Entry) field(path string) (any, bool) {
	var v any = map[string]any(e)
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

var severities = []string{"DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"}

// Matches evaluates the part of the Logging query language the
// monitoring files use: comparisons (=, !=, :, >=, <=, >, <) of a field
// with a quoted or bare value, joined by AND or by spaces. Anything else
// (OR, NOT, parentheses, functions) is an error, so a filter this cannot
// read fails its test instead of passing it.
func Matches(filter string, e Entry) (bool, error) {
	terms, err := split(filter)
	if err != nil {
		return false, err
	}
	for _, t := range terms {
		ok, err := t.eval(e)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// Extract evaluates EXTRACT(field) on e.
func Extract(expr string, e Entry) (string, bool) {
	path, ok := strings.CutPrefix(expr, "EXTRACT(")
	if !ok || !strings.HasSuffix(path, ")") {
		return "", false
	}
	v, ok := e.field(strings.TrimSuffix(path, ")"))
	if !ok {
		return "", false
	}
	if s, isString := v.(string); isString {
		return s, true
	}
	return fmt.Sprint(v), true
}

type term struct{ path, op, value string }

func split(filter string) ([]term, error) {
	var terms []term
	rest := strings.TrimSpace(filter)
	for rest != "" {
		i := strings.IndexAny(rest, "=!:<>")
		if i <= 0 {
			return nil, fmt.Errorf("filter %q: cannot read %q", filter, rest)
		}
		path := strings.TrimSpace(rest[:i])
		if strings.ContainsAny(path, " ()") {
			return nil, fmt.Errorf("filter %q: unsupported expression %q", filter, path)
		}
		op := rest[i : i+1]
		if i+1 < len(rest) && rest[i+1] == '=' {
			op = rest[i : i+2]
		}
		rest = strings.TrimLeft(rest[i+len(op):], " ")
		var value string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				return nil, fmt.Errorf("filter %q: unterminated string", filter)
			}
			value, rest = rest[1:end+1], rest[end+2:]
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			value, rest = rest[:end], rest[end:]
		}
		terms = append(terms, term{path, op, value})
		rest = strings.TrimSpace(rest)
		if r, ok := strings.CutPrefix(rest, "AND "); ok {
			rest = r
		} else if strings.HasPrefix(rest, "OR ") || strings.HasPrefix(rest, "NOT ") {
			return nil, fmt.Errorf("filter %q: OR and NOT are not supported here", filter)
		}
	}
	return terms, nil
}

func (t term) eval(e Entry) (bool, error) {
	v, ok := e.field(t.path)
	if !ok {
		return t.op == "!=", nil
	}
	s, isString := v.(string)
	if !isString {
		s = fmt.Sprint(v)
	}
	if t.path == "severity" && t.op != ":" {
		have, want := slices.Index(severities, s), slices.Index(severities, t.value)
		if want < 0 {
			return false, fmt.Errorf("unknown severity %q", t.value)
		}
		return compare(have-want, t.op), nil
	}
	switch t.op {
	case "=":
		return s == t.value, nil
	case "!=":
		return s != t.value, nil
	case ":":
		return strings.Contains(s, t.value), nil
	}
	return compare(strings.Compare(s, t.value), t.op), nil
}

func compare(c int, op string) bool {
	switch op {
	case ">=":
		return c >= 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case "<":
		return c < 0
	case "=":
		return c == 0
	}
	return c != 0
}

// MetricResult is what a log-based metric makes of a set of entries.
type MetricResult struct {
	Matched int
	// Empty are the extractors (label keys, or "value") that found
	// nothing in any matched entry: a field the service no longer writes.
	Empty []string
}

// EvaluateMetric runs a metric's filter and extractors over entries.
func EvaluateMetric(m *loggingpb.LogMetric, entries []Entry) (MetricResult, error) {
	extractors := map[string]string{}
	if m.ValueExtractor != "" {
		extractors["value"] = m.ValueExtractor
	}
	for k, x := range m.LabelExtractors {
		extractors[k] = x
	}
	var r MetricResult
	found := map[string]bool{}
	for _, e := range entries {
		ok, err := Matches(m.Filter, e)
		if err != nil {
			return r, fmt.Errorf("metric %s: %w", m.Name, err)
		}
		if !ok {
			continue
		}
		r.Matched++
		for k, x := range extractors {
			if _, ok := Extract(x, e); ok {
				found[k] = true
			}
		}
	}
	for k := range extractors {
		if r.Matched > 0 && !found[k] {
			r.Empty = append(r.Empty, k+" "+extractors[k])
		}
	}
	slices.Sort(r.Empty)
	return r, nil
}
