// Command stablegate is the self-hosted stablecoin payment gateway: one binary that serves the
// API, runs the migrations and manages projects.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/stablegate/stablegate/internal/gateway"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

const usage = `stablegate — self-hosted stablecoin payment gateway

Usage:
  stablegate <command> [flags]

Commands:
  dev        run everything embedded (SQLite, the devnet chain, a demo project) for development
  dev pay    send a devnet token transfer from the dev wallet (dev pay --to ADDR --amount 12.5)
  devnet     run the development chain alone
  serve      run the gateway from a config file and the environment
  migrate    apply database migrations and exit
  projects   projects and their keys (projects create|list|update|disable|enable|keys|new-key|revoke-key)
  users      dashboard accounts (users create --email E --project ID --role owner; users reset-two-factor --email E)
  ledger     check the ledger (ledger verify)
  wallets    a project's hot wallets and what they hold (wallets --project ID)
  tx check   record a payment whose log a provider lost (tx check --chain C --tx HASH)
  sweep      move what paid addresses hold into the hot wallet (sweep --project ID --chain C)
  audit      who changed what, newest first (audit [--project ID] [--action A])
  healthcheck
             ask a running gateway's /health; exit 0 when it answers 200 (a container's HEALTHCHECK)
  keys       the master key (keys rotate-master: seal everything again under a new master key)
  version    print the version

Run "stablegate <command> --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "stablegate:", err)
		}
		stop()
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// run dispatches a command line; main only adds the process around it, so tests call run.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "dev", "devnet", "serve":
	default:
		// A change made by a command is the operator's: the audit log names the OS user and host.
		ctx = gateway.WithActor(ctx, gateway.Operator())
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "devnet":
		return runDevnet(ctx, args[1:], stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "projects":
		return runProjects(ctx, args[1:], stdout, stderr)
	case "users":
		return runUsers(ctx, args[1:], stdout, stderr)
	case "ledger":
		return runLedger(ctx, args[1:], stdout, stderr)
	case "wallets":
		return runWallets(ctx, args[1:], stdout, stderr)
	case "tx":
		return runTx(ctx, args[1:], stdout, stderr)
	case "sweep":
		return runSweep(ctx, args[1:], stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "keys":
		return runKeys(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		if err := parse(newFlagSet("version", "version", stderr), args[1:]); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "stablegate", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
}

// newFlagSet returns a flag set that prints its usage to stderr and reports errors as usage errors.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: stablegate %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
