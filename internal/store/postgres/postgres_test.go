package postgres_test

import (
	"context"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store/postgres"
	"github.com/stablegate/stablegate/internal/store/storetest"
	"github.com/stablegate/stablegate/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) gateway.Store {
		s, err := postgres.Open(context.Background(), testpg.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
