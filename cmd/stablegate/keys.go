package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/stablegate/stablegate/internal/gateway"
)

const keysUsage = `Usage: stablegate keys rotate-master [flags]

  rotate-master  seal every sealed value (seeds, API secrets, webhook secrets, stored answers)
                 again under the master key, opening what the previous master key sealed; in one
                 transaction, so until it completes everything stays readable with the previous key.
                 Without a previous key it checks that every value opens with the master key.

The master key comes from STABLEGATE_MASTER_KEY or --master-key-file, the previous one from
STABLEGATE_PREVIOUS_MASTER_KEY or --previous-master-key-file. docs/security.md says how to
rotate without stopping the gateway.
`

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate-master" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, keysUsage)
			return nil
		}
		fmt.Fprint(stderr, keysUsage)
		if len(args) == 0 {
			return usageError{"keys: no subcommand given"}
		}
		return usageError{fmt.Sprintf("keys: unknown subcommand %q", args[0])}
	}
	fs := newFlagSet("keys rotate-master", "keys rotate-master [--previous-master-key-file FILE] [--json]", stderr)
	cf := newConfigFlags(fs, false, nil)
	asJSON := fs.Bool("json", false, "print what was done as JSON")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	kr, err := projectsKeyring(c)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := (&gateway.Service{Store: st, Keyring: kr}).RotateMasterKey(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		type count struct {
			Checked  int `json:"checked"`
			Resealed int `json:"resealed"`
		}
		out := struct {
			KeyID          string                       `json:"keyId"`
			PreviousKeyIDs []string                     `json:"previousKeyIds"`
			Values         map[gateway.SealedKind]count `json:"values"`
		}{r.KeyID, r.PreviousKeyIDs, map[gateway.SealedKind]count{}}
		for _, k := range gateway.SealedKinds {
			out.Values[k] = count{r.Checked[k], r.Resealed[k]}
		}
		return printJSON(stdout, out)
	}
	checked, resealed := 0, 0
	for _, k := range gateway.SealedKinds {
		checked, resealed = checked+r.Checked[k], resealed+r.Resealed[k]
	}
	if len(r.PreviousKeyIDs) == 0 {
		fmt.Fprintf(stdout, "master key %s (no previous master key configured)\n", r.KeyID)
	} else {
		fmt.Fprintf(stdout, "master key %s, previous master key %s\n", r.KeyID, r.PreviousKeyIDs[0])
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VALUES\tCHECKED\tSEALED AGAIN")
	for _, k := range gateway.SealedKinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", k, r.Checked[k], r.Resealed[k])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case resealed > 0:
		fmt.Fprintf(stdout, "Sealed %d of %d values again under master key %s, in one transaction (audit: %s).\n", resealed, checked, r.KeyID,
			gateway.AuditMasterKeyRotated)
	default:
		fmt.Fprintf(stdout, "All %d values were already sealed under master key %s: nothing changed.\n", checked, r.KeyID)
	}
	if len(r.PreviousKeyIDs) > 0 {
		fmt.Fprintln(stdout, "Every value now opens with the master key alone. Run every stablegate with this master key and without the previous one, "+
			"run this once more without it to check, then destroy the previous key.")
	}
	return nil
}
