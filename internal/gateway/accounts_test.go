package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/stablegate/stablegate/internal/gateway"
)

func TestRolesPermissions(t *testing.T) {
	want := map[gateway.Role]string{ // the permissions each role has, in the order below
		gateway.RoleOwner:     "read keys webhooks settings money team",
		gateway.RoleAdmin:     "read keys webhooks settings money",
		gateway.RoleDeveloper: "read keys webhooks",
		gateway.RoleViewer:    "read",
		gateway.Role("root"):  "",
	}
	all := []gateway.Permission{gateway.PermRead, gateway.PermKeys, gateway.PermWebhooks, gateway.PermSettings, gateway.PermMoney, gateway.PermTeam}
	for role, perms := range want {
		var got []string
		for _, p := range all {
			if role.Can(p) {
				got = append(got, string(p))
			}
		}
		if strings.Join(got, " ") != perms {
			t.Errorf("%s can %q, want %q", role, strings.Join(got, " "), perms)
		}
	}
	if _, err := gateway.ParseRole("Owner"); err == nil {
		t.Error("ParseRole took a role in another case")
	}
}

func TestPasswordHash(t *testing.T) {
	h := gateway.HashPassword("correct horse battery staple")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || h == gateway.HashPassword("correct horse battery staple") {
		t.Fatalf("hash %q: want argon2id with OWASP's parameters and a fresh salt each time", h)
	}
	if !gateway.CheckPassword(h, "correct horse battery staple") || gateway.CheckPassword(h, "correct horse battery stapl") ||
		gateway.CheckPassword(h, "") {
		t.Error("CheckPassword does not tell the password from others")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$a2V5", strings.Replace(h, "m=19456", "m=999999999", 1),
		strings.Replace(h, "t=2", "t=0", 1), h[:len(h)-10] + "!!!"} {
		if gateway.CheckPassword(bad, "correct horse battery staple") {
			t.Errorf("CheckPassword accepted the hash %q", bad)
		}
	}
}

func TestSessionLive(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		created, seen time.Duration // before now
		live          bool
	}{
		{time.Hour, time.Minute, true},
		{time.Hour, gateway.SessionIdle, false},
		{gateway.SessionMaxAge - time.Second, time.Second, true},
		{gateway.SessionMaxAge, time.Second, false},
	} {
		s := &gateway.Session{CreatedAt: at.Add(-c.created), LastSeenAt: at.Add(-c.seen)}
		if gateway.SessionLive(s, at) != c.live {
			t.Errorf("opened %v ago, seen %v ago: live %v, want %v", c.created, c.seen, !c.live, c.live)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{" Ana@Shop.Example.com ": "ana@shop.example.com", "a+b@x.io": "a+b@x.io",
		"Ana <ana@shop.example.com>": "", "ana": "", "ana@": "", "an\x00a@x.io": "", strings.Repeat("a", 250) + "@x.io": ""} {
		got, err := gateway.NormalizeEmail(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// The enrolment's otpauth URL names the account whatever its email holds (+, #, %): the app
// shows the right account, and the secret read back from the store is the one shown first.
func TestEnrolmentURLEscapesTheEmail(t *testing.T) {
	kr, _ := gateway.NewKeyring(make([]byte, 32))
	svc := &gateway.Service{Store: &pendingOnly{}, Keyring: kr}
	u := &gateway.User{ID: "usr_1", Email: "ana+shop#1%x@shop.example.com"}
	e, err := svc.BeginTwoFactor(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.PendingTwoFactor(u)
	if err != nil || again.Secret != e.Secret || again.URL != e.URL {
		t.Fatalf("the pending enrolment read back: %+v, %v (first %+v)", again, err, e)
	}
	key, err := otp.NewKeyFromURL(e.URL)
	if err != nil || key.AccountName() != u.Email || key.Issuer() != "stablegate" || key.Secret() != e.Secret {
		t.Fatalf("the URL %s reads account %q issuer %q: %v", e.URL, key.AccountName(), key.Issuer(), err)
	}
}

// pendingOnly is a store that keeps a pending two-factor secret and nothing else.
type pendingOnly struct{ gateway.Store }

func (*pendingOnly) SetTOTPPending(context.Context, string, []byte) error { return nil }
