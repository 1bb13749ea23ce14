package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/web"
)

// devCredentials is <data>/dev-credentials.json: the demo project's test credentials and the
// devnet it runs on.
type devCredentials struct {
	APIKey        string `json:"apiKey"`
	APISecret     string `json:"apiSecret"`
	WebhookSecret string `json:"webhookSecret"`
	ProjectID     string `json:"projectId"`
	BaseURL       string `json:"baseUrl"`
	// The demo project's dashboard owner.
	DashboardEmail    string `json:"dashboardEmail"`
	DashboardPassword string `json:"dashboardPassword"`
	devnetInfo
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "pay" {
		return runDevPay(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("dev", "dev [--addr 127.0.0.1:8080] [--data ./.stablegate] [--devnet-rpc URL] [--block-time 1s] [--fresh]", stderr)
	cf := newConfigFlags(fs, true, map[string]string{"logFormat": "text", "webhookAllowPrivate": "true", "dashboard": "true"})
	devnetRPC := fs.String("devnet-rpc", "", "use a devnet already running at this JSON-RPC URL (stablegate devnet) instead of starting one")
	devnetAddr := fs.String("devnet-addr", "127.0.0.1:0", "address of the embedded devnet's JSON-RPC endpoint")
	blockTime := fs.Duration("block-time", time.Second, "interval between devnet blocks")
	fresh := fs.Bool("fresh", false, "start over: remove the data directory's dev database, devnet chain and demo credentials first")
	confirmations := fs.Int("confirmations", 0, "confirmations a devnet payment needs (default 1; 3 shows orders confirming for a few blocks)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *blockTime <= 0 {
		return usageError{"--block-time must be positive"}
	}
	if *confirmations < 0 || *confirmations > 1000 {
		return usageError{"--confirmations must be between 1 and 1000"}
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if c.MasterKey == "" && c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	chainDir := filepath.Join(c.DataDir, "devnet")
	credsPath := filepath.Join(c.DataDir, "dev-credentials.json")
	if *fresh {
		if err := startOver(c, chainDir, credsPath, *devnetRPC != "", stdout); err != nil {
			return err
		}
	}
	log := newLogger(stderr, c.LogFormat, c.LogLevel)
	kr, err := loadKeyring(c, true)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkMasterKey(ctx, st, kr, log); err != nil {
		return err
	}
	rpcURL := *devnetRPC
	if rpcURL == "" {
		dn, err := devnet.Start(devnet.Config{Addr: *devnetAddr, BlockTime: *blockTime, DataDir: chainDir})
		if errors.Is(err, devnet.ErrNotStoppedCleanly) {
			return fmt.Errorf("%w\n  Continuing it could undo paid orders. Start over with: stablegate dev --fresh --data %s", err, c.DataDir)
		} else if err != nil {
			return err
		}
		defer dn.Close()
		rpcURL = dn.RPCURL()
	}
	svc := newService(c, st, kr, log)
	creds, err := demoProject(ctx, svc, credsPath)
	if err != nil {
		return err
	}
	if err := demoOwner(ctx, svc, creds, credsPath); err != nil {
		return err
	}
	creds.devnetInfo = newDevnetInfo(rpcURL, false)
	if err := fundHotWallet(ctx, svc, creds.ProjectID, rpcURL); err != nil {
		log.Warn("fund the demo project's hot wallet", "err", err)
	}
	if c.Chains["devnet"].RPCURLs == nil {
		c.Chains["devnet"] = ChainConfig{RPCURLs: []string{rpcURL}}
	}
	if *confirmations > 0 {
		dc := c.Chains["devnet"]
		dc.Confirmations = *confirmations
		c.Chains["devnet"] = dc
	}
	reg, scanners, err := chainsFor(c.Chains)
	if err != nil {
		return err
	}
	for _, sc := range scanners {
		if sc.Chain.Slug == "devnet" && c.Chains["devnet"].PollInterval == "" {
			sc.Interval = 250 * time.Millisecond
		}
	}
	hooks := &devHooks{
		Pay: func(ctx context.Context, o *gateway.Order) (string, error) {
			h, err := devnet.Pay(ctx, rpcURL, o.Currency, common.HexToAddress(o.Address), web.Due(o))
			return h.Hex(), err
		},
		// The file stays true: a webhook secret rotated through the API is written to it at once.
		WebhookSecretRotated: func(projectID string, mode gateway.Mode, secret string) {
			if mode != gateway.Test {
				return
			}
			if ok, err := updateDevCredentials(credsPath, projectID, func(d *devCredentials) { d.WebhookSecret = secret }); err != nil {
				log.Error("write dev credentials", "err", err)
			} else if ok {
				log.Info("webhook secret rotated: " + credsPath + " holds the new one")
			}
		},
	}
	chainNote := "kept in " + chainDir + ": stop with Ctrl-C and a restart goes on with it (paid orders stay paid); --fresh starts over"
	if *devnetRPC != "" {
		chainNote = "run apart (stablegate devnet): it keeps its own chain"
	}
	return startGateway(ctx, c, st, kr, log, reg, scanners, hooks, func(base string) {
		creds.BaseURL = base
		if _, err := updateDevCredentials(credsPath, creds.ProjectID, func(d *devCredentials) { d.BaseURL, d.devnetInfo = base, creds.devnetInfo }); err != nil {
			log.Error("write dev credentials", "err", err)
		}
		// A fresh demo order, so that the payment page can be tried at once.
		demo := "(could not create a demo order)"
		if pr, err := svc.Authenticate(ctx, creds.APIKey); err == nil {
			if o, _, err := svc.CreateOrder(ctx, pr, gateway.OrderInput{Reference: "demo-" + time.Now().UTC().Format("20060102-150405.000"),
				Amount: "10.50", Currency: "USDT", ChainID: "devnet"}); err == nil {
				demo = base + "/pay/" + o.ID
			}
		}
		fmt.Fprintf(stdout, `stablegate dev is running at %s

Open a demo order's payment page in your browser and press "Pay with the dev wallet":
  %s

Demo project %s (test mode). Credentials, also in %s:
  API key:        %s
  API secret:     %s
  Webhook secret: %s

Try it:
  curl -s %s/api/v1/orders -H "Authorization: Bearer %s" -H "Content-Type: application/json" \
    -d '{"orderReference":"order_1","amount":"10.50","currency":"USDT","chainId":"devnet"}'

Devnet (chain "devnet", id %d): %s
  %s
  Pay an order: open its paymentUrl in a browser and press "Pay with the dev wallet", or
  stablegate dev pay --to <order address> --amount 10.50 --currency USDT
  Sweep what paid orders hold into the project's hot wallet (it has 100 ETH of gas):
  stablegate sweep --data %s --project %s --chain devnet

Webhooks (local URLs are allowed in dev):
  curl -s -X PUT %s/api/v1/webhook/endpoint -H "Authorization: Bearer %s" -H "x-api-secret: %s" \
    -H "Content-Type: application/json" -d '{"url":"http://localhost:3000/webhooks"}'

Dashboard: %s/dashboard/
  sign in as %s with the password %s

API description: %s/docs/openapi.json — stop with Ctrl-C.
`, base, demo, creds.ProjectID, credsPath, creds.APIKey, creds.APISecret, creds.WebhookSecret, base, creds.APIKey, creds.ChainID, creds.RPCURL, chainNote,
			c.DataDir, creds.ProjectID, base, creds.APIKey, creds.APISecret, base, creds.DashboardEmail, creds.DashboardPassword, base)
	})
}

// fundHotWallet gives the demo project's test hot wallet on the devnet 100 ETH from the dev wallet
// when it holds less than 1: its gas for sweeps.
func fundHotWallet(ctx context.Context, svc *gateway.Service, projectID, rpcURL string) error {
	hot, err := svc.HotWalletAddress(ctx, projectID, gateway.Test, "devnet")
	if err != nil {
		return err
	}
	client, err := evm.NewClient([]string{rpcURL}, evm.Config{Chain: "devnet"})
	if err != nil {
		return err
	}
	defer client.Close()
	addr := common.HexToAddress(hot)
	bal, err := evm.Nodes{"devnet": client}.NativeBalance(ctx, "devnet", addr)
	if err != nil {
		return err
	}
	ether := big.NewInt(1e18)
	if bal.Cmp(ether) >= 0 {
		return nil
	}
	_, err = devnet.Fund(ctx, rpcURL, addr, new(big.Int).Mul(ether, big.NewInt(100)))
	return err
}

// startOver is `dev --fresh`: it removes the dev database (SQLite only), the devnet chain (unless
// the devnet runs apart) and the demo credentials, after saying what they held. The master key stays.
func startOver(c *Config, chainDir, credsPath string, externalDevnet bool, w io.Writer) error {
	db, ok := sqlitePath(c)
	if !ok {
		return usageError{"--fresh removes a SQLite database only: with " + redactDSN(c.Database) + ", reset the database yourself"}
	}
	var lost, paths []string
	if !externalDevnet && devnet.HasChain(chainDir) {
		what := "the devnet chain in " + chainDir
		if h, err := devnet.LastHead(chainDir); err == nil && h != nil {
			what = fmt.Sprintf("the devnet chain in %s (%d blocks, every dev payment)", chainDir, h.Number)
		}
		lost, paths = append(lost, what), append(paths, chainDir)
	}
	if _, err := os.Stat(db); err == nil {
		lost = append(lost, "the database "+db+" (its projects, orders, deposits, payment links and webhooks)")
		paths = append(paths, db, db+"-wal", db+"-shm")
	}
	if _, err := os.Stat(credsPath); err == nil {
		lost, paths = append(lost, "the demo project's credentials in "+credsPath), append(paths, credsPath)
	}
	if len(lost) == 0 {
		fmt.Fprintf(w, "--fresh: nothing to remove in %s\n", c.DataDir)
		return nil
	}
	fmt.Fprintf(w, "--fresh: starting over; removing\n  %s\n", strings.Join(lost, "\n  "))
	for _, p := range paths {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("--fresh: %w", err)
		}
	}
	return nil
}

// demoProject returns the demo project's credentials, creating the project on first start.
func demoProject(ctx context.Context, svc *gateway.Service, path string) (*devCredentials, error) {
	var creds devCredentials
	data, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(data, &creds); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if p, err := svc.Store.FindProject(ctx, creds.ProjectID); err == nil {
			if creds.WebhookSecret == "" { // written before webhooks existed
				s, err := svc.RotateWebhookSecret(ctx, &gateway.Principal{Project: p, Mode: gateway.Test, SecretProven: true})
				if err != nil {
					return nil, err
				}
				creds.WebhookSecret = s.Secret
			}
			// The key pair was revoked (projects revoke-key) or the file lost it: a new one.
			if pr, err := svc.Authenticate(ctx, creds.APIKey); err != nil || pr.Project.ID != p.ID || pr.Mode != gateway.Test {
				pair, _, err := svc.NewCredential(ctx, p.ID, gateway.Test)
				if err != nil {
					return nil, err
				}
				creds.APIKey, creds.APISecret = pair.Key, pair.Secret
			}
			return &creds, writeJSON(path, &creds)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	website := "http://localhost"
	cp, err := svc.CreateProject(ctx, gateway.CreateProjectParams{Name: "Demo shop", Website: website})
	if gateway.ErrorCode(err) == gateway.EConflict {
		// The credentials file was removed but its project is still in the database.
		website = "http://" + gateway.NewID("demo")[5:] + ".localhost"
		cp, err = svc.CreateProject(ctx, gateway.CreateProjectParams{Name: "Demo shop", Website: website})
	}
	if err != nil {
		return nil, fmt.Errorf("create demo project: %w", err)
	}
	for _, k := range cp.Keys {
		if k.Mode == gateway.Test {
			creds = devCredentials{APIKey: k.Key, APISecret: k.Secret, WebhookSecret: cp.WebhookSecrets[gateway.Test], ProjectID: cp.Project.ID}
		}
	}
	return &creds, writeJSON(path, &creds)
}

// demoEmail is the demo project's dashboard owner.
const demoEmail = "owner@demo.localhost"

// demoOwner makes sure the demo project has its dashboard owner, whose password the credentials
// file keeps (one of the dev's own, not one to change at first sign-in).
func demoOwner(ctx context.Context, svc *gateway.Service, creds *devCredentials, path string) error {
	if creds.DashboardPassword != "" {
		if u, err := svc.Store.FindUserByEmail(ctx, creds.DashboardEmail); err == nil && gateway.CheckPassword(u.PasswordHash, creds.DashboardPassword) {
			return nil
		}
	}
	b := make([]byte, 10)
	rand.Read(b)
	creds.DashboardEmail, creds.DashboardPassword = demoEmail, strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	_, _, err := svc.CreateUser(ctx, creds.DashboardEmail, creds.DashboardPassword, creds.ProjectID, gateway.RoleOwner)
	if gateway.ErrorCode(err) == gateway.EConflict { // the file lost the password: a new one
		u, ferr := svc.Store.FindUserByEmail(ctx, creds.DashboardEmail)
		if ferr != nil {
			return ferr
		}
		err = svc.Store.SetPassword(ctx, u.ID, gateway.HashPassword(creds.DashboardPassword))
	}
	if err != nil {
		return fmt.Errorf("create the demo dashboard owner: %w", err)
	}
	return writeJSON(path, creds)
}

// devHooks are what `stablegate dev` adds to the gateway: the dev wallet's payments, and keeping
// dev-credentials.json true.
type devHooks struct {
	Pay                  web.DevPay
	WebhookSecretRotated func(projectID string, mode gateway.Mode, secret string)
}

// devCredentialsMu serializes this process's rewrites of dev-credentials.json.
var devCredentialsMu sync.Mutex

// updateDevCredentials applies change to the dev credentials file at path, read afresh (another
// command may have rewritten it), when the file exists and is the project's; it reports whether it
// rewrote the file.
func updateDevCredentials(path, projectID string, change func(*devCredentials)) (bool, error) {
	devCredentialsMu.Lock()
	defer devCredentialsMu.Unlock()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	var creds devCredentials
	if err := json.Unmarshal(data, &creds); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if creds.ProjectID != projectID {
		return false, nil
	}
	change(&creds)
	return true, writeJSON(path, &creds)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
