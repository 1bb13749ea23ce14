package client_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/client"
)

// The client's types are the document's schemas: each answer type has every field of the
// operation's answer, each input type every field of the request body, with the JSON name and
// the kind (string, integer, …) the document gives, and no field the document does not have.
func TestClientTypesMatchTheDocument(t *testing.T) {
	_, _, srv := gatewayServer(t)
	doc := srv.API.OpenAPI()
	registry := doc.Components.Schemas
	ops := map[string]*huma.Operation{}
	for _, item := range doc.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op != nil && !slices.Contains(op.Tags, "3PAY") { // the compatibility surfaces are for 3PAY's own clients
				ops[op.OperationID] = op
			}
		}
	}
	// The answer: the operation id, the property of its data ("" for data itself), the Go type.
	answers := []struct {
		op, prop string
		typ      any
	}{
		{"createOrder", "", client.Order{}}, {"getOrder", "", client.Order{}}, {"listOrders", "orders", client.Order{}},
		{"listOrders", "pagination", client.Pagination{}}, {"simulateOrder", "", client.Order{}}, {"resolveOrder", "", client.Order{}},
		{"bindDeposit", "", client.DepositAddress{}}, {"unbindDeposit", "", client.DepositAddress{}},
		{"getDepositReference", "", client.DepositReference{}}, {"listDeposits", "deposits", client.Deposit{}},
		{"listBalances", "balances", client.Balance{}},
		{"createPaymentLink", "", client.PaymentLink{}}, {"getPaymentLink", "", client.PaymentLink{}},
		{"publishPaymentLink", "", client.PaymentLink{}}, {"archivePaymentLink", "", client.PaymentLink{}},
		{"listPaymentLinks", "paymentLinks", client.PaymentLink{}},
		{"getWebhookEndpoint", "", client.WebhookEndpoint{}}, {"putWebhookEndpoint", "", client.WebhookEndpoint{}},
		{"deleteWebhookEndpoint", "", client.WebhookEndpoint{}}, {"getWebhookSecret", "", client.WebhookSecret{}},
		{"rotateWebhookSecret", "", client.WebhookSecret{}}, {"listWebhookEvents", "events", client.DeliveredEvent{}},
		{"createWithdrawal", "", client.Withdrawal{}}, {"getWithdrawal", "", client.Withdrawal{}},
		{"approveWithdrawal", "", client.Withdrawal{}}, {"rejectWithdrawal", "", client.Withdrawal{}},
		{"listWithdrawals", "withdrawals", client.Withdrawal{}}, {"getWithdrawalPolicy", "", client.WithdrawalPolicy{}},
		{"putWithdrawalPolicy", "", client.WithdrawalPolicy{}}, {"listWithdrawalDestinations", "destinations", client.Destination{}},
		{"addWithdrawalDestination", "", client.Destination{}}, {"removeWithdrawalDestination", "destinations", client.Destination{}},
		{"createSweep", "", client.SweepPlan{}}, {"getSweep", "", client.Sweep{}}, {"listSweeps", "sweeps", client.Sweep{}},
		{"listOutgoingTransactions", "transactions", client.OutgoingTx{}}, {"getOutgoingTransaction", "", client.OutgoingTx{}},
		{"listWallets", "wallets", client.Wallet{}}, {"listTreasuries", "treasuries", client.Treasury{}},
		{"putTreasury", "", client.Treasury{}}, {"deleteTreasury", "treasuries", client.Treasury{}},
		{"getAddressPool", "pools", client.AddressPool{}}, {"importAddressPool", "", client.PoolImport{}},
		{"checkTransaction", "", client.TxCheck{}}, {"getProject", "", client.Project{}}, {"updateProject", "", client.Project{}},
		{"getAuditLog", "entries", client.AuditEntry{}}, {"listChains", "chains", client.Chain{}},
		{"health", "", client.Health{}},
	}
	inputs := map[string]any{"createOrder": client.OrderInput{}, "createWithdrawal": client.WithdrawalInput{},
		"createPaymentLink": client.PaymentLinkInput{}, "putWithdrawalPolicy": client.WithdrawalPolicyInput{},
		"updateProject": client.ProjectUpdate{}, "createSweep": client.SweepInput{}, "putWebhookEndpoint": client.WebhookEndpointInput{}}
	covered := map[string]bool{}
	for _, a := range answers {
		op := ops[a.op]
		if op == nil {
			t.Errorf("no operation %s", a.op)
			continue
		}
		covered[a.op] = true
		mt := op.Responses[strconv.Itoa(max(op.DefaultStatus, 200))].Content["application/json"]
		schema := resolveRef(registry, mt.Schema)
		if data := schema.Properties["data"]; data != nil && a.op != "health" {
			schema = resolveRef(registry, data)
		}
		if a.prop != "" {
			schema = resolveRef(registry, schema.Properties[a.prop])
			if schema.Type == "array" {
				schema = resolveRef(registry, schema.Items)
			}
		}
		compare(t, registry, a.op, reflect.TypeOf(a.typ), schema)
	}
	for id, typ := range inputs {
		compare(t, registry, id+" body", reflect.TypeOf(typ), resolveRef(registry, ops[id].RequestBody.Content["application/json"].Schema))
	}
	for id := range ops {
		if !covered[id] && id != "retryWebhookEvent" { // its answer is no object the client returns
			t.Errorf("the answer of %s is checked against no client type", id)
		}
	}
}

func resolveRef(registry huma.Registry, s *huma.Schema) *huma.Schema {
	for s != nil && s.Ref != "" {
		s = registry.SchemaFromRef(s.Ref)
	}
	if s == nil {
		return &huma.Schema{}
	}
	return s
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

// compare checks a Go type against a schema, field by field, down nested objects and arrays.
func compare(t *testing.T, registry huma.Registry, at string, typ reflect.Type, s *huma.Schema) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	want := map[reflect.Kind]string{reflect.String: "string", reflect.Bool: "boolean", reflect.Int: "integer", reflect.Int64: "integer",
		reflect.Uint64: "integer", reflect.Float64: "number", reflect.Slice: "array", reflect.Map: "object", reflect.Struct: "object"}[typ.Kind()]
	switch {
	case typ == timeType:
		want = "string"
	case typ == rawType || typ.Kind() == reflect.Interface:
		return // any JSON
	}
	if s.Type == "" {
		return // the document says any JSON here
	}
	if s.Type != want {
		t.Errorf("%s: the client has a %s, the document a %s", at, typ, s.Type)
		return
	}
	switch typ.Kind() {
	case reflect.Slice:
		compare(t, registry, at+"[]", typ.Elem(), resolveRef(registry, s.Items))
	case reflect.Map:
		if extra, ok := s.AdditionalProperties.(*huma.Schema); ok {
			compare(t, registry, at+"{}", typ.Elem(), resolveRef(registry, extra))
		}
	case reflect.Struct:
		if typ == timeType {
			return
		}
		fields := jsonFields(typ)
		for name, f := range fields {
			p, ok := s.Properties[name]
			if !ok {
				t.Errorf("%s.%s: the client has the field, the document does not", at, name)
				continue
			}
			compare(t, registry, at+"."+name, f, resolveRef(registry, p))
		}
		for name := range s.Properties {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s.%s: the document has the field, the client does not", at, name)
			}
		}
	}
}

// jsonFields are a struct's JSON fields by name, those of embedded structs included.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
