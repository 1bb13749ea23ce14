package main

import (
	"io"
	"log/slog"
	"strings"
)

// sensitive lists fragments of attribute keys whose values are never logged.
var sensitive = []string{"secret", "password", "mnemonic", "seed", "master_key", "authorization", "api_key", "apikey", "signature", "token"}

// redact is a slog ReplaceAttr that hides the value of any attribute whose key names a secret.
func redact(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, s := range sensitive {
		if strings.Contains(k, s) {
			return slog.String(a.Key, "[REDACTED]")
		}
	}
	return a
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: redact}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
