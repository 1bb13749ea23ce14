// Package storetest is the one test suite every store engine must pass.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

// Opener returns a fresh, empty, migrated store for one test.
type Opener func(t *testing.T) gateway.Store

// Run runs the suite against the engine.
func Run(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, gateway.Store){
		"ProjectsAndCredentials":    testProjects,
		"WebsiteUnique":             testWebsiteUnique,
		"ProjectSettings":           testProjectSettings,
		"OrderDerivedAddresses":     testDerivedAddresses,
		"OrderReferenceIdempotent":  testReferenceIdempotent,
		"OrderConcurrentCreates":    testConcurrentCreates,
		"OrderConcurrentSameRef":    testConcurrentSameReference,
		"OrderPool":                 testPool,
		"OrderListFilters":          testList,
		"OrderAmountExact":          testAmountExact,
		"ModesDoNotCross":           testModes,
		"IdempotencyKeys":           testIdempotency,
		"FailedWriteChangesNothing": testFailedWrite,
		"ReserveIndicesUnique":      testReserveIndices,
		"ChainScan":                 testChainScan,
		"ScanAndExpiryRace":         testScanAndExpiryRace,
		"WebhookOutbox":             testWebhookOutbox,
		"WebhookOrderPerSubject":    testWebhookOrderPerSubject,
		"Leases":                    testLeases,
		"SecretsSealedAtStart":      testSealStoredSecrets,
		"MasterKeyRotation":         testMasterKeyRotation,
		"Outgoing":                  testOutgoing,
		"AuditLog":                  testAuditLog,
		"Stats":                     testStats,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

const abandon = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func service(t *testing.T, s gateway.Store) *gateway.Service {
	kr, err := gateway.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &gateway.Service{Store: s, Keyring: kr, Now: func() time.Time { return testNow }}
}

// project creates a watch-only project on the "abandon … about" xpubs, so addresses are known.
func project(t *testing.T, s gateway.Store, website string) (*gateway.Service, *gateway.CreatedProject) {
	t.Helper()
	svc := service(t, s)
	evm, _ := chain.AccountXPub(abandon, chain.EVM)
	tron, _ := chain.AccountXPub(abandon, chain.TRON)
	cp, err := svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Shop", Website: website,
		XPubs: map[chain.Protocol]string{chain.EVM: evm, chain.TRON: tron}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, cp
}

func principal(t *testing.T, svc *gateway.Service, cp *gateway.CreatedProject, m gateway.Mode) *gateway.Principal {
	t.Helper()
	for _, k := range cp.Keys {
		if k.Mode == m {
			pr, err := svc.Authenticate(context.Background(), k.Key)
			if err != nil {
				t.Fatal(err)
			}
			return pr
		}
	}
	t.Fatalf("no %s key", m)
	return nil
}
