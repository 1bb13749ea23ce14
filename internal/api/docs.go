package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
)

// The API reference at /docs: rendered on the server from the OpenAPI document, so it is always
// the document the API serves, needs no script and loads nothing from another origin. Each
// operation has its parameters, body and answer fields, its error answers, and a request in curl,
// Node, Python and PHP built from the document's examples. ?q= narrows it to the operations whose
// text holds every word of the query.

// docsReference is the rendered model of the document, built once in New.
type docsReference struct {
	Title, Version, Description string
	Groups                      []*docsGroup
	// text is each operation's searchable text, lower case, by operation id.
	text map[string]string
}

type docsGroup struct {
	Tag        string
	Operations []*docsOperation
}

type docsOperation struct {
	ID, Method, Path, Summary, Description string
	Secret                                 bool
	Params, Body, Answer                   []docsField
	Status                                 string // the success status
	Errors                                 []docsError
	Examples                               []docsExample
}

type docsField struct {
	Name, In, Type, Description string
	Required                    bool
}

type docsError struct{ Status, Description string }

type docsExample struct{ Language, Code string }

// docsTags orders the reference: the flows a merchant builds first come first.
var docsTags = []string{"Orders", "Deposits", "Payment links", "Balances", "Webhooks", "Withdrawals", "Sweeps", "Wallets",
	"Address pool", "Transactions", "Project", "Chains", "Health"}

// buildReference reads the completed document into the reference's model; baseURL is where the
// examples send their requests.
func buildReference(oa *huma.OpenAPI, baseURL string) *docsReference {
	ref := &docsReference{Title: oa.Info.Title, Version: oa.Info.Version, Description: oa.Info.Description, text: map[string]string{}}
	groups := map[string]*docsGroup{}
	for path, item := range oa.Paths {
		for _, mo := range []struct {
			method string
			op     *huma.Operation
		}{{http.MethodGet, item.Get}, {http.MethodPost, item.Post}, {http.MethodPut, item.Put}, {http.MethodPatch, item.Patch}, {http.MethodDelete, item.Delete}} {
			if mo.op == nil {
				continue
			}
			op := describeOperation(oa, mo.method, path, mo.op, baseURL)
			tag := "Other"
			if len(mo.op.Tags) > 0 {
				tag = mo.op.Tags[0]
			}
			g := groups[tag]
			if g == nil {
				g = &docsGroup{Tag: tag}
				groups[tag] = g
			}
			g.Operations = append(g.Operations, op)
			var text strings.Builder
			for _, s := range []string{op.ID, op.Method, op.Path, op.Summary, op.Description, tag} {
				text.WriteString(s + " ")
			}
			for _, fields := range [][]docsField{op.Params, op.Body, op.Answer} {
				for _, f := range fields {
					text.WriteString(f.Name + " " + f.Description + " ")
				}
			}
			ref.text[op.ID] = strings.ToLower(text.String())
		}
	}
	for _, g := range groups {
		sort.Slice(g.Operations, func(i, j int) bool {
			a, b := g.Operations[i], g.Operations[j]
			if a.Path != b.Path {
				return a.Path < b.Path
			}
			return methodRank(a.Method) < methodRank(b.Method)
		})
		ref.Groups = append(ref.Groups, g)
	}
	sort.Slice(ref.Groups, func(i, j int) bool { return tagRank(ref.Groups[i].Tag) < tagRank(ref.Groups[j].Tag) })
	return ref
}

func tagRank(tag string) int {
	if i := slices.Index(docsTags, tag); i >= 0 {
		return i
	}
	return len(docsTags)
}

func methodRank(m string) int {
	return slices.Index([]string{http.MethodPost, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete}, m)
}

func describeOperation(oa *huma.OpenAPI, method, path string, op *huma.Operation, baseURL string) *docsOperation {
	d := &docsOperation{ID: op.OperationID, Method: method, Path: path, Summary: op.Summary, Description: op.Description}
	for _, req := range op.Security {
		if _, ok := req["apiSecret"]; ok {
			d.Secret = true
		}
	}
	registry := oa.Components.Schemas
	for _, p := range op.Parameters {
		d.Params = append(d.Params, docsField{Name: p.Name, In: p.In, Type: schemaType(registry, p.Schema), Required: p.Required,
			Description: firstNonEmpty(p.Description, schemaDescription(p.Schema))})
	}
	var body *huma.Schema
	if op.RequestBody != nil {
		if mt := op.RequestBody.Content["application/json"]; mt != nil && mt.Schema != nil {
			body = resolve(registry, mt.Schema)
			d.Body = fields(registry, body, "", 0)
		}
	}
	var statuses []string
	for status := range op.Responses {
		statuses = append(statuses, status)
	}
	sort.Strings(statuses)
	if r := op.Responses[strconv.Itoa(op.DefaultStatus)]; r != nil { // the operation's own success status first
		statuses = slices.Insert(slices.DeleteFunc(statuses, func(s string) bool { return s == strconv.Itoa(op.DefaultStatus) }), 0, strconv.Itoa(op.DefaultStatus))
	}
	for _, status := range statuses {
		r := op.Responses[status]
		if strings.HasPrefix(status, "2") {
			if d.Status == "" {
				d.Status = status
				if mt := r.Content["application/json"]; mt != nil && mt.Schema != nil {
					envelope := resolve(registry, mt.Schema)
					if data := envelope.Properties["data"]; data != nil && envelope.Properties["success"] != nil {
						d.Answer = fields(registry, resolve(registry, data), "data.", 0)
					} else {
						d.Answer = fields(registry, envelope, "", 0)
					}
				}
			}
			continue
		}
		d.Errors = append(d.Errors, docsError{Status: status, Description: r.Description})
	}
	d.Examples = examples(d, op, body, registry, baseURL)
	return d
}

// resolve follows a schema's $ref in the document's registry.
func resolve(registry huma.Registry, s *huma.Schema) *huma.Schema {
	for i := 0; s != nil && s.Ref != "" && i < 8; i++ {
		s = registry.SchemaFromRef(s.Ref)
	}
	if s == nil {
		return &huma.Schema{}
	}
	return s
}

// fields lists an object schema's properties, required first, with nested objects' properties
// under dotted names (items of an array under name[]) down to a few levels.
func fields(registry huma.Registry, s *huma.Schema, prefix string, depth int) []docsField {
	var names []string
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := slices.Contains(s.Required, names[i]), slices.Contains(s.Required, names[j])
		if ri != rj {
			return ri
		}
		return names[i] < names[j]
	})
	var out []docsField
	for _, name := range names {
		p := s.Properties[name]
		out = append(out, docsField{Name: prefix + name, Type: schemaType(registry, p), Required: slices.Contains(s.Required, name),
			Description: schemaDescription(p)})
		if depth >= 2 {
			continue
		}
		inner, suffix := resolve(registry, p), "."
		if inner.Type == "array" && inner.Items != nil {
			inner, suffix = resolve(registry, inner.Items), "[]."
		}
		if inner.Type == "object" && len(inner.Properties) > 0 {
			out = append(out, fields(registry, inner, prefix+name+suffix, depth+1)...)
		}
	}
	return out
}

func schemaType(registry huma.Registry, s *huma.Schema) string {
	if s == nil {
		return "any"
	}
	r := resolve(registry, s)
	t := r.Type
	switch {
	case t == "array" && r.Items != nil:
		t = schemaType(registry, r.Items) + "[]"
	case t == "":
		t = "any"
	}
	if r.Format != "" && r.Type != "array" {
		t += " (" + r.Format + ")"
	}
	if len(r.Enum) > 0 {
		var values []string
		for _, v := range r.Enum {
			values = append(values, fmt.Sprint(v))
		}
		t += ": " + strings.Join(values, " | ")
	}
	return t
}

func schemaDescription(s *huma.Schema) string {
	if s == nil {
		return ""
	}
	d := s.Description
	if s.Default != nil {
		d = strings.TrimSpace(d + fmt.Sprintf(" (default %v)", s.Default))
	}
	return d
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// exampleBody is the request body an example sends: the body schema's required fields (and those
// with an example), with the document's example values.
func exampleBody(registry huma.Registry, s *huma.Schema, depth int) any {
	s = resolve(registry, s)
	switch {
	case len(s.Examples) > 0:
		return s.Examples[0]
	case len(s.Enum) > 0:
		return s.Enum[0]
	}
	switch s.Type {
	case "object":
		obj := map[string]any{}
		for name, p := range s.Properties {
			if depth < 4 && (slices.Contains(s.Required, name) || len(resolve(registry, p).Examples) > 0) {
				obj[name] = exampleBody(registry, p, depth+1)
			}
		}
		return obj
	case "array":
		if s.Items == nil || depth >= 4 {
			return []any{}
		}
		return []any{exampleBody(registry, s.Items, depth+1)}
	case "string":
		return "string"
	case "integer", "number":
		return 0
	case "boolean":
		return false
	}
	return nil
}

// exampleURL is the operation's URL with its path parameters' examples and its required query
// parameters.
func exampleURL(registry huma.Registry, baseURL, path string, op *huma.Operation) string {
	var query []string
	for _, p := range op.Parameters {
		value := fmt.Sprint(exampleBody(registry, p.Schema, 0))
		switch {
		case p.In == "path":
			path = strings.ReplaceAll(path, "{"+p.Name+"}", value)
		case p.In == "query" && p.Required:
			query = append(query, p.Name+"="+value)
		}
	}
	if len(query) > 0 {
		path += "?" + strings.Join(query, "&")
	}
	return baseURL + path
}

// examples writes the operation's request in curl, Node (fetch), Python (standard library) and PHP
// (curl extension), each reading the key (and the secret where it is needed) from the environment.
func examples(d *docsOperation, op *huma.Operation, body *huma.Schema, registry huma.Registry, baseURL string) []docsExample {
	url := exampleURL(registry, baseURL, d.Path, op)
	idempotent := slices.ContainsFunc(op.Parameters, func(p *huma.Param) bool { return p.Name == "Idempotency-Key" })
	public := d.Path == "/health"
	var payload []byte
	if body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		_ = enc.Encode(exampleBody(registry, body, 0))
		payload = bytes.TrimSpace(buf.Bytes())
	}
	var value any
	if payload != nil {
		_ = json.Unmarshal(payload, &value)
	}

	var curl strings.Builder
	if idempotent {
		curl.WriteString("# Idempotency-Key: a unique string you send again when you retry this same request (uuidgen makes one)\n")
	}
	curl.WriteString("curl")
	if d.Method != http.MethodGet {
		curl.WriteString(" -X " + d.Method)
	}
	curl.WriteString(" " + shellQuote(url))
	if !public {
		curl.WriteString(" \\\n  -H \"Authorization: Bearer $STABLEGATE_API_KEY\"")
	}
	if d.Secret {
		curl.WriteString(" \\\n  -H \"x-api-secret: $STABLEGATE_API_SECRET\"")
	}
	if idempotent {
		curl.WriteString(" \\\n  -H 'Idempotency-Key: 5f0c6e2a-8d7b-4c1e-9a3f-2b6d8e1c4a7f'")
	}
	if payload != nil {
		curl.WriteString(" \\\n  -H 'Content-Type: application/json' \\\n  --data " + shellQuote(string(payload)))
	}

	var node strings.Builder
	node.WriteString("// Node 18+ (fetch), as an ES module: node example.mjs\n")
	node.WriteString("const res = await fetch(" + jsString(url) + ", {\n  method: " + jsString(d.Method) + ",\n  headers: {\n")
	if !public {
		node.WriteString("    \"Authorization\": `Bearer ${process.env.STABLEGATE_API_KEY}`,\n")
	}
	if d.Secret {
		node.WriteString("    \"x-api-secret\": process.env.STABLEGATE_API_SECRET,\n")
	}
	if idempotent {
		node.WriteString("    \"Idempotency-Key\": crypto.randomUUID(),\n")
	}
	if payload != nil {
		node.WriteString("    \"Content-Type\": \"application/json\",\n  },\n  body: JSON.stringify(" + indent(string(payload), "  ") + "),\n")
	} else {
		node.WriteString("  },\n")
	}
	node.WriteString("});\nconst answer = await res.json();\n")
	if public {
		node.WriteString("console.log(res.status, answer);\n")
	} else {
		node.WriteString("if (!answer.success) throw new Error(`${res.status} ${answer.error}: ${answer.message}`);\nconsole.log(answer.data);\n")
	}

	var py strings.Builder
	py.WriteString("# Python 3, standard library only\nimport json, os, urllib.error, urllib.request")
	if idempotent {
		py.WriteString(", uuid")
	}
	py.WriteString("\n\n")
	py.WriteString("req = urllib.request.Request(\n    " + jsString(url) + ",\n    method=" + jsString(d.Method) + ",\n    headers={\n")
	if !public {
		py.WriteString("        \"Authorization\": \"Bearer \" + os.environ[\"STABLEGATE_API_KEY\"],\n")
	}
	if d.Secret {
		py.WriteString("        \"x-api-secret\": os.environ[\"STABLEGATE_API_SECRET\"],\n")
	}
	if idempotent {
		py.WriteString("        \"Idempotency-Key\": str(uuid.uuid4()),\n")
	}
	if payload != nil {
		py.WriteString("        \"Content-Type\": \"application/json\",\n    },\n    data=json.dumps(" + indent(pythonSyntax.literal(value, ""), "    ") + ").encode(),\n)\n")
	} else {
		py.WriteString("    },\n)\n")
	}
	py.WriteString("try:\n    with urllib.request.urlopen(req, timeout=30) as res:\n        answer = json.load(res)\n" +
		"except urllib.error.HTTPError as err:\n    answer = json.load(err)\n")
	if public {
		py.WriteString("print(answer)\n")
	} else {
		py.WriteString("if not answer[\"success\"]:\n    raise SystemExit(answer[\"error\"] + \": \" + answer[\"message\"])\nprint(answer[\"data\"])\n")
	}

	var php strings.Builder
	php.WriteString("<?php\n// PHP 7.4+ with the curl extension\n$ch = curl_init(" + phpString(url) + ");\ncurl_setopt_array($ch, [\n")
	php.WriteString("    CURLOPT_CUSTOMREQUEST => " + phpString(d.Method) + ",\n    CURLOPT_RETURNTRANSFER => true,\n    CURLOPT_HTTPHEADER => [\n")
	if !public {
		php.WriteString("        'Authorization: Bearer ' . getenv('STABLEGATE_API_KEY'),\n")
	}
	if d.Secret {
		php.WriteString("        'x-api-secret: ' . getenv('STABLEGATE_API_SECRET'),\n")
	}
	if idempotent {
		php.WriteString("        'Idempotency-Key: ' . bin2hex(random_bytes(16)),\n")
	}
	if payload != nil {
		php.WriteString("        'Content-Type: application/json',\n    ],\n    CURLOPT_POSTFIELDS => json_encode(" + indent(phpSyntax.literal(value, ""), "    ") + "),\n")
	} else {
		php.WriteString("    ],\n")
	}
	php.WriteString("]);\n$answer = json_decode(curl_exec($ch), true);\n")
	if public {
		php.WriteString("print_r($answer);\n")
	} else {
		php.WriteString("if (!$answer['success']) {\n    throw new RuntimeException($answer['error'] . ': ' . $answer['message']);\n}\nprint_r($answer['data']);\n")
	}
	return []docsExample{{"curl", curl.String()}, {"Node", node.String()}, {"Python", py.String()}, {"PHP", php.String()}}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// jsString quotes a string for JavaScript and Python alike (a JSON string, with no HTML escaping).
func jsString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(buf.String())
}

func phpString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func indent(s, prefix string) string { return strings.ReplaceAll(s, "\n", "\n"+prefix) }

// literalSyntax is how a language writes the literals of a decoded JSON value.
type literalSyntax struct {
	str                           func(string) string
	open, close, sep, emptyObject string
	trueLit, falseLit, nullLit    string
}

var (
	// pythonSyntax writes a Python literal.
	pythonSyntax = literalSyntax{str: jsString, open: "{", close: "}", sep: ": ", emptyObject: "{}", trueLit: "True", falseLit: "False", nullLit: "None"}
	// phpSyntax writes a PHP literal that json_encode turns back into the value.
	phpSyntax = literalSyntax{str: phpString, open: "[", close: "]", sep: " => ", emptyObject: "new stdClass()", trueLit: "true", falseLit: "false", nullLit: "null"}
)

// literal writes a decoded JSON value in the language's syntax, an object's fields one a line.
func (l literalSyntax) literal(v any, pad string) string {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			return l.emptyObject
		}
		var b strings.Builder
		b.WriteString(l.open + "\n")
		for _, k := range sortedKeys(v) {
			b.WriteString(pad + "    " + l.str(k) + l.sep + l.literal(v[k], pad+"    ") + ",\n")
		}
		return b.String() + pad + l.close
	case []any:
		var items []string
		for _, item := range v {
			items = append(items, l.literal(item, pad))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case string:
		return l.str(v)
	case bool:
		if v {
			return l.trueLit
		}
		return l.falseLit
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return l.nullLit
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// matching is the reference narrowed to the operations whose text holds every word of q, those
// whose id, summary or path hold the most of the words first (and their groups first).
func (ref *docsReference) matching(q string) (groups []*docsGroup, count int) {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return ref.Groups, len(ref.text)
	}
	score := map[*docsOperation]int{}
	best := map[*docsGroup]int{}
	for _, g := range ref.Groups {
		var ops []*docsOperation
		for _, op := range g.Operations {
			if slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(ref.text[op.ID], w) }) {
				continue
			}
			title := strings.ToLower(op.ID + " " + op.Summary + " " + op.Path)
			for _, w := range words {
				if strings.Contains(title, w) {
					score[op]++
				}
			}
			ops = append(ops, op)
		}
		if len(ops) > 0 {
			sort.SliceStable(ops, func(i, j int) bool { return score[ops[i]] > score[ops[j]] })
			ng := &docsGroup{Tag: g.Tag, Operations: ops}
			best[ng] = score[ops[0]]
			groups = append(groups, ng)
			count += len(ops)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool { return best[groups[i]] > best[groups[j]] })
	return groups, count
}

func (s *Server) docsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if len(q) > 200 {
		q = strings.ToValidUTF8(q[:200], "")
	}
	groups, count := s.reference.matching(q)
	var buf bytes.Buffer
	err := docsTemplate.Execute(&buf, map[string]any{"Ref": s.reference, "Groups": groups, "Count": count, "Query": q,
		"Total": len(s.reference.text)})
	if err != nil {
		s.log.Error("render /docs", "err", err)
		writeError(w, newError(gateway.EInternal, "", "The reference could not be rendered", requestIDFrom(r.Context())))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func anchor(id string) string { return "op-" + id }

var docsTemplate = template.Must(template.New("docs").Funcs(template.FuncMap{"anchor": anchor, "lower": strings.ToLower,
	"tagAnchor": func(tag string) string { return "tag-" + strings.ReplaceAll(strings.ToLower(tag), " ", "-") }}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Ref.Title}} reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;line-height:1.5;color:#1a1a1a;background:#fff}
header{padding:1rem 1.5rem;border-bottom:1px solid #ddd;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
header h1{font-size:1.3rem;margin:0}
form.search{display:flex;gap:.5rem;flex:1;min-width:16rem;max-width:32rem}
form.search input{flex:1;font:inherit;padding:.35rem .6rem;border:1px solid #aaa;border-radius:4px}
form.search button{font:inherit;padding:.35rem .8rem}
.layout{display:flex}
nav{width:16rem;flex:none;padding:1rem 1.5rem;border-right:1px solid #eee;position:sticky;top:0;max-height:100vh;overflow:auto;font-size:.9rem}
nav h2{font-size:.8rem;text-transform:uppercase;color:#666;margin:1rem 0 .3rem}
nav a{display:block;color:#124;text-decoration:none;padding:.1rem 0}
main{flex:1;min-width:0;padding:1rem 2rem;max-width:60rem}
section.op{border-top:1px solid #eee;padding:1rem 0}
.m{display:inline-block;font:600 .8rem ui-monospace,monospace;padding:.1rem .4rem;border-radius:3px;color:#fff;background:#456}
.m.POST{background:#1a7f37}.m.GET{background:#0b5cad}.m.PUT,.m.PATCH{background:#9a6700}.m.DELETE{background:#b42318}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}
.path{font:600 1rem ui-monospace,monospace}
.secret{font-size:.8rem;background:#fff4d6;border:1px solid #e3c46f;border-radius:3px;padding:.05rem .35rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.4rem 0}
th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;border-bottom:1px solid #eee}
th{font-weight:600;color:#444}
td.n{font-family:ui-monospace,monospace;white-space:nowrap}
.req{color:#b42318;font-size:.75rem}
pre{background:#f6f8fa;padding:.7rem;overflow:auto;border-radius:4px;margin:.3rem 0}
details{margin:.2rem 0}summary{cursor:pointer;font-weight:600}
h3{font-size:.95rem;margin:.8rem 0 .2rem}
.none{color:#666}
@media (max-width:800px){nav{display:none}main{padding:1rem}}
</style></head>
<body>
<header><h1>{{.Ref.Title}} <small>{{.Ref.Version}}</small></h1>
<form class="search" method="get" action="/docs" role="search"><input type="search" name="q" value="{{.Query}}" placeholder="Search operations, fields, errors" aria-label="Search the reference"><button type="submit">Search</button></form>
<span><a href="/docs/openapi.json">openapi.json</a> · <a href="/docs/openapi.yaml">openapi.yaml</a></span></header>
<div class="layout">
<nav aria-label="Operations">{{range .Groups}}<h2>{{.Tag}}</h2>{{range .Operations}}<a href="#{{anchor .ID}}"><span class="m {{.Method}}">{{.Method}}</span> {{.Summary}}</a>{{end}}{{end}}</nav>
<main>
{{if .Query}}<p id="results">{{.Count}} of {{.Total}} operations match “{{.Query}}”. <a href="/docs">Show all</a></p>
{{else}}<p>{{.Ref.Description}}</p>
<p>Examples read the key from <code>STABLEGATE_API_KEY</code> and, where an operation needs it, the secret from <code>STABLEGATE_API_SECRET</code>. Amounts are decimal strings in token units.</p>{{end}}
{{range .Groups}}<h2 id="{{tagAnchor .Tag}}">{{.Tag}}</h2>
{{range .Operations}}<section class="op" id="{{anchor .ID}}">
<h3 style="font-size:1.1rem"><span class="m {{.Method}}">{{.Method}}</span> <span class="path">{{.Path}}</span></h3>
<p><strong>{{.Summary}}</strong> <code>{{.ID}}</code> {{if .Secret}}<span class="secret">needs the API secret</span>{{end}}</p>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Params}}<h3>Parameters</h3><table><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr>
{{range .Params}}<tr><td class="n">{{.Name}}{{if .Required}} <span class="req">required</span>{{end}}</td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<h3>Body (JSON)</h3><table><tr><th>Field</th><th>Type</th><th>Description</th></tr>
{{range .Body}}<tr><td class="n">{{.Name}}{{if .Required}} <span class="req">required</span>{{end}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
<h3>Answer {{.Status}}</h3>{{if .Answer}}<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>
{{range .Answer}}<tr><td class="n">{{.Name}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{else}}<p class="none">No fields.</p>{{end}}
{{if .Errors}}<details><summary>Errors</summary><table>{{range .Errors}}<tr><td class="n">{{.Status}}</td><td>{{.Description}}</td></tr>{{end}}</table></details>{{end}}
<h3>Examples</h3>
{{range $i, $e := .Examples}}<details class="example"{{if eq $i 0}} open{{end}}><summary>{{$e.Language}}</summary><pre><code class="lang-{{lower $e.Language}}">{{$e.Code}}</code></pre></details>{{end}}
</section>{{end}}{{end}}
{{if not .Groups}}<p id="results-none">No operation matches “{{.Query}}”.</p>{{end}}
</main></div></body></html>
`))

// docsBaseURL is where the reference's examples send their requests: the public URL, or the
// default listen address when there is none.
func docsBaseURL(publicURL string) string {
	if publicURL == "" {
		return "http://127.0.0.1:8080"
	}
	return publicURL
}
