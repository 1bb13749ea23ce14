package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsForm rewrites a JSON value as JavaScript's JSON.stringify(JSON.parse(raw)) writes it: compact;
// object keys in JavaScript's property order (array-index keys ascending, then the others as they
// came; a repeated key keeps its first place and its last value); numbers as JavaScript prints a
// double (1.0 is 1, 1e3 is 1000, a number too large for a double is null); strings with only the
// escapes JSON.stringify makes. Metadata is stored in this form, so that it reads the same from the
// API and inside a webhook's body, whose bytes a receiver may re-serialize before checking the
// signature. A string that JavaScript would hold as a lone UTF-16 surrogate is refused.
func jsForm(raw []byte) ([]byte, error) {
	if err := checkUnicode(raw); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := jsValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("more than one JSON value")
	}
	var b bytes.Buffer
	if err := v.write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// webhookMetadata is metadata as a webhook carries it: in jsForm, so that a receiver that
// re-serializes the parsed body before checking the signature gets the bytes signed (the API
// returns it exactly as sent); nil when there is none.
func webhookMetadata(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	js, err := jsForm(raw)
	if err != nil { // refused at creation: never stored
		return nil
	}
	return js
}

// jsNode is a parsed JSON value that keeps the order of an object's keys.
type jsNode struct {
	kind   byte // '{', '[', '"', 'n' (number), 'l' (literal)
	text   string
	keys   []string
	values []*jsNode
}

func jsValue(dec *json.Decoder) (*jsNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &jsNode{kind: byte(t)}
		for dec.More() {
			key := ""
			if n.kind == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key = k.(string)
			}
			v, err := jsValue(dec)
			if err != nil {
				return nil, err
			}
			if i := slices.Index(n.keys, key); n.kind == '{' && i >= 0 {
				n.values[i] = v // JSON.parse: the last value, in the first one's place
				continue
			}
			n.keys, n.values = append(n.keys, key), append(n.values, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		if n.kind == '{' {
			n.order()
		}
		return n, nil
	case string:
		return &jsNode{kind: '"', text: t}, nil
	case json.Number:
		return &jsNode{kind: 'n', text: jsNumber(string(t))}, nil
	case bool:
		return &jsNode{kind: 'l', text: strconv.FormatBool(t)}, nil
	case nil:
		return &jsNode{kind: 'l', text: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// order puts array-index keys ("0" to "4294967294", written canonically) first, ascending, as
// JavaScript orders an object's properties.
func (n *jsNode) order() {
	idx := make([]int, len(n.keys))
	for i := range idx {
		idx[i] = i
	}
	index := func(k string) (uint64, bool) {
		v, err := strconv.ParseUint(k, 10, 32)
		return v, err == nil && v < math.MaxUint32 && strconv.FormatUint(v, 10) == k
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		va, ia := index(n.keys[a])
		vb, ib := index(n.keys[b])
		switch {
		case ia && ib:
			return int(int64(va) - int64(vb))
		case ia:
			return -1
		case ib:
			return 1
		}
		return 0
	})
	keys, values := make([]string, len(idx)), make([]*jsNode, len(idx))
	for i, j := range idx {
		keys[i], values[i] = n.keys[j], n.values[j]
	}
	n.keys, n.values = keys, values
}

// jsNumber is how JavaScript prints the double a JSON number parses to.
func jsNumber(text string) string {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) { // out of a double's range: Infinity, which JSON.stringify writes as null
		return "null"
	}
	if f == 0 {
		return "0" // -0 too
	}
	// encoding/json formats a float64 as ECMAScript's Number::toString does.
	out, _ := json.Marshal(f)
	return string(out)
}

func (n *jsNode) write(b *bytes.Buffer) error {
	switch n.kind {
	case '{', '[':
		b.WriteByte(n.kind)
		for i, v := range n.values {
			if i > 0 {
				b.WriteByte(',')
			}
			if n.kind == '{' {
				if err := jsString(b, n.keys[i]); err != nil {
					return err
				}
				b.WriteByte(':')
			}
			if err := v.write(b); err != nil {
				return err
			}
		}
		if n.kind == '{' {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
		return nil
	case '"':
		return jsString(b, n.text)
	}
	b.WriteString(n.text)
	return nil
}

// jsString writes a string with JSON.stringify's escapes: the quote, the backslash, and control
// characters (\b \f \n \r \t, the others as \u00xx); everything else as it is.
func jsString(b *bytes.Buffer, s string) error {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return nil
}

// checkUnicode refuses JSON text that JavaScript and Go would read differently: invalid UTF-8, and
// a \u escape of a lone UTF-16 surrogate (Go reads both as U+FFFD; JavaScript keeps the surrogate).
func checkUnicode(raw []byte) error {
	if !utf8.Valid(raw) {
		return errors.New("not valid UTF-8 text")
	}
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		return rune(v), err == nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // an escaped character: skip it (it may be a backslash)
			continue
		}
		if utf16.IsSurrogate(r) {
			low, ok := hex4(i + 6)
			if r >= 0xdc00 || !ok || low < 0xdc00 || low > 0xdfff {
				return errors.New("a string holds a lone UTF-16 surrogate")
			}
			i += 6
		}
		i += 5
	}
	return nil
}
