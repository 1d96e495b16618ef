// Package secrets resolves Secret Manager references found in configuration
// values (DESIGN.md §1, "Configuration"): each distinct reference is read once
// per instance at cold start, in parallel, with retries on transient errors.
package secrets

import (
	"errors"
	"strings"
)

const (
	schemePrefix   = "sm://"
	resourcePrefix = "projects/"
	latestVersion  = "latest"
)

// ParseReference reports whether v is a Secret Manager reference and returns
// its canonical resource name, projects/P/secrets/S/versions/V. Accepted forms:
//
//	sm://PROJECT/SECRET            (version latest)
//	sm://PROJECT/SECRET#VERSION    (VERSION a number or "latest")
//	projects/PROJECT/secrets/SECRET/versions/VERSION
//
// A plain value gives ok=false and a nil error. A value that starts like a
// reference (sm://, or projects/P/secrets/...) but is malformed is an error;
// the error never repeats v, so it is safe to log even if a secret was pasted
// where a reference was meant.
func ParseReference(v string) (name string, ok bool, err error) {
	switch {
	case strings.HasPrefix(v, schemePrefix):
		name, err = parseScheme(strings.TrimPrefix(v, schemePrefix))
	case isResourceName(v):
		name, err = parseResource(v)
	default:
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return name, true, nil
}

// isResourceName keeps the "projects/" form from capturing plain values that
// merely start with that word: only projects/X/secrets/... is a reference.
func isResourceName(v string) bool {
	rest, found := strings.CutPrefix(v, resourcePrefix)
	if !found {
		return false
	}
	_, after, found := strings.Cut(rest, "/")
	return found && strings.HasPrefix(after, "secrets/")
}

func parseScheme(rest string) (string, error) {
	path, version, hasVersion := strings.Cut(rest, "#")
	if hasVersion && version == "" {
		return "", errors.New("invalid secret reference: empty version after #")
	}
	if !hasVersion {
		version = latestVersion
	}
	project, secret, found := strings.Cut(path, "/")
	if !found {
		return "", errors.New("invalid secret reference: want sm://PROJECT/SECRET[#VERSION]")
	}
	return canonical(project, secret, version)
}

func parseResource(v string) (string, error) {
	parts := strings.Split(v, "/")
	if len(parts) != 6 || parts[2] != "secrets" || parts[4] != "versions" {
		return "", errors.New("invalid secret reference: want projects/PROJECT/secrets/SECRET/versions/VERSION")
	}
	return canonical(parts[1], parts[3], parts[5])
}

func canonical(project, secret, version string) (string, error) {
	if !validProject(project) {
		return "", errors.New("invalid secret reference: bad project id")
	}
	if !validSecret(secret) {
		return "", errors.New("invalid secret reference: bad secret id")
	}
	if !validVersion(version) {
		return "", errors.New(`invalid secret reference: version must be a number or "latest"`)
	}
	return "projects/" + project + "/secrets/" + secret + "/versions/" + version, nil
}

// validProject accepts project ids, project numbers and domain-scoped ids
// (example.com:my-project).
func validProject(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// validSecret follows Secret Manager's secret id rule: [A-Za-z0-9_-]{1,255}.
func validSecret(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validVersion accepts "latest" or a version number; versions start at 1.
func validVersion(s string) bool {
	if s == latestVersion {
		return true
	}
	if s == "" || len(s) > 19 || s[0] == '0' {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
