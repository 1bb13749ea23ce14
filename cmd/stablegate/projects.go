package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

const projectsUsage = `Usage:
  stablegate projects create --name NAME --website URL [--webhook-url URL] [--xpub-evm XPUB] [--xpub-tron XPUB] [--json]
  stablegate projects list [--json]
  stablegate projects keys --project ID [--json]                 list a project's API keys
  stablegate projects new-key --project ID --mode test|live [--json]   another key pair, shown once
  stablegate projects revoke-key --key KEY_ID|pk_…               refuse a key from now on
  stablegate projects update ID [--name N] [--website URL] [--payment-window MIN] [--grace MIN] [--underpayment-tolerance PCT] [--confirmations chain=n,…] [--allowed-origins URL,…] [--shared-address chain[=step:max],…]
  stablegate projects disable ID                                  refuse its keys and its payment links' payers
  stablegate projects enable ID
  stablegate projects go-live ID                                  take its live keys (a project starts in test mode)
  stablegate projects go-test ID                                  refuse its live keys again
`

func runProjects(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, projectsUsage)
		return usageError{"projects needs a subcommand: create or list"}
	}
	switch args[0] {
	case "create":
		return runProjectsCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return runProjectsList(ctx, args[1:], stdout, stderr)
	case "keys":
		return runProjectsKeys(ctx, args[1:], stdout, stderr)
	case "new-key":
		return runProjectsNewKey(ctx, args[1:], stdout, stderr)
	case "revoke-key":
		return runProjectsRevokeKey(ctx, args[1:], stdout, stderr)
	case "update":
		return runProjectsUpdate(ctx, args[1:], stdout, stderr)
	case "disable", "enable", "go-live", "go-test":
		return runProjectsSwitch(ctx, args[0], args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, projectsUsage)
		return nil
	}
	fmt.Fprint(stderr, projectsUsage)
	return usageError{fmt.Sprintf("unknown projects subcommand %q", args[0])}
}

// createdJSON is what projects create --json prints: everything that is shown only once.
type createdJSON struct {
	ProjectID   string            `json:"projectId"`
	Name        string            `json:"name"`
	Website     string            `json:"website"`
	Test        keysJSON          `json:"test"`
	Live        keysJSON          `json:"live"`
	XPubs       map[string]string `json:"xpubs"`
	WatchOnly   bool              `json:"watchOnly"`
	Mnemonic    string            `json:"mnemonic,omitempty"`
	LiveReady   bool              `json:"liveReady"`
	LiveMode    bool              `json:"liveMode"`
	LiveWarning string            `json:"liveWarning,omitempty"`
	WebhookNote string            `json:"webhookNote,omitempty"`
}

type keysJSON struct {
	APIKey        string `json:"apiKey"`
	APISecret     string `json:"apiSecret"`
	WebhookSecret string `json:"webhookSecret"`
	WebhookURL    string `json:"webhookUrl,omitempty"`
}

func runProjectsCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("projects create", "projects create --name NAME --website URL [flags]", stderr)
	cf := newConfigFlags(fs, false, nil)
	name := fs.String("name", "", "project name (required)")
	website := fs.String("website", "", "the project's website URL; its host is unique across projects (required)")
	webhook := fs.String("webhook-url", "", "webhook endpoint URL (both modes if https, test mode if http)")
	tolerance := fs.String("underpayment-tolerance", "", "percent an order's confirmed payments may fall short and still complete it (default 0)")
	xpubEVM := fs.String("xpub-evm", "", "account xpub (m/44'/60'/0') for a watch-only project")
	xpubTRON := fs.String("xpub-tron", "", "account xpub (m/44'/195'/0') for a watch-only project")
	live := fs.Bool("live", false, "switch it to live mode at once (default: it starts in test mode, live keys refused until projects go-live)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *website == "" {
		fs.Usage()
		return usageError{"--name and --website are required"}
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	xpubs := map[chain.Protocol]string{}
	if *xpubEVM != "" {
		xpubs[chain.EVM] = *xpubEVM
	}
	if *xpubTRON != "" {
		xpubs[chain.TRON] = *xpubTRON
	}
	kr, err := projectsKeyring(c)
	if err != nil {
		return fmt.Errorf("a project's webhook secrets (and a generated seed) are sealed with the master key: %w", err)
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := newService(c, st, kr, nil)
	cp, err := svc.CreateProject(ctx, gateway.CreateProjectParams{Name: *name, Website: *website, WebhookURL: *webhook, XPubs: xpubs,
		UnderpaymentTolerance: strings.TrimSuffix(*tolerance, "%"), Live: *live})
	if err != nil {
		return err
	}
	out := created(cp)
	if *asJSON {
		return printJSON(stdout, out)
	}
	printCreated(stdout, out)
	return nil
}

func created(cp *gateway.CreatedProject) createdJSON {
	p := cp.Project
	out := createdJSON{ProjectID: p.ID, Name: p.Name, Website: p.Website, XPubs: map[string]string{},
		WatchOnly: p.WatchOnly(), Mnemonic: cp.Mnemonic, LiveReady: p.LiveReady(), WebhookNote: cp.WebhookNote}
	for proto, x := range p.XPubs {
		out.XPubs[string(proto)] = x
	}
	urls := map[gateway.Mode]string{}
	for _, e := range cp.Webhooks {
		urls[e.Mode] = e.URL
	}
	for _, k := range cp.Keys {
		keys := keysJSON{k.Key, k.Secret, cp.WebhookSecrets[k.Mode], urls[k.Mode]}
		if k.Mode == gateway.Live {
			out.Live = keys
		} else {
			out.Test = keys
		}
	}
	out.LiveMode = p.LiveAt != nil
	if !out.LiveReady {
		out.LiveWarning = "the website is not an https URL on a real domain: live mode is refused until it is"
	}
	return out
}

func printCreated(w io.Writer, out createdJSON) {
	fmt.Fprintf(w, "Project %s (%s) created for %s\n\n", out.Name, out.ProjectID, out.Website)
	fmt.Fprintln(w, "Credentials — shown once, store them now:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  test API key\t%s\n  test API secret\t%s\n  test webhook secret\t%s\n", out.Test.APIKey, out.Test.APISecret, out.Test.WebhookSecret)
	fmt.Fprintf(tw, "  live API key\t%s\n  live API secret\t%s\n  live webhook secret\t%s\n", out.Live.APIKey, out.Live.APISecret, out.Live.WebhookSecret)
	tw.Flush()
	if out.Test.WebhookURL != "" {
		fmt.Fprintf(w, "\nWebhooks go to %s (test)", out.Test.WebhookURL)
		if out.Live.WebhookURL != "" {
			fmt.Fprint(w, " and (live)")
		}
		fmt.Fprintln(w, ".")
	}
	if out.WebhookNote != "" {
		fmt.Fprintf(w, "Note: %s.\n", out.WebhookNote)
	}
	if out.Mnemonic != "" {
		fmt.Fprintf(w, "\nRecovery phrase of the project's wallet — shown once, write it down and keep it offline:\n  %s\n", out.Mnemonic)
	} else {
		fmt.Fprintln(w, "\nWatch-only project: stablegate derives addresses from your xpubs; sweeps and payouts will need your own wallet.")
	}
	if !out.LiveMode {
		fmt.Fprintf(w, "\nThe project is in test mode: its live keys are refused until you switch it: stablegate projects go-live %s\n", out.ProjectID)
	}
	if out.LiveWarning != "" {
		fmt.Fprintf(w, "\nNote: %s.\n", out.LiveWarning)
	}
}

func runProjectsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("projects list", "projects list [--json]", stderr)
	cf := newConfigFlags(fs, false, nil)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := cf.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	projects, err := st.ListProjects(ctx)
	if err != nil {
		return err
	}
	type row struct {
		ProjectID string `json:"projectId"`
		Name      string `json:"name"`
		Website   string `json:"website"`
		Mode      string `json:"mode"` // test (live keys refused) or live
		WatchOnly bool   `json:"watchOnly"`
		Disabled  bool   `json:"disabled"`
		CreatedAt string `json:"createdAt"`
	}
	rows := make([]row, 0, len(projects))
	for _, p := range projects {
		mode := "test"
		if p.LiveAt != nil {
			mode = "live"
		}
		rows = append(rows, row{p.ID, p.Name, p.Website, mode, p.WatchOnly(), p.DisabledAt != nil, p.CreatedAt.Format("2006-01-02T15:04:05Z07:00")})
	}
	if *asJSON {
		return printJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tWEBSITE\tMODE\tWATCH-ONLY\tDISABLED\tCREATED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%v\t%s\n", r.ProjectID, r.Name, r.Website, r.Mode, r.WatchOnly, r.Disabled, r.CreatedAt)
	}
	return tw.Flush()
}

// Key rotation without downtime: new-key gives the project a second pair for the mode, the
// integration switches to it, and revoke-key retires the old one. A running server refuses a
// revoked key within gateway.CacheTTL.

// keyJSON is one API key as projects keys lists it: never the key itself, only its hint.
type keyJSON struct {
	KeyID     string `json:"keyId"`
	Mode      string `json:"mode"`
	Key       string `json:"key"`
	CreatedAt string `json:"createdAt"`
	RevokedAt string `json:"revokedAt,omitempty"`
}

func runProjectsKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("projects keys", "projects keys --project ID [--json]", stderr)
	cf := newConfigFlags(fs, false, nil)
	project := fs.String("project", "", "project id (required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *project == "" {
		fs.Usage()
		return usageError{"--project is required"}
	}
	st, err := cf.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.FindProject(ctx, *project); err != nil {
		return fmt.Errorf("project %s: %w", *project, err)
	}
	creds, err := st.ListCredentials(ctx, *project)
	if err != nil {
		return err
	}
	rows := make([]keyJSON, 0, len(creds))
	for _, k := range creds {
		r := keyJSON{KeyID: k.ID, Mode: string(k.Mode), Key: k.KeyHint, CreatedAt: k.CreatedAt.Format(time.RFC3339)}
		if k.RevokedAt != nil {
			r.RevokedAt = k.RevokedAt.Format(time.RFC3339)
		}
		rows = append(rows, r)
	}
	if *asJSON {
		return printJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tMODE\tKEY\tCREATED\tREVOKED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.KeyID, r.Mode, r.Key, r.CreatedAt, r.RevokedAt)
	}
	return tw.Flush()
}

func runProjectsNewKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("projects new-key", "projects new-key --project ID --mode test|live [--json]", stderr)
	cf := newConfigFlags(fs, false, nil)
	project := fs.String("project", "", "project id (required)")
	mode := fs.String("mode", "", "test or live (required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *project == "" || *mode == "" {
		fs.Usage()
		return usageError{"--project and --mode are required"}
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	kr, err := projectsKeyring(c)
	if err != nil {
		return fmt.Errorf("an API secret is stored sealed with the master key: %w", err)
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := newService(c, st, kr, nil)
	pair, cred, err := svc.NewCredential(ctx, *project, gateway.Mode(*mode))
	if err != nil {
		return err
	}
	// The demo project of `stablegate dev`: its credentials file shows the newest test pair.
	devFile := ""
	if cred.Mode == gateway.Test {
		path := filepath.Join(c.DataDir, "dev-credentials.json")
		if ok, err := updateDevCredentials(path, *project, func(d *devCredentials) { d.APIKey, d.APISecret = pair.Key, pair.Secret }); err != nil {
			return err
		} else if ok {
			devFile = path
		}
	}
	if *asJSON {
		return printJSON(stdout, struct {
			KeyID     string `json:"keyId"`
			Mode      string `json:"mode"`
			APIKey    string `json:"apiKey"`
			APISecret string `json:"apiSecret"`
		}{cred.ID, *mode, pair.Key, pair.Secret})
	}
	fmt.Fprintf(stdout, "New %s key pair %s for project %s — shown once, store it now:\n", *mode, cred.ID, *project)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  API key\t%s\n  API secret\t%s\n", pair.Key, pair.Secret)
	tw.Flush()
	fmt.Fprintf(stdout, "\nThe project's other keys keep working: once your integration uses this one, retire the old one with\n"+
		"  stablegate projects revoke-key --key KEY_ID   (stablegate projects keys --project %s lists them)\n", *project)
	if devFile != "" {
		fmt.Fprintf(stdout, "%s now holds this pair.\n", devFile)
	}
	return nil
}

func runProjectsRevokeKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("projects revoke-key", "projects revoke-key --key KEY_ID|pk_…", stderr)
	cf := newConfigFlags(fs, false, nil)
	key := fs.String("key", "", "the key's id (key_…, from projects keys) or the API key itself (pk_…) (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" {
		fs.Usage()
		return usageError{"--key is required"}
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := &gateway.Service{Store: st}
	id := *key
	if strings.HasPrefix(id, "pk_") {
		cred, err := svc.FindCredentialByKey(ctx, id)
		if err != nil {
			return err
		}
		id = cred.ID
	}
	// The pair in `stablegate dev`'s credentials file: the file stops showing it, and the next
	// `stablegate dev` makes the demo project a new pair.
	path, devProject := filepath.Join(c.DataDir, "dev-credentials.json"), ""
	if data, err := os.ReadFile(path); err == nil {
		var d devCredentials
		if json.Unmarshal(data, &d) == nil && d.APIKey != "" {
			if held, err := svc.FindCredentialByKey(ctx, d.APIKey); err == nil && held.ID == id {
				devProject = d.ProjectID
			}
		}
	}
	if err := svc.RevokeCredential(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Revoked %s: requests with it answer 401 from now on (a running server within %s).\n", id, gateway.CacheTTL)
	if devProject != "" {
		if _, err := updateDevCredentials(path, devProject, func(d *devCredentials) { d.APIKey, d.APISecret = "", "" }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s held this pair: it no longer does, and the next stablegate dev makes the demo project a new one.\n", path)
	}
	return nil
}

// projectArg splits a subcommand's arguments into the project id, given first or as --project, and
// the flags.
func projectArg(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

func runProjectsUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	id, args := projectArg(args)
	fs := newFlagSet("projects update", "projects update ID [--name N] [--website URL] [--payment-window MIN] [--grace MIN] [--underpayment-tolerance PCT] [--confirmations chain=n,…] [--allowed-origins URL,…] [--shared-address chain[=step:max],…]", stderr)
	cf := newConfigFlags(fs, false, nil)
	project := fs.String("project", id, "project id (or give it first)")
	var u gateway.ProjectUpdate
	fs.Func("name", "the project's `name`, shown to payers", func(v string) error { u.Name = &v; return nil })
	fs.Func("website", "the website `URL` (https on a real domain for live payments)", func(v string) error { u.Website = &v; return nil })
	fs.Func("underpayment-tolerance", "`percent` a confirmed payment may fall short and still complete an order, 0 to 10", func(v string) error { u.UnderpaymentTolerance = &v; return nil })
	intFlag := func(name, usage string, dst **int) {
		fs.Func(name, usage, func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return errors.New("want a whole number of minutes")
			}
			*dst = &n
			return nil
		})
	}
	fs.Func("confirmations", "confirmations payments on a chain need, above its rule: `chain=n`,… (0 drops a chain's)", func(v string) error {
		u.Confirmations = map[string]int{}
		for _, pair := range strings.Split(v, ",") {
			slug, count, ok := strings.Cut(strings.TrimSpace(pair), "=")
			n, err := strconv.Atoi(count)
			if !ok || err != nil {
				return errors.New("want chain=n pairs, e.g. ethereum=20,bsc=30")
			}
			u.Confirmations[slug] = n
		}
		return nil
	})
	fs.Func("allowed-origins", "browser origins whose pages may call the API with the project's keys (CORS): `https://host`,… (\"\" clears the list)", func(v string) error {
		origins := []string{}
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				origins = append(origins, o)
			}
		}
		u.AllowedOrigins = &origins
		return nil
	})
	fs.Func("shared-address", "chains whose orders are paid to the project's shared address with a unique pay amount: `chain[=step:maxOffset]`,… (chain=off drops a chain's; docs/shared-address.md)", func(v string) error {
		u.SharedAmounts = map[string]*gateway.SharedAmounts{}
		for _, item := range strings.Split(v, ",") {
			slug, setting, _ := strings.Cut(strings.TrimSpace(item), "=")
			switch step, most, ok := strings.Cut(setting, ":"); {
			case setting == "off":
				u.SharedAmounts[slug] = nil
			case setting == "":
				u.SharedAmounts[slug] = &gateway.SharedAmounts{}
			case ok:
				u.SharedAmounts[slug] = &gateway.SharedAmounts{Step: step, MaxOffset: most}
			default:
				return errors.New("want chain, chain=step:maxOffset or chain=off, e.g. tron=0.0001:0.0999")
			}
		}
		return nil
	})
	intFlag("payment-window", "payment window of new orders that name none: an `int` of minutes, 1 to 10080", &u.PaymentWindowMinutes)
	intFlag("grace", "grace period of new orders that name none: an `int` of minutes, 0 to 1440", &u.GraceMinutes)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *project == "" {
		fs.Usage()
		return usageError{"the project id is required: projects update ID --name …"}
	}
	if u.Name == nil && u.Website == nil && u.UnderpaymentTolerance == nil && u.PaymentWindowMinutes == nil && u.GraceMinutes == nil &&
		len(u.Confirmations) == 0 && u.AllowedOrigins == nil && len(u.SharedAmounts) == 0 {
		fs.Usage()
		return usageError{"nothing to change: give --name, --website, --payment-window, --grace, --underpayment-tolerance, --confirmations, --allowed-origins or --shared-address"}
	}
	st, err := cf.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := (&gateway.Service{Store: st}).UpdateProject(ctx, *project, u)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Updated %s: %q, %s (live payments: %s), payment window %d min, grace %d min, underpayment tolerance %s%%.\n",
		p.ID, p.Name, p.Website, map[bool]string{true: "yes", false: "no, the website is not https on a real domain"}[p.LiveReady()],
		p.PaymentWindowMinutes, p.GraceMinutes, gateway.FormatTolerance(p.UnderpaymentPPM))
	if len(p.Confirmations) > 0 {
		var asked []string
		for _, slug := range slices.Sorted(maps.Keys(p.Confirmations)) {
			asked = append(asked, fmt.Sprintf("%s=%d", slug, p.Confirmations[slug]))
		}
		fmt.Fprintf(stdout, "Confirmations asked above the chains' rules: %s.\n", strings.Join(asked, ", "))
	}
	if u.AllowedOrigins != nil {
		origins := "none (no browser page may call the API with the project's keys)"
		if len(p.AllowedOrigins) > 0 {
			origins = strings.Join(p.AllowedOrigins, ", ")
		}
		fmt.Fprintf(stdout, "Browser origins allowed: %s.\n", origins)
	}
	if len(u.SharedAmounts) > 0 {
		shared := "none (every order has an address of its own)"
		if len(p.SharedAmounts) > 0 {
			var on []string
			for _, slug := range slices.Sorted(maps.Keys(p.SharedAmounts)) {
				sa := p.SharedAmounts[slug]
				on = append(on, fmt.Sprintf("%s (offsets %s to %s)", slug, sa.Step, sa.MaxOffset))
			}
			shared = strings.Join(on, ", ")
		}
		fmt.Fprintf(stdout, "Chains paid to the shared address: %s.\n", shared)
	}
	fmt.Fprintf(stdout, "New orders take it (a running server within %s); existing orders keep their settings.\n", gateway.CacheTTL)
	return nil
}

// runProjectsSwitch runs a subcommand that switches one thing of a project (disable, enable,
// go-live, go-test) and says what it means.
func runProjectsSwitch(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	id, args := projectArg(args)
	fs := newFlagSet("projects "+verb, "projects "+verb+" ID", stderr)
	cf := newConfigFlags(fs, false, nil)
	project := fs.String("project", id, "project id (or give it first)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *project == "" {
		fs.Usage()
		return usageError{"the project id is required: projects " + verb + " ID"}
	}
	st, err := cf.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := &gateway.Service{Store: st}
	switch verb {
	case "disable", "enable":
		p, err := svc.SetProjectDisabled(ctx, *project, verb == "disable")
		if err != nil {
			return err
		}
		if p.DisabledAt != nil {
			fmt.Fprintf(stdout, "Disabled %s: its API keys answer 403 and its payment links take no payer (a running server within %s). "+
				"Its orders and deposit addresses are still watched and credited, and its webhooks still sent. Undo: stablegate projects enable %s\n",
				p.ID, gateway.CacheTTL, p.ID)
		} else {
			fmt.Fprintf(stdout, "Enabled %s: its API keys and payment links work again.\n", p.ID)
		}
	default: // go-live, go-test
		p, err := svc.SetProjectLive(ctx, *project, verb == "go-live")
		if err != nil {
			return err
		}
		if p.LiveAt != nil {
			fmt.Fprintf(stdout, "%s is in live mode: its live keys are taken (a running server within %s).", p.ID, gateway.CacheTTL)
			if !p.LiveReady() {
				fmt.Fprintf(stdout, " Live payments still need an https website on a real domain: %s is not one (projects update --website).", p.Website)
			}
			fmt.Fprintln(stdout)
		} else {
			fmt.Fprintf(stdout, "%s is in test mode: its live keys answer 403 (a running server within %s); what live orders it has are still watched and credited. Undo: stablegate projects go-live %s\n",
				p.ID, gateway.CacheTTL, p.ID)
		}
	}
	return nil
}

// projectsKeyring loads the master key for a projects command: the configured one, or else the
// one `stablegate dev` generated in the data directory, so that the CLI works on a dev data
// directory as it is.
func projectsKeyring(c *Config) (*gateway.Keyring, error) {
	if c.MasterKey == "" && c.MasterKeyFile == "" {
		if path := filepath.Join(c.DataDir, "master.key"); fileExists(path) {
			c.MasterKeyFile = path
		}
	}
	return loadKeyring(c, false)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
