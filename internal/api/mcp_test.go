package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/stablegate/stablegate/internal/api"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store"
)

// headers sets the MCP client's credentials on every request.
type headers struct {
	set  map[string]string
	base http.RoundTripper
}

func (h headers) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.set {
		r.Header.Set(k, v)
	}
	return h.base.RoundTrip(r)
}

func mcpSession(t *testing.T, url string, creds map[string]string) (*mcp.ClientSession, error) {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "stablegate-test", Version: "1"}, nil)
	return client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url + "/mcp", DisableStandaloneSSE: true, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: headers{set: creds, base: http.DefaultTransport}}}, nil)
}

// callTool calls a tool and returns its structured answer and whether it is a tool error.
func callTool(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) (map[string]any, string, bool) {
	t.Helper()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out map[string]any
	raw, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(raw, &out)
	text := ""
	if len(res.Content) > 0 {
		if tc, ok := res.Content[0].(*mcp.TextContent); ok {
			text = tc.Text
		}
	}
	return out, text, res.IsError
}

// The MCP server at /mcp, with the go-sdk's own client: its tools are listed with schemas, each
// does what its API operation does for the key's project and mode, and errors carry the API's
// type and message; without a valid key nothing is served.
func TestMCP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		s, err := mcpSession(t, e.url, map[string]string{"Authorization": "Bearer " + e.test.Key})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		tools, err := s.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tl := range tools.Tools {
			names = append(names, tl.Name)
			if tl.Description == "" || tl.InputSchema == nil {
				t.Errorf("tool %s has no description or schema", tl.Name)
			}
		}
		for _, want := range []string{"create_order", "get_order", "list_orders", "simulate_payment", "bind_deposit_address", "get_deposit_reference",
			"list_deposits", "create_payment_link", "publish_payment_link", "archive_payment_link", "get_balances", "list_webhook_events", "retry_webhook_event"} {
			if !slices.Contains(names, want) {
				t.Errorf("no tool %s in %v", want, names)
			}
		}
		created, _, isErr := callTool(t, s, "create_order", map[string]any{"orderReference": "mcp-1", "amount": "10.50", "currency": "USDT",
			"chainId": "ethereum-sepolia", "metadata": map[string]any{"cart": 7}})
		order, _ := created["data"].(map[string]any)
		id, _ := order["orderId"].(string)
		if isErr || !strings.HasPrefix(id, "ord_") || order["amount"] != "10.5" || order["status"] != "pending" {
			t.Fatalf("create_order = %v", created)
		}
		// The same order through the API.
		if r := e.as(e.test, "GET", "/api/v1/orders/"+id, ""); r.status != 200 || r.data()["orderReference"] != "mcp-1" {
			t.Errorf("the tool's order through the API: %d %v", r.status, r.body)
		}
		got, _, isErr := callTool(t, s, "get_order", map[string]any{"orderId": id})
		if d, _ := got["data"].(map[string]any); isErr || d["orderId"] != id {
			t.Errorf("get_order = %v", got)
		}
		list, _, _ := callTool(t, s, "list_orders", map[string]any{"status": "pending"})
		if d, _ := list["data"].(map[string]any); d == nil || len(d["orders"].([]any)) != 1 {
			t.Errorf("list_orders = %v", list)
		}
		// A bad amount is a tool error with the API's type, message and param, and creates nothing.
		bad, text, isErr := callTool(t, s, "create_order", map[string]any{"orderReference": "mcp-2", "amount": "0", "currency": "USDT", "chainId": "ethereum-sepolia"})
		if !isErr || bad["error"] != "ValidationError" || bad["param"] != "amount" || !strings.Contains(text, "ValidationError") || !strings.Contains(text, "amount") {
			t.Errorf("create_order with amount 0 = %v %q", bad, text)
		}
		if n := e.orderCount(gateway.Test); n != 1 {
			t.Errorf("%d test orders after a refused create, want 1", n)
		}
		paid, _, isErr := callTool(t, s, "simulate_payment", map[string]any{"orderId": id, "outcome": "completed"})
		if d, _ := paid["data"].(map[string]any); isErr || d["status"] != "completed" {
			t.Errorf("simulate_payment = %v", paid)
		}
		bound, _, isErr := callTool(t, s, "bind_deposit_address", map[string]any{"depositReference": "user-1", "protocol": "evm"})
		if d, _ := bound["data"].(map[string]any); isErr || !strings.HasPrefix(d["address"].(string), "0x") {
			t.Errorf("bind_deposit_address = %v", bound)
		}
		if ref, _, isErr := callTool(t, s, "get_deposit_reference", map[string]any{"depositReference": "user-1"}); isErr || ref["data"] == nil {
			t.Errorf("get_deposit_reference = %v", ref)
		}
		if bal, _, isErr := callTool(t, s, "get_balances", nil); isErr || bal["data"] == nil {
			t.Errorf("get_balances = %v", bal)
		}
		// An event that does not exist: the API's refusal, as a tool error.
		if r, text, isErr := callTool(t, s, "retry_webhook_event", map[string]any{"webhookEventId": "evt_nope"}); !isErr || r["error"] == nil ||
			r["error"] == "InternalError" {
			t.Errorf("retry_webhook_event = %v %q", r, text)
		}

		// The live key: simulate is refused, and the test order is not there.
		live, err := mcpSession(t, e.url, map[string]string{"Authorization": "Bearer " + e.live.Key})
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		if r, _, isErr := callTool(t, live, "get_order", map[string]any{"orderId": id}); !isErr || r["error"] != "NotFound" {
			t.Errorf("get_order of a test order with the live key = %v", r)
		}
		// No key, a wrong key: nothing is served.
		for _, creds := range []map[string]string{{}, {"Authorization": "Bearer pk_test_" + strings.Repeat("x", 32)}} {
			if s, err := mcpSession(t, e.url, creds); err == nil {
				s.Close()
				t.Errorf("an MCP session with %v", creds)
			}
		}
		// A wrong secret is refused before MCP is reached.
		if r := e.call("POST", "/mcp", `{}`, "Authorization", "Bearer "+e.test.Key, "x-api-secret", "sk_wrong"); r.status != 401 {
			t.Errorf("/mcp with a wrong secret: %d", r.status)
		}
	})
}

// A tool's path parameter cannot steer the call to another operation: a "/" or a dot segment in
// an id is a 404, never a redirect or a neighbour's route.
func TestMCPPathParameters(t *testing.T) {
	e := setup(t, "sqlite", "https://shop.example.com")
	s, err := mcpSession(t, e.url, map[string]string{"Authorization": "Bearer " + e.test.Key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"../orders", "..", ".", "", "x/../../orders", "lnk_1/../../../orders?status=pending", "%2e%2e"} {
		for _, tool := range []string{"publish_payment_link", "archive_payment_link"} {
			r, text, isErr := callTool(t, s, tool, map[string]any{"id": id})
			if !isErr || (r["error"] != "NotFound" && r["error"] != "ValidationError") {
				t.Errorf("%s(%q) = %v %q", tool, id, r, text)
			}
		}
		if r, _, isErr := callTool(t, s, "get_order", map[string]any{"orderId": id}); !isErr || r["data"] != nil {
			t.Errorf("get_order(%q) = %v", id, r)
		}
	}
}

// The money tools exist only when the operator enables them, and even then need the secret.
func TestMCPMoneyTools(t *testing.T) {
	off := setup(t, "sqlite", "https://shop.example.com")
	s, err := mcpSession(t, off.url, map[string]string{"Authorization": "Bearer " + off.test.Key, "x-api-secret": off.test.Secret})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tools, _ := s.ListTools(context.Background(), nil)
	for _, tl := range tools.Tools {
		if strings.Contains(tl.Name, "withdrawal") || tl.Name == "sweep" {
			t.Errorf("money tool %s offered without mcpMoneyTools", tl.Name)
		}
	}

	on := setupWith(t, "sqlite", "https://shop.example.com", func(*store.Store) api.Config { return api.Config{MCPMoneyTools: true} })
	keyOnly, err := mcpSession(t, on.url, map[string]string{"Authorization": "Bearer " + on.test.Key})
	if err != nil {
		t.Fatal(err)
	}
	defer keyOnly.Close()
	withdrawal := map[string]any{"reference": "w-1", "amount": "1", "currency": "USDT", "chainId": "ethereum-sepolia",
		"address": "0x1111111111111111111111111111111111111111"}
	if r, _, isErr := callTool(t, keyOnly, "create_withdrawal", withdrawal); !isErr || r["error"] != "Unauthorized" || r["param"] != "x-api-secret" {
		t.Errorf("create_withdrawal without the secret = %v", r)
	}
	withSecret, err := mcpSession(t, on.url, map[string]string{"Authorization": "Bearer " + on.test.Key, "x-api-secret": on.test.Secret})
	if err != nil {
		t.Fatal(err)
	}
	defer withSecret.Close()
	// With the secret it reaches the domain: the watch-only project has no hot wallet to pay from.
	if r, _, isErr := callTool(t, withSecret, "create_withdrawal", withdrawal); !isErr || r["error"] == "Unauthorized" || r["error"] == nil {
		t.Errorf("create_withdrawal with the secret on a watch-only project = %v", r)
	}
	if r, _, isErr := callTool(t, withSecret, "list_withdrawals", nil); isErr {
		t.Errorf("list_withdrawals with the secret = %v", r)
	}
}

// The attacker's questions of /mcp: another project's key sees nothing of this one; a NUL byte in
// an argument and a 2 MB body are refused cleanly; fifty create_order calls with one reference at
// once make one order.
func TestMCPAgainstAnAttacker(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		s, err := mcpSession(t, e.url, map[string]string{"Authorization": "Bearer " + e.test.Key})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		args := map[string]any{"orderReference": "race-1", "amount": "5", "currency": "USDT", "chainId": "ethereum-sepolia"}
		ids := make(chan string, 50)
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "create_order", Arguments: args})
				if err != nil || res.IsError {
					t.Errorf("create_order at once: %v %+v", err, res)
					return
				}
				raw, _ := json.Marshal(res.StructuredContent)
				var out struct{ Data struct{ OrderID string } }
				_ = json.Unmarshal(raw, &out)
				ids <- out.Data.OrderID
			}()
		}
		wg.Wait()
		close(ids)
		first := ""
		for id := range ids {
			if first == "" {
				first = id
			}
			if id != first || id == "" {
				t.Errorf("fifty creates with one reference gave %q and %q", first, id)
			}
		}
		if n := e.orderCount(gateway.Test); n != 1 {
			t.Errorf("%d orders after fifty creates with one reference, want 1", n)
		}
		// Another project's key: the order is not there.
		other, err := e.svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Other", Website: "https://other.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		var otherKey string
		for _, k := range other.Keys {
			if k.Mode == gateway.Test {
				otherKey = k.Key
			}
		}
		otherSession, err := mcpSession(t, e.url, map[string]string{"Authorization": "Bearer " + otherKey})
		if err != nil {
			t.Fatal(err)
		}
		defer otherSession.Close()
		if r, _, isErr := callTool(t, otherSession, "get_order", map[string]any{"orderId": first}); !isErr || r["error"] != "NotFound" {
			t.Errorf("another project's get_order = %v", r)
		}
		if r, _, _ := callTool(t, otherSession, "list_orders", nil); r["data"] == nil || len(r["data"].(map[string]any)["orders"].([]any)) != 0 {
			t.Errorf("another project's list_orders = %v", r)
		}
		// A NUL byte: a clean refusal — the API's 400 for a body holding one — never an internal error.
		for _, call := range []struct {
			tool string
			args map[string]any
		}{
			{"get_order", map[string]any{"orderId": "ord_\x00"}},
			{"create_order", map[string]any{"orderReference": "nul\x00", "amount": "1", "currency": "USDT", "chainId": "ethereum-sepolia"}},
			{"bind_deposit_address", map[string]any{"depositReference": "u\x00", "protocol": "evm"}},
			{"get_deposit_reference", map[string]any{"depositReference": "u\x00"}},
		} {
			res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: call.tool, Arguments: call.args})
			if err == nil && !res.IsError || err != nil && !strings.Contains(err.Error(), "Bad Request") {
				t.Errorf("%s with a NUL byte = %+v, %v", call.tool, res, err)
			}
		}
		// A 2 MB body is refused before MCP reads it.
		if r := e.call("POST", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"`+strings.Repeat("x", 2<<20)+`"}}`,
			"Authorization", "Bearer "+e.test.Key); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("/mcp with a 2 MB body: %d", r.status)
		}
		if n := e.orderCount(gateway.Test); n != 1 {
			t.Errorf("%d orders after the refusals, want 1", n)
		}
	})
}
