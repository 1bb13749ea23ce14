package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// The payer pages speak the payer's language, from message catalogs a translator edits:
// locales/<tag>.json, one key to one message (fmt verbs with argument indexes, %[1]s, so a
// translation may reorder them). English is the source and the fallback.

//go:embed locales/*.json
var localeFiles embed.FS

// Locale is one language of the payer pages.
type Locale struct {
	Tag  string // en, zh, es, ru, pt
	Name string // the language's own name, for the switch
	msgs map[string]string
	// group and point are how the locale writes 1,234.5 for reading; times, its date layout.
	group, point string
	layout       string
}

// supported are the locales, English first (the fallback), in the switch's order.
var supported = []struct {
	tag          language.Tag
	group, point string
	layout       string
}{
	{language.English, ",", ".", "Jan 2, 2006, 15:04 UTC"},
	{language.Chinese, ",", ".", "2006年1月2日 15:04 UTC"},
	{language.Spanish, ".", ",", "2/1/2006, 15:04 UTC"},
	{language.Russian, "\u00a0", ",", "02.01.2006, 15:04 UTC"},
	{language.Portuguese, ".", ",", "02/01/2006, 15:04 UTC"},
}

var (
	locales     = loadLocales()
	localeByTag = map[string]*Locale{}
	matcher     language.Matcher
)

func init() {
	tags := make([]language.Tag, len(supported))
	for i, s := range supported {
		tags[i] = s.tag
		localeByTag[locales[i].Tag] = locales[i]
	}
	matcher = language.NewMatcher(tags)
}

func loadLocales() []*Locale {
	out := make([]*Locale, len(supported))
	for i, s := range supported {
		base, _ := s.tag.Base()
		raw, err := localeFiles.ReadFile("locales/" + base.String() + ".json")
		if err != nil {
			panic("web: no catalog for " + base.String())
		}
		l := &Locale{Tag: base.String(), group: s.group, point: s.point, layout: s.layout}
		if err := json.Unmarshal(raw, &l.msgs); err != nil {
			panic("web: catalog " + base.String() + ": " + err.Error())
		}
		l.Name = l.msgs["language"]
		out[i] = l
	}
	return out
}

// English is the fallback locale.
func English() *Locale { return locales[0] }

// Locales are the supported locales, in the switch's order.
func Locales() []*Locale { return locales }

// T is the message of key in the locale (the English one where the catalog lacks it), with args.
func (l *Locale) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		m, ok = locales[0].msgs[key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

// Amount writes a decimal amount ("1234.5") for reading in the locale ("1,234.5", "1.234,5",
// "1 234,5"). It is never what the payer sends: the amount to copy, the QR code and the wallet
// link keep the exact decimal.
func (l *Locale) Amount(s string) string {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return s
	}
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(l.group)
		}
		b.WriteRune(d)
	}
	if hasFrac {
		b.WriteString(l.point + frac)
	}
	return b.String()
}

// Time writes a time, in UTC, the locale's way.
func (l *Locale) Time(t time.Time) string { return t.UTC().Format(l.layout) }

// localeOf is the payer's language: ?lang= (the switch, remembered in a cookie), the cookie, the
// browser's Accept-Language; English otherwise.
func localeOf(w http.ResponseWriter, r *http.Request) *Locale {
	if l, ok := localeByTag[r.URL.Query().Get("lang")]; ok {
		if w != nil {
			http.SetCookie(w, &http.Cookie{Name: "lang", Value: l.Tag, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true,
				SameSite: http.SameSiteLaxMode})
		}
		return l
	}
	if c, err := r.Cookie("lang"); err == nil {
		if l, ok := localeByTag[c.Value]; ok {
			return l
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return locales[0]
	}
	if _, i, conf := matcher.Match(tags...); conf != language.No {
		return locales[i]
	}
	return locales[0]
}

// langLink is a locale in the switch: the same page in that language. The link keeps nothing else
// of the URL (the page never carries text from its URL).
type langLink struct {
	Tag, Name, Href string
	Current         bool
}

func langLinks(r *http.Request, current *Locale) []langLink {
	out := make([]langLink, 0, len(locales))
	for _, l := range locales {
		out = append(out, langLink{Tag: l.Tag, Name: l.Name, Href: r.URL.EscapedPath() + "?lang=" + l.Tag, Current: l == current})
	}
	return out
}
