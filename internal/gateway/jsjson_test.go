package gateway

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// jsForm writes what JavaScript's JSON.stringify(JSON.parse(text)) writes: checked against a real
// Node.js over inputs that differ between the two languages.
func TestJSFormIsJavaScripts(t *testing.T) {
	inputs := []string{
		`{"b":1,"a":2}`, `{"2":"x","a":1,"1":"y","10":0,"01":3,"-1":4,"4294967295":5,"4294967294":6}`,
		`{"n":1.0,"e":1e3,"f":1.5e-7,"g":123456789012345678901234,"h":-0,"i":0.1,"j":1E21,"k":1e-6,"l":-1.25e+2}`,
		`{"big":1e400,"small":1e-400}`, `{"a":1,"a":2,"b":3}`, `{"s":"\u00e9\u2028\u2029<>&\/","t":"tab\there\u0001\u001f\u007f"}`,
		`{"emoji":"\ud83d\ude00","q":"\"\\"}`, `{"nested":{"z":[1,2.50,{"y":true,"x":null}]}}`, `{"k":"\ufffd"}`, `{}`,
	}
	var want []string
	script := `const ins = JSON.parse(require('fs').readFileSync(0, 'utf8')); process.stdout.write(JSON.stringify(ins.map(s => JSON.stringify(JSON.parse(s)))))`
	cmd := exec.Command("node", "-e", script)
	in, _ := json.Marshal(inputs)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("node: %v", err)
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, s := range inputs {
		got, err := jsForm([]byte(s))
		if err != nil || string(got) != want[i] {
			t.Errorf("jsForm(%s) = %s, %v; JavaScript writes %s", s, got, err, want[i])
		}
	}
	for _, bad := range []string{`{"a":"\ud800"}`, `{"a":"\udc00x"}`, `{"a":"\ud800\u0041"}`, "{\"a\":\"\xff\"}"} {
		if got, err := jsForm([]byte(bad)); err == nil {
			t.Errorf("jsForm(%q) = %s, want a refusal (JavaScript and Go read it differently)", bad, got)
		}
	}
	if got, err := jsForm([]byte(`{"a":"\\ud800"}`)); err != nil || string(got) != `{"a":"\\ud800"}` {
		t.Errorf("an escaped backslash before u: %s, %v", got, err)
	}
}
