package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

const projectsUsage = `Usage:
  stablegate projects create --name NAME --website URL [--webhook-url URL] [--xpub-evm XPUB] [--xpub-tron XPUB] [--json]
  stablegate projects list [--json]
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
	kr, err := loadKeyring(c, false)
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
		UnderpaymentTolerance: strings.TrimSuffix(*tolerance, "%")})
	if err != nil {
		return err
	}
	out := created(cp)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
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
	c, err := cf.load()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c)
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
		WatchOnly bool   `json:"watchOnly"`
		CreatedAt string `json:"createdAt"`
	}
	rows := make([]row, 0, len(projects))
	for _, p := range projects {
		rows = append(rows, row{p.ID, p.Name, p.Website, p.WatchOnly(), p.CreatedAt.Format("2006-01-02T15:04:05Z07:00")})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tWEBSITE\tWATCH-ONLY\tCREATED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", r.ProjectID, r.Name, r.Website, r.WatchOnly, r.CreatedAt)
	}
	return tw.Flush()
}
