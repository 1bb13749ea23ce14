package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress shows a count as it grows, on one line of a terminal, at most every 200 ms; on
// anything else (a file, a pipe, a test's buffer) it shows nothing, so logs stay clean.
type progress struct {
	w     io.Writer // nil: not a terminal
	what  string
	last  time.Time
	n     int
	shown bool
	now   func() time.Time
}

func terminalProgress(w io.Writer, what string) *progress {
	p := &progress{what: what, now: time.Now}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.w = f
		}
	}
	return p
}

func (p *progress) update(n int) {
	p.n = n
	if p.w == nil || p.now().Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last, p.shown = p.now(), true
	fmt.Fprintf(p.w, "\r%d %s…", n, p.what)
}

// done ends the line, with the final count, if anything was shown.
func (p *progress) done() {
	if p.shown {
		fmt.Fprintf(p.w, "\r%d %s.\n", p.n, p.what)
	}
}
