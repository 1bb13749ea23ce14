package threepay

import (
	"context"
	"encoding/json"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// A 3PAY user has a wallet per network family: the deposit reference userId holds its EVM address
// (ERC20 and BEP20), and userId + TronSuffix its TRON address (TRC20), since a deposit reference
// binds one protocol. Both are deposit references of the native API.
const TronSuffix = ":TRC20"

// WalletOperations derive and watch new addresses: 3PAY's wallet-generation rate tier.
var WalletOperations = []string{"threePayCreateUser", "threePayGenerateWallet"}

// User is a 3PAY user with their wallets.
type User struct {
	UserID    string    `json:"userId"`
	Email     string    `json:"email,omitempty"`
	Wallets   []Wallet  `json:"wallets"`
	CreatedAt time.Time `json:"createdAt"`
	Livemode  bool      `json:"livemode"`
}

// Wallet is a user's deposit address for a family of networks.
type Wallet struct {
	Networks        []string `json:"networks" doc:"The networks the address receives on: ERC20 and BEP20 share an EVM address, TRC20 has its own"`
	Address         string   `json:"address"`
	MonitoredChains []string `json:"monitoredChains" doc:"The chains this gateway watches the address on, in the key's mode"`
}

// WalletBalance is what a user holds, per network, chain and currency.
type WalletBalance struct {
	UserID   string          `json:"userId"`
	Balances []NetworkAmount `json:"balances"`
	Livemode bool            `json:"livemode"`
}

// NetworkAmount is a user's balance of a currency on a chain.
type NetworkAmount struct {
	Network   string `json:"network"`
	ChainID   string `json:"chainId"`
	Currency  string `json:"currency"`
	Available string `json:"available" doc:"Confirmed deposits less withdrawals held or made: what the user may withdraw"`
	Pending   string `json:"pending" doc:"Deposits waiting for their confirmations"`
	Held      string `json:"held" doc:"Withdrawals requested, not final yet"`
}

type createUserInput struct {
	Body struct {
		UserID string `json:"userId" maxLength:"120" doc:"Your user's id" example:"user_42"`
		Email  string `json:"email" maxLength:"254" doc:"Your user's email address" example:"ada@example.com"`
	}
}

type generateInput struct {
	Body struct {
		UserID  string `json:"userId" maxLength:"120" doc:"Your user's id" example:"user_42"`
		Network string `json:"network,omitempty" enum:"ERC20,TRC20,BEP20" doc:"Only this network's wallet (default: every network the gateway watches)"`
	}
}

type userOutput struct {
	Status int
	Body   Envelope[User]
}

type userQuery struct {
	UserID string `query:"userId" maxLength:"120" required:"true" example:"user_42"`
}

type balanceOutput struct {
	Body Envelope[WalletBalance]
}

func (a *adapter) registerWallets(api huma.API) {
	tags := []string{Tag}
	huma.Register(api, huma.Operation{OperationID: "threePayCreateUser", Method: http.MethodPost, Path: "/api/v1/public/user/create",
		Summary: "Create a user with wallets (3PAY)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "A user (userId and email, both required) and their wallet addresses on every network the gateway watches; creating " +
			"them again returns the same addresses with 200.",
		Responses: map[string]*huma.Response{"200": {Description: "The user existed already", Content: map[string]*huma.MediaType{
			"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/EnvelopeUser"}}}}}}, a.createUser)
	huma.Register(api, huma.Operation{OperationID: "threePayGenerateWallet", Method: http.MethodPost, Path: "/api/v1/public/wallet/generate",
		Summary: "Generate a user's wallets (3PAY)", Tags: tags, DefaultStatus: http.StatusOK,
		Description: "The user's wallet addresses, made on first use: the same addresses every time."}, a.generate)
	huma.Register(api, huma.Operation{OperationID: "threePayWalletDetails", Method: http.MethodGet, Path: "/api/v1/public/wallet/details",
		Summary: "Get a user's wallets (3PAY)", Tags: tags}, a.details)
	huma.Register(api, huma.Operation{OperationID: "threePayWalletBalance", Method: http.MethodGet, Path: "/api/v1/public/wallet/balance",
		Summary: "Get a user's wallet balance (3PAY)", Tags: tags}, a.balance)
}

func (a *adapter) createUser(ctx context.Context, in *createUserInput) (*userOutput, error) {
	b := in.Body
	if b.UserID == "" {
		return nil, a.host.Error(ctx, gateway.Errorf(gateway.EInvalid, "userId", "userId is required"))
	}
	if addr, err := mail.ParseAddress(b.Email); err != nil || addr.Address != b.Email {
		return nil, a.host.Error(ctx, gateway.Errorf(gateway.EInvalid, "email", "email must be an email address such as ada@example.com"))
	}
	u, created, err := a.bind(ctx, b.UserID, b.Email, "")
	if err != nil {
		return nil, err
	}
	if !created {
		return &userOutput{Status: http.StatusOK, Body: Envelope[User]{Success: true, Data: *u, Message: "User already exists"}}, nil
	}
	return &userOutput{Status: http.StatusCreated, Body: Envelope[User]{Success: true, Data: *u, Message: "User created successfully"}}, nil
}

func (a *adapter) generate(ctx context.Context, in *generateInput) (*userOutput, error) {
	if in.Body.UserID == "" {
		return nil, a.host.Error(ctx, gateway.Errorf(gateway.EInvalid, "userId", "userId is required"))
	}
	u, _, err := a.bind(ctx, in.Body.UserID, "", in.Body.Network)
	if err != nil {
		return nil, err
	}
	return &userOutput{Status: http.StatusOK, Body: Envelope[User]{Success: true, Data: *u, Message: "Wallets generated"}}, nil
}

// families are the user's wallets: the protocol, its deposit reference's suffix, its networks.
var families = []struct {
	protocol chain.Protocol
	suffix   string
	networks []string
}{{chain.EVM, "", []string{"ERC20", "BEP20"}}, {chain.TRON, TronSuffix, []string{"TRC20"}}}

// bind binds the user's wallets (those of network, or all the gateway watches) and returns the
// user; created says a wallet is new. The email is kept in the EVM wallet's metadata.
func (a *adapter) bind(ctx context.Context, userID, email, network string) (*User, bool, error) {
	pr := a.host.Principal(ctx)
	anyCreated := false
	for _, f := range families {
		if network != "" && !slices.Contains(f.networks, network) || len(a.svc.MonitoredChains(f.protocol, pr.Mode)) == 0 {
			continue
		}
		var meta json.RawMessage
		if email != "" && f.protocol == chain.EVM {
			meta, _ = json.Marshal(map[string]string{"email": email, "userId": userID})
		}
		_, created, err := a.svc.BindDeposit(ctx, pr, userID+f.suffix, string(f.protocol), meta)
		if err != nil {
			return nil, false, a.host.Error(ctx, renamedUser(err))
		}
		anyCreated = anyCreated || created
	}
	u, err := a.user(ctx, userID)
	if err != nil {
		return nil, false, err
	}
	return u, anyCreated, nil
}

// user reads the user's wallets; a user with none is NotFound.
func (a *adapter) user(ctx context.Context, userID string) (*User, error) {
	pr := a.host.Principal(ctx)
	u := &User{UserID: userID, Wallets: []Wallet{}, Livemode: pr.Mode.Live()}
	for _, f := range families {
		b, _, err := a.svc.DepositReference(ctx, pr, userID+f.suffix)
		if gateway.ErrorCode(err) == gateway.ENotFound {
			continue
		} else if err != nil {
			return nil, a.host.Error(ctx, err)
		}
		if u.CreatedAt.IsZero() || b.BoundAt.Before(u.CreatedAt) {
			u.CreatedAt = b.BoundAt
		}
		var meta struct{ Email string }
		if json.Unmarshal(b.Metadata, &meta) == nil && meta.Email != "" {
			u.Email = meta.Email
		}
		u.Wallets = append(u.Wallets, Wallet{Networks: f.networks, Address: b.Address, MonitoredChains: a.svc.MonitoredChains(f.protocol, pr.Mode)})
	}
	if len(u.Wallets) == 0 {
		return nil, a.host.Error(ctx, gateway.Errorf(gateway.ENotFound, "userId", "No user %q: create it first (POST /api/v1/public/user/create)", userID))
	}
	return u, nil
}

func (a *adapter) details(ctx context.Context, in *userQuery) (*userOutput, error) {
	u, err := a.user(ctx, in.UserID)
	if err != nil {
		return nil, err
	}
	return &userOutput{Status: http.StatusOK, Body: Envelope[User]{Success: true, Data: *u}}, nil
}

func (a *adapter) balance(ctx context.Context, in *userQuery) (*balanceOutput, error) {
	pr := a.host.Principal(ctx)
	out := WalletBalance{UserID: in.UserID, Balances: []NetworkAmount{}, Livemode: pr.Mode.Live()}
	found := false
	for _, f := range families {
		bs, err := a.svc.UserBalances(ctx, pr, in.UserID+f.suffix)
		if gateway.ErrorCode(err) == gateway.ENotFound {
			continue
		} else if err != nil {
			return nil, a.host.Error(ctx, err)
		}
		found = true
		for _, b := range bs {
			c, _ := a.svc.ChainRegistry().Lookup(b.ChainID)
			tok, _ := c.Token(b.Currency)
			out.Balances = append(out.Balances, NetworkAmount{Network: gateway.NetworkName(c), ChainID: b.ChainID, Currency: b.Currency,
				Available: money.Format(b.Available, tok.Decimals), Pending: money.Format(b.Pending, tok.Decimals), Held: money.Format(b.Held, tok.Decimals)})
		}
	}
	if !found {
		return nil, a.host.Error(ctx, gateway.Errorf(gateway.ENotFound, "userId", "No user %q: create it first (POST /api/v1/public/user/create)", in.UserID))
	}
	return &balanceOutput{Body: Envelope[WalletBalance]{Success: true, Data: out}}, nil
}

// renamedUser names userId in a deposit binding's error, with its own limit (a user's TRON
// reference is userId + TronSuffix).
func renamedUser(err error) error {
	err = rename(err, map[string]string{"depositReference": "userId"})
	if de, ok := err.(*gateway.Error); ok && de.Param == "userId" && strings.Contains(de.Message, "printable characters") {
		de.Message = "userId must be 1 to 120 printable characters"
	}
	return err
}
