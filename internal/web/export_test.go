package web

import (
	"maps"
	"slices"
)

// Groups is groups, for the tests of package web_test.
var Groups = groups

// CatalogKeys are a locale's message keys, sorted.
func CatalogKeys(l *Locale) []string { return slices.Sorted(maps.Keys(l.msgs)) }

// Message is a locale's own message of key, without the English fallback.
func Message(l *Locale, key string) (string, bool) {
	m, ok := l.msgs[key]
	return m, ok
}
